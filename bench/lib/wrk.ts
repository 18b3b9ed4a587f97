/**
 * wrk, the load tool of every throughput figure: one thread, a fixed number of connections, for a fixed
 * time or until stopped. Also records the exact request bytes wrk sends, so that the response under test
 * can be captured for that very request.
 */
import type { Subprocess } from "bun";
import { spawn } from "./procs";

export interface WrkResult {
  rps: number;
  requests: number;
  /** Bytes read over all responses, as wrk reports it (rounded to its printed unit). */
  bytes: number;
  p50: number;
  p99: number;
  max: number;
  /** Responses with a status ≥ 400 (wrk's "Non-2xx or 3xx responses"). */
  errorStatus: number;
  /** Connect, read, write and timeout errors. */
  socketErrors: number;
}

export interface Load {
  url: string;
  headers: Record<string, string>;
  connections: number;
}

function args(load: Load, seconds: number): string[] {
  const headers = Object.entries(load.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  return ["wrk", "-t1", `-c${load.connections}`, `-d${seconds}s`, "--latency", ...headers, load.url];
}

const UNITS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

export function parseWrk(out: string): WrkResult {
  const scaled = (pattern: RegExp) => {
    const m = pattern.exec(out);
    return m ? Number(m[1]) * (UNITS[m[2]!] ?? NaN) : NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    bytes: scaled(/requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read/),
    p50: scaled(/50%\s+([\d.]+)(us|ms|s)\b/),
    p99: scaled(/99%\s+([\d.]+)(us|ms|s)\b/),
    // "Latency   avg   stdev   max   +/- stdev"
    max: scaled(/Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b/),
    errorStatus: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((a, n) => a + Number(n), 0) : 0,
  };
}

/** One wrk run of `seconds`. */
export async function wrk(load: Load, seconds: number): Promise<WrkResult> {
  const proc = spawn(args(load, seconds));
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return parseWrk(out);
}

/** A wrk run that lasts until stop() (SIGINT: wrk then prints what it measured), at most `maxSeconds`. */
export function wrkUntilStopped(load: Load, maxSeconds: number): { stop(): Promise<WrkResult> } {
  const proc: Subprocess<"ignore", "pipe", "pipe"> = spawn(args(load, maxSeconds));
  const out = new Response(proc.stdout).text();
  return {
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGINT");
      return parseWrk(await out);
    },
  };
}

/**
 * The request bytes wrk sends for this load, recorded by pointing wrk for a moment at a socket that
 * answers an empty 200. The Host header is rewritten to `url`'s host, as wrk would send it there.
 */
export async function wrkRequestBytes(load: Load): Promise<Uint8Array> {
  let first: Uint8Array | null = null;
  const recorder = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, data) {
        first ??= new Uint8Array(data);
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      },
    },
  });
  const target = new URL(load.url);
  const at = new URL(load.url);
  at.host = `127.0.0.1:${recorder.port}`;
  try {
    const proc = spawn(args({ ...load, url: at.toString(), connections: 1 }, 1), { stdout: "ignore" });
    await proc.exited;
  } finally {
    recorder.stop(true);
  }
  if (!first) throw new Error(`wrk sent nothing to the recorder for ${load.url}`);
  const text = new TextDecoder("latin1").decode(first);
  if (!text.endsWith("\r\n\r\n")) throw new Error(`wrk's request for ${load.url} did not arrive in one piece`);
  return new TextEncoder().encode(text.replace(`\r\nHost: ${at.host}\r\n`, `\r\nHost: ${target.host}\r\n`));
}
