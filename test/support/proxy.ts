/**
 * A real forward proxy for the tests, Debian's tinyproxy on a free loopback port with its own config, and
 * a loopback TCP relay that can sit in front of it and keep every byte a client sent: what crossed the
 * proxy in clear text, and what only inside a TLS tunnel.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { drain } from "./binary";
import { ensurePackages } from "./debian";
import { freePort } from "./ports";

/** For a child's environment: none of the proxy variables of the machine running the tests leaks in. */
export const NO_PROXY_VARIABLES = { HTTPS_PROXY: "", https_proxy: "", HTTP_PROXY: "", http_proxy: "", ALL_PROXY: "", all_proxy: "", NO_PROXY: "", no_proxy: "" };

export interface Tinyproxy {
  /** e.g. "http://127.0.0.1:40123" */
  url: string;
  port: number;
  /** Its log so far: one "Request (file descriptor N): CONNECT host:port HTTP/1.1" line per request. */
  log(): string;
  /** The request lines it logged ("CONNECT 127.0.0.1:4443 HTTP/1.1", "GET http://… HTTP/1.1"). */
  requests(): string[];
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** tinyproxy in the foreground, logging every connection and request line. */
export async function startTinyproxy(dir: string): Promise<Tinyproxy> {
  ensurePackages(["tinyproxy"]);
  for (let attempt = 1; ; attempt++) {
    const port = freePort();
    const config = join(dir, `tinyproxy-${port}.conf`);
    // No User line: it runs as whoever runs the tests. No ConnectPort line: CONNECT to any port.
    writeFileSync(config, [`Port ${port}`, "Listen 127.0.0.1", "Allow 127.0.0.1", "Timeout 30", "MaxClients 50", "LogLevel Connect", ""].join("\n"));
    const proc = Bun.spawn(["tinyproxy", "-d", "-c", config], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    let out = "";
    void drain(proc.stdout, (t) => (out += t));
    void drain(proc.stderr, (t) => (out += t));
    for (let i = 0; i < 200 && proc.exitCode === null && !(await accepts(port)); i++) await Bun.sleep(25);
    if (proc.exitCode === null && (await accepts(port))) {
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        log: () => out,
        requests: () => [...out.matchAll(/Request \(file descriptor \d+\): (.+)$/gm)].map((m) => m[1]!.trim()),
        async stop() {
          if (proc.exitCode === null) proc.kill("SIGTERM");
          await proc.exited;
        },
      };
    }
    proc.kill("SIGKILL");
    await proc.exited;
    // Another process may have taken the port between freePort() and tinyproxy's bind: try another.
    if (attempt >= 5) throw new Error(`tinyproxy did not start:\n${out}`);
  }
}

export interface Relay {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Every byte the clients sent, in arrival order, as latin1 text (so that any byte sequence survives). */
  clientBytes(): string;
  stop(): Promise<void>;
}

/** A loopback TCP relay to `targetPort` that records what the clients send through it. */
export function startRelay(targetPort: number): Promise<Relay> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (d: Buffer) => chunks.push(Buffer.from(d)));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        connections: () => connections,
        clientBytes: () => Buffer.concat(chunks).toString("latin1"),
        stop: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
