import { brotliCompressSync, constants as zlibConstants, gzipSync } from "node:zlib";

/** Bodies below this size are sent uncompressed: the headers would outweigh the saving. */
const COMPRESS_MIN_BYTES = 1024;

export type Encoding = "br" | "gzip" | "identity";

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * The encoding to send for an Accept-Encoding header: br when the client ranks it at least as high as
 * gzip, else gzip, else identity. q=0 refuses an encoding.
 */
export function negotiateEncoding(acceptEncoding: string | null): Encoding {
  if (!acceptEncoding) return "identity";
  // Clients send the same few Accept-Encoding values over and over: remember the answers.
  const known = negotiated.get(acceptEncoding);
  if (known) return known;
  const encoding = parseAcceptEncoding(acceptEncoding);
  if (negotiated.size >= 256) negotiated.clear();
  negotiated.set(acceptEncoding, encoding);
  return encoding;
}

const negotiated = new Map<string, Encoding>();

function parseAcceptEncoding(acceptEncoding: string): Encoding {
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of acceptEncoding.split(",")) {
    const [rawName, ...params] = part.trim().split(";");
    const name = rawName!.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split("=");
      if (k?.trim().toLowerCase() === "q") q = Number(v);
    }
    if (!Number.isFinite(q)) q = 0;
    if (name === "br") br = q;
    else if (name === "gzip" || name === "x-gzip") gzip = q;
    else if (name === "*") star = q;
  }
  if (br < 0 && star >= 0) br = star;
  if (gzip < 0 && star >= 0) gzip = star;
  if (br > 0 && br >= gzip) return "br";
  if (gzip > 0) return "gzip";
  return "identity";
}

export function etagOf(bytes: Uint8Array): string {
  // A weak tag: one tag for the identity, gzip and br forms of the same JSON.
  return `W/"${Bun.hash(bytes).toString(36)}-${bytes.length.toString(36)}"`;
}

/** True when If-None-Match names this tag (weak comparison, as RFC 9110 asks for If-None-Match). */
export function notModified(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag.replace(/^W\//, "") === opaque;
  });
}

/**
 * A JSON body held once in memory with its compressed forms (made on first use) and the response
 * headers of each: the precomputed answer for a whole list at one dataset version.
 */
export class PreparedBody {
  readonly etag: string;
  private readonly forms = new Map<Encoding, { bytes: Uint8Array; headers: Record<string, string> }>();

  /** `headers`: extra response headers, the same for every request this body answers. */
  constructor(
    readonly bytes: Uint8Array,
    private readonly headers: Record<string, string> = {},
  ) {
    this.etag = etagOf(bytes);
  }

  static fromJson(json: string, headers: Record<string, string> = {}): PreparedBody {
    return new PreparedBody(new TextEncoder().encode(json), headers);
  }

  form(encoding: Encoding): { bytes: Uint8Array; headers: Record<string, string> } {
    let form = this.forms.get(encoding);
    if (!form) {
      const bytes = this.compress(encoding);
      const headers: Record<string, string> = { "content-type": JSON_TYPE, etag: this.etag, vary: "Accept-Encoding", "cache-control": "no-cache", ...this.headers };
      if (bytes !== this.bytes) headers["content-encoding"] = encoding;
      this.forms.set(encoding, (form = { bytes, headers }));
    }
    return form;
  }

  private compress(encoding: Encoding): Uint8Array {
    if (this.bytes.length < COMPRESS_MIN_BYTES || encoding === "identity") return this.bytes;
    if (encoding === "gzip") return gzipSync(this.bytes, { level: 6 });
    return brotliCompressSync(this.bytes, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: 9,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: this.bytes.length,
      },
    });
  }
}

/** Answers a prepared JSON body with ETag / 304 and content negotiation. */
export function sendJson(request: Request, body: PreparedBody, status = 200): Response {
  const ifNoneMatch = request.headers.get("if-none-match");
  const form = body.form(negotiateEncoding(request.headers.get("accept-encoding")));
  if (status === 200 && ifNoneMatch !== null && notModified(ifNoneMatch, body.etag)) {
    const { "content-encoding": _, ...headers } = form.headers;
    return new Response(null, { status: 304, headers });
  }
  return new Response(form.bytes, { status, headers: form.headers });
}

/** A small JSON answer without caching headers: errors, health. */
export function json(value: unknown, status = 200, extraHeaders: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": JSON_TYPE, ...extraHeaders } });
}

export function errorResponse(status: number, message: string, extraHeaders: Record<string, string> = {}): Response {
  return json({ error: message }, status, extraHeaders);
}
