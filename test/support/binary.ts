import { join, resolve } from "node:path";
import { afterAll } from "bun:test";
import type { Subprocess } from "bun";
import pkg from "../../package.json";

export const ROOT = resolve(import.meta.dir, "../..");
export const BINARY = join(ROOT, "dist", "nompd");

const built = new Set<string>();

/**
 * Builds a Makefile target that names a file below ROOT (make knows when it is up to date), once per
 * process: the sources do not change while the tests run, and each make run costs a moment. Returns
 * the file's path.
 */
export function make(target: string): string {
  if (!built.has(target)) {
    const build = Bun.spawnSync(["make", "--no-print-directory", "-s", target], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`make ${target} failed:\n${build.stdout.toString()}${build.stderr.toString()}`);
    built.add(target);
  }
  return join(ROOT, target);
}

/** The compiled binary, built by the Makefile unless up to date (make test builds it first). */
export function ensureBinary(): string {
  return make("dist/nompd");
}

/**
 * What `--version` of a build from this checkout says: the commit (with "-dirty" when tracked files
 * differ from it) and the Bun that built it, worked out here from git.
 */
export function expectedVersionLine(): string {
  const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const head = git("rev-parse", "--short=7", "HEAD");
  let commit = "unknown";
  if (head.exitCode === 0) commit = head.stdout.toString().trim() + (git("diff", "--quiet", "HEAD", "--").exitCode === 0 ? "" : "-dirty");
  return `nompd ${pkg.version} (commit ${commit}, bun ${Bun.version})`;
}

export type ReleaseTarget = "linux-x64" | "linux-arm64" | "windows-x64" | "darwin-arm64" | "darwin-x64";

/** One release executable of `make dist`, built alone (and only when its sources changed). */
export function ensureRelease(target: ReleaseTarget): string {
  return make(`dist/nompd-${pkg.version}-${target}${target.startsWith("windows") ? ".exe" : ""}`);
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

/**
 * How to start an executable: by default dist/nompd itself; a release for another platform through
 * its runner (qemu, wine), with the runner's environment.
 */
export interface Launcher {
  command: string[];
  env?: Record<string, string>;
  /** How long `serve` may take to start listening; default 20 s. */
  startMs?: number;
  /** The folder to run it in (default: this one). */
  cwd?: string;
}
const NATIVE: Launcher = { command: [BINARY] };

export async function nompd(args: string[], env: Record<string, string> = {}, launcher: Launcher = NATIVE): Promise<CliResult> {
  const proc = Bun.spawn([...launcher.command, ...args], { env: cleanEnv({ ...launcher.env, ...env }), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

/** A new key for a database, from `nompd keys create --json` (the one time a key is shown). */
export async function createKey(db: string, name: string, options: { scope?: "read" | "admin"; launcher?: Launcher } = {}): Promise<string> {
  const r = await nompd(["keys", "create", name, "--scope", options.scope ?? "read", "--json", "--db", db], {}, options.launcher);
  if (r.exitCode !== 0) throw new Error(`nompd keys create ${name} failed (exit ${r.exitCode}):\n${r.stdout}${r.stderr}`);
  return (JSON.parse(r.stdout) as { key: string }).key;
}

/**
 * Reads a child's output stream to its end in the background, handing each piece of text to `onText`, so
 * that the child never blocks on a full pipe and its output so far can be looked at.
 */
export async function drain(stream: ReadableStream<Uint8Array>, onText: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
}

/**
 * Starts `command` on a pseudo-terminal (util-linux `script`), as a person at a shell runs it; what it
 * writes to the terminal comes out on the returned process's stdout.
 */
export function spawnOnTerminal(command: string[], env: Record<string, string> = {}) {
  const line = command.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(" ");
  return Bun.spawn(["script", "-qfec", line, "/dev/null"], { env: cleanEnv(env), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
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

/**
 * `nompd serve` on a free port; resolves once it logs where it listens. Pair with stopServersAfterAll().
 * `launcher`: how to start the binary (another copy of it, qemu, Wine) and in which folder.
 */
export async function serve(args: string[], env: Record<string, string> = {}, launcher: Launcher = NATIVE): Promise<RunningServer> {
  const proc = Bun.spawn([...launcher.command, "serve", "--port", "0", ...args], { env: cleanEnv({ ...launcher.env, ...env }), stdout: "pipe", stderr: "pipe", stdin: "ignore", cwd: launcher.cwd });
  let out = "";
  let err = "";
  void drain(proc.stdout, (t) => (out += t));
  void drain(proc.stderr, (t) => (err += t));
  const deadline = Date.now() + (launcher.startMs ?? 20_000);
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
