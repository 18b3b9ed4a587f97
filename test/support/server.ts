import { afterAll } from "bun:test";
import { createApp } from "../../src/api/app";
import { Authenticator } from "../../src/api/auth";
import { createLogger } from "../../src/log";
import type { Store } from "../../src/store/db";
import { SyncService } from "../../src/sync/service";
import type { UpstreamOptions } from "../../src/upstream/fhirSource";
import type { CorsOrigins } from "../../src/api/cors";
import { loadConfig, SETTINGS } from "../../src/config";
import { DEFAULT_LEASE_MS } from "../../src/store/syncLock";
import { loadContract, type Contract } from "./contract";

export interface TestServer {
  url: string;
  logs: string[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, headers?: Record<string, string>): Promise<Response>;
  request(path: string, init?: RequestInit): Promise<Response>;
}

export interface TestServerOptions {
  upstream?: UpstreamOptions | null;
  envKeys?: string[];
  maxDeleteShare?: number;
  cors?: CorsOrigins | null;
  cacheBytes?: number;
  metrics?: boolean;
}

/** Every setting at its default, as `nompd serve` reads them without flags or environment. */
const DEFAULTS = loadConfig(new Map(), {}).settings;

/** The real application, listening as `nompd serve` does, at 127.0.0.1:<free port>; stopped after the test file. */
export function startServer(store: Store, opts: TestServerOptions = {}): TestServer {
  const logs: string[] = [];
  const sync = new SyncService(store, { upstream: opts.upstream ?? null, maxDeleteShare: opts.maxDeleteShare ?? 0.5, keepVersions: null, lockLeaseMs: DEFAULT_LEASE_MS });
  const { app } = createApp({
    store,
    auth: new Authenticator(store, opts.envKeys ?? []),
    log: createLogger("json", (l) => logs.push(l)),
    sync,
    build: { version: "test", commit: "test" },
    cors: opts.cors ?? null,
    cacheBytes: opts.cacheBytes ?? (SETTINGS.cacheMib.default as number) * 1024 * 1024,
    metrics: opts.metrics,
    followMaxLag: DEFAULTS.followMaxLag,
  });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  afterAll(() => app.stop(true));
  const url = `http://127.0.0.1:${app.server!.port}`;
  let contract: Promise<Contract> | null = null;
  /** Every answer is checked against the server's own OpenAPI document before the test sees it. */
  const checked = async (path: string, init: RequestInit): Promise<Response> => {
    const res = await fetch(url + path, { decompress: false, ...init } as RequestInit);
    const bytes = new Uint8Array(await res.arrayBuffer());
    contract ??= loadContract(url);
    (await contract).check(init.method ?? "GET", url + path, res.status, res.headers, bytes);
    return new Response(res.status === 304 || res.status === 204 ? null : bytes, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return {
    url,
    logs,
    get: (path, headers = {}) => checked(path, { headers }),
    post: (path, headers = {}) => checked(path, { method: "POST", headers }),
    request: (path, init = {}) => checked(path, init),
  };
}
