import type { Io } from "../../src/cli/context";
import { main } from "../../src/main";

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** An Io for main() that keeps what it writes, as a process's stdout and stderr would. */
function captureIo(tty: boolean, stop: AbortSignal): { io: Io; stdout(): string; stderr(): string } {
  let stdout = "";
  let stderr = "";
  return {
    io: {
      out: (text) => (stdout += text + "\n"),
      err: (text) => (stderr += text.endsWith("\n") ? text : text + "\n"),
      stdoutIsTty: tty,
      stderrIsTty: tty,
      stop,
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/**
 * `nompd ARGS` in this process (src/main.ts's main), with its own environment and captured output: the
 * same program as the binary, minus the spawn. `stop` ends a `serve`.
 */
export async function cli(argv: string[], env: Record<string, string> = {}, options: { tty?: boolean; stop?: AbortSignal } = {}): Promise<CliRun> {
  const captured = captureIo(options.tty ?? false, options.stop ?? new AbortController().signal);
  const exitCode = await main(argv, env, captured.io);
  return { exitCode, stdout: captured.stdout(), stderr: captured.stderr() };
}

export interface InProcessServer {
  url: string;
  stdout(): string;
  stderr(): string;
  /** Stops it as SIGTERM would; resolves with its exit code. */
  stop(): Promise<number>;
}

/** `nompd serve ARGS` in this process, on a free port; resolves once it listens. */
export async function serveInProcess(args: string[], env: Record<string, string> = {}): Promise<InProcessServer> {
  const stop = new AbortController();
  const { io, stdout, stderr } = captureIo(false, stop.signal);
  const done = main(["serve", "--port", "0", "--no-sync-schedule", ...args], env, io);
  let exited: number | null = null;
  void done.then((code) => (exited = code));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /listening url=(\S+)/.exec(stderr());
    if (m) return { url: m[1]!, stdout, stderr, stop: () => (stop.abort("SIGTERM"), done) };
    if (exited !== null) throw new Error(`serve exited with ${exited}:\n${stdout()}\n${stderr()}`);
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${stderr()}`);
    await Bun.sleep(10);
  }
}
