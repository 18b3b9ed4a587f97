/**
 * The limit of a read path: a plain Bun.serve that answers every request with one captured response
 * (status, headers and body bytes, as Nompd sent them), from memory: no routing, no key check, no
 * database. Usage: bun bench/static-server.ts CAPTURE.json [--reads-request] (the capture is written by
 * bench/parts/read.ts). With --reads-request it first reads what Nompd reads of every request before it
 * can answer (the URL, and the key, Accept-Encoding and If-None-Match headers), and nothing more.
 * Prints "listening <port>" when ready.
 */
import { readFileSync } from "node:fs";
import { SERVER_SET } from "./lib/capture";

const file = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { status: number; headers: Array<[string, string]>; body: string };
// A Blob, as Nompd holds its bodies: a Response shares a Blob's bytes, where it copies a Uint8Array's.
const body = file.body.length > 0 ? new Blob([Buffer.from(file.body, "base64")]) : null;
const headers = file.headers.filter(([name]) => !SERVER_SET.has(name.toLowerCase()));
const answer = () => new Response(body, { status: file.status, headers });
let read = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch:
    process.argv[3] === "--reads-request"
      ? (request) => {
          const h = request.headers;
          read += request.url.indexOf("?") + (h.get("x-api-key")?.length ?? 0) + (h.get("accept-encoding")?.length ?? 0) + (h.get("if-none-match")?.length ?? 0);
          return answer();
        }
      : answer,
});
console.log(`listening ${server.port}`);
