/**
 * The processes a benchmark starts: every one is killed when the benchmark ends, however it ends.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "..", "..");
export const BINARY = join(ROOT, "dist", "nompd");
/** The Bun that runs the benchmark also runs its helper processes (static server, fetch floor). */
export const BUN = process.execPath;

const children = new Set<Subprocess>();

export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

export function spawn(cmd: string[], options: { env?: Record<string, string>; stdout?: "pipe" | "ignore"; stderr?: "pipe" | "ignore" | "inherit" } = {}): Subprocess<"ignore", "pipe", "pipe"> {
  const proc = Bun.spawn(cmd, {
    env: { ...process.env, ...options.env },
    stdin: "ignore",
    stdout: options.stdout ?? "pipe",
    stderr: options.stderr ?? "pipe",
  }) as Subprocess<"ignore", "pipe", "pipe">;
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

/** Stops a process and waits until it is gone. */
export async function stop(proc: Subprocess): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill();
  await proc.exited;
}

/**
 * Reads a process's stream until `pattern` matches what it has written; returns the first group. The rest
 * of the stream is drained, so that the process never blocks on a full pipe.
 */
export async function waitFor(proc: Subprocess, stream: ReadableStream<Uint8Array>, pattern: RegExp, what: string): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${what} exited (${await proc.exited}) before it was ready:\n${text}`);
    text += decoder.decode(value, { stream: true });
    const m = pattern.exec(text);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return m[1]!;
    }
  }
}

/** Runs a Nompd command to its end. */
export function nompd(args: string[], env: Record<string, string> = {}): { stdout: string; stderr: string; exitCode: number } {
  const r = Bun.spawnSync([BINARY, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exitCode: r.exitCode ?? -1 };
}

/**
 * `nompd serve` on a free port, without schedule or upstream unless `env` names one, with `args` added
 * (e.g. --follow URL); resolves once it logs the URL it listens on. `under`: a command that runs it (a
 * profiler's, say).
 */
export async function serveNompd(db: string, env: Record<string, string> = {}, args: string[] = [], under: string[] = []): Promise<{ url: string; proc: Subprocess<"ignore", "pipe", "pipe"> }> {
  const proc = spawn([...under, BINARY, "serve", "--db", db, "--port", "0", "--log-format", "json", "--no-sync-schedule", ...args], { env: { NOMPD_UPSTREAM_URL: "", ...env }, stdout: "ignore" });
  const url = await waitFor(proc, proc.stderr, /"url":"([^"]+)"/, "nompd serve");
  return { url, proc };
}

/** A memory figure of /proc/PID/status, in MB; NaN once the process is gone. */
function statusMb(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The process's peak resident memory so far (VmHWM), in MB; NaN once it is gone. */
export const peakRssMb = (pid: number): number => statusMb(pid, "VmHWM");

/** The process's resident memory now (VmRSS), in MB; NaN once it is gone. */
export const rssMb = (pid: number): number => statusMb(pid, "VmRSS");

/**
 * Runs a process to its end, timing it from spawn to exit and following its peak RSS (VmHWM, read
 * every 10 ms: the kernel keeps the high-water mark, so only growth in the last 10 ms could be missed).
 */
export async function timed(cmd: string[], env: Record<string, string> = {}): Promise<{ seconds: number; peakMb: number; stdout: string; stderr: string; exitCode: number }> {
  const started = performance.now();
  const proc = spawn(cmd, { env });
  let peakMb = 0;
  const poll = setInterval(() => {
    const hwm = peakRssMb(proc.pid);
    if (!Number.isNaN(hwm)) peakMb = Math.max(peakMb, hwm);
  }, 10);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(poll);
  return { seconds, peakMb, stdout, stderr, exitCode };
}
