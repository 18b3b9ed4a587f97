/**
 * The floor of start-up: the smallest server Bun can make, compiled by the same command line as Nompd
 * (`make dist/.bench/hello`: bytecode, minified, source map). Listens on a free port, prints
 * "listening <url>", answers "hello".
 */
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello") });
console.log(`listening http://127.0.0.1:${server.port}`);
export {};
