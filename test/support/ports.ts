/**
 * A loopback port that was free a moment ago, for a program that must be told its port before it starts
 * (HAProxy's bind, a primary restarted on the same port). Another process may take it in between: callers
 * that can, retry.
 */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}
