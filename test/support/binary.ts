import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll } from "bun:test";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "../..");
export const BINARY = join(ROOT, "dist", "nompd");

/** The compiled binary; built here when missing (make test builds it first). */
export function ensureBinary(): string {
  if (!existsSync(BINARY)) {
    const build = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "src/main.ts", "src/sync/worker.ts", "src/follow/worker.ts", "--outfile", BINARY], { cwd: ROOT });
    if (build.exitCode !== 0) throw new Error(`building ${BINARY} failed:\n${build.stderr.toString()}`);
  }
  return BINARY;
}

/** An environment without any NOMPD_* variable of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("NOMPD_") && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function nompd(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const proc = Bun.spawn([BINARY, ...args], { env: cleanEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

const running = new Set<RunningServer>();
/** Stops every server this file started; call from the test file's top level. */
export function stopServersAfterAll(): void {
  afterAll(async () => {
    for (const s of running) await s.stop();
    running.clear();
  });
}

export interface RunningServer {
  url: string;
  proc: Subprocess;
  stdout: () => string;
  stderr: () => string;
  stop(): Promise<void>;
}

/** `nompd serve` on a free port; resolves once it logs where it listens. Pair with stopServersAfterAll(). */
export async function serve(args: string[], env: Record<string, string> = {}): Promise<RunningServer> {
  const proc = Bun.spawn([BINARY, "serve", "--port", "0", ...args], { env: cleanEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let out = "";
  let err = "";
  const pump = async (stream: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>, (t) => (out += t));
  void pump(proc.stderr as ReadableStream<Uint8Array>, (t) => (err += t));
  const deadline = Date.now() + 20_000;
  let url: string | undefined;
  while (!url) {
    const m = /listening url=(\S+)/.exec(err) ?? /"url":"([^"]+)"/.exec(err);
    if (m) url = m[1];
    else if (proc.exitCode !== null) throw new Error(`nompd serve exited with ${proc.exitCode}:\n${out}\n${err}`);
    else if (Date.now() > deadline) throw new Error(`nompd serve did not start:\n${out}\n${err}`);
    else await Bun.sleep(20);
  }
  const server: RunningServer = {
    url,
    proc,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await proc.exited;
      }
    },
  };
  running.add(server);
  return server;
}
