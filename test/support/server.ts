import { afterAll } from "bun:test";
import { createApp, serveOptions } from "../../src/api/app";
import { createLogger } from "../../src/log";
import type { Store } from "../../src/store/db";
import { Keys } from "../../src/store/keys";
import { SyncService } from "../../src/sync/service";
import type { UpstreamOptions } from "../../src/upstream/fhirSource";

export interface TestServer {
  url: string;
  keys: Keys;
  logs: string[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, headers?: Record<string, string>): Promise<Response>;
}

/** The real application on a real HTTP server at 127.0.0.1:<free port>, stopped after the test file. */
export function startServer(store: Store, opts: { upstream?: UpstreamOptions | null; envKeys?: string[]; maxDeleteShare?: number } = {}): TestServer {
  const logs: string[] = [];
  const keys = new Keys(store, opts.envKeys ?? []);
  const sync = new SyncService(store, opts.upstream ?? null, opts.maxDeleteShare ?? 0.5);
  const created = createApp({ store, keys, log: createLogger("json", (l) => logs.push(l)), sync, version: "test" });
  // As `nompd serve` does: list routes on Bun's router, the rest through Elysia.
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, ...serveOptions(created, null) });
  afterAll(() => server.stop(true));
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    keys,
    logs,
    get: (path, headers = {}) => fetch(url + path, { headers, decompress: false } as RequestInit),
    post: (path, headers = {}) => fetch(url + path, { method: "POST", headers }),
  };
}
