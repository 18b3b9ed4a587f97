/**
 * One HTTP/1.1 exchange over a raw socket: the exact request bytes go out, and the response comes back
 * as it was on the wire (status, headers in order, body bytes, never decoded or decompressed). The limit
 * of a read path serves exactly this response.
 */

export interface Captured {
  status: number;
  /** Header lines in wire order, names as sent. */
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export function header(c: Captured, name: string): string | null {
  const lower = name.toLowerCase();
  return c.headers.find(([n]) => n.toLowerCase() === lower)?.[1] ?? null;
}

/** Headers the limit's Bun.serve writes itself; every other header is replayed as captured. */
export const SERVER_SET = new Set(["date", "content-length", "transfer-encoding", "connection", "keep-alive"]);

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function indexOfCrlfCrlf(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i - 3] === 13 && bytes[i - 2] === 10 && bytes[i - 1] === 13 && bytes[i] === 10) return i + 1;
  }
  return -1;
}

/** Parses a whole response, or returns null while more bytes are needed. */
function parse(bytes: Uint8Array, closed: boolean): Captured | null {
  const end = indexOfCrlfCrlf(bytes);
  if (end < 0) return null;
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, end - 4));
  const [statusLine, ...lines] = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1] ?? NaN);
  const headers = lines.map((l) => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon), l.slice(colon + 1).trim()] as [string, string];
  });
  const rest = bytes.subarray(end);
  const result = (body: Uint8Array): Captured => ({ status, headers, body: new Uint8Array(body) });
  if (status === 304 || status === 204 || (status >= 100 && status < 200)) return result(new Uint8Array(0));
  const length = headers.find(([n]) => n.toLowerCase() === "content-length")?.[1];
  if (length !== undefined) return rest.length >= Number(length) ? result(rest.subarray(0, Number(length))) : null;
  if (headers.some(([n, v]) => n.toLowerCase() === "transfer-encoding" && /chunked/i.test(v))) {
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf(10, at);
      if (lineEnd < 0) return null;
      const size = parseInt(new TextDecoder().decode(rest.subarray(at, lineEnd)), 16);
      if (size === 0) return result(concat(chunks));
      if (rest.length < lineEnd + 1 + size + 2) return null;
      chunks.push(rest.subarray(lineEnd + 1, lineEnd + 1 + size));
      at = lineEnd + 1 + size + 2;
    }
  }
  return closed ? result(rest) : null;
}

/** Sends `request` to the server at `url`'s host and reads one whole response. */
export async function capture(url: string, request: Uint8Array): Promise<Captured> {
  const { hostname, port } = new URL(url);
  const chunks: Uint8Array[] = [];
  return await new Promise<Captured>((resolve, reject) => {
    let settled = false;
    const settle = (closed: boolean) => {
      if (settled) return;
      const c = parse(concat(chunks), closed);
      if (c) {
        settled = true;
        resolve(c);
      } else if (closed) {
        settled = true;
        reject(new Error(`${url} closed the connection before a whole response arrived`));
      }
    };
    Bun.connect({
      hostname,
      port: Number(port),
      socket: {
        open(socket) {
          socket.write(request);
        },
        data(socket, data) {
          chunks.push(new Uint8Array(data));
          settle(false);
          if (settled) socket.end();
        },
        close() {
          settle(true);
        },
        error(_socket, err) {
          if (!settled) reject(err);
        },
      },
    }).catch(reject);
  });
}

/** Why two responses differ (status, body bytes, headers other than those the server sets), or null. */
export function difference(a: Captured, b: Captured): string | null {
  if (a.status !== b.status) return `status ${a.status} ≠ ${b.status}`;
  if (a.body.length !== b.body.length || !a.body.every((byte, i) => byte === b.body[i])) return `bodies differ (${a.body.length} and ${b.body.length} bytes)`;
  const replayed = (c: Captured) =>
    c.headers
      .filter(([n]) => !SERVER_SET.has(n.toLowerCase()))
      .map(([n, v]) => `${n.toLowerCase()}: ${v}`)
      .sort()
      .join("\n");
  if (replayed(a) !== replayed(b)) return `headers differ:\n${replayed(a)}\n---\n${replayed(b)}`;
  return null;
}
