/**
 * The limit for the read benchmark: a plain Bun.serve that answers the same bytes from memory, with no
 * routing, no auth and no database. Usage: bun bench/static-server.ts BODY.json BODY.json.gz
 * Prints "listening <port>" when ready.
 */
const [plainPath, gzipPath] = process.argv.slice(2);
const plain = new Uint8Array(await Bun.file(plainPath!).arrayBuffer());
const gzip = new Uint8Array(await Bun.file(gzipPath!).arrayBuffer());
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request) {
    const gz = (request.headers.get("accept-encoding") ?? "").includes("gzip");
    return new Response(gz ? gzip : plain, {
      headers: { "content-type": "application/json; charset=utf-8", ...(gz ? { "content-encoding": "gzip" } : {}) },
    });
  },
});
console.log(`listening ${server.port}`);

export {};
