import { main } from "../../src/main";

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * `nompd ARGS` in this process (src/main.ts's main), with its own environment and captured output: the
 * same program as the binary, minus the spawn. `stop` ends a `serve`.
 */
export async function cli(argv: string[], env: Record<string, string> = {}, options: { tty?: boolean; stop?: AbortSignal } = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const exitCode = await main(argv, env, {
    out: (text) => (stdout += text + "\n"),
    err: (text) => (stderr += text.endsWith("\n") ? text : text + "\n"),
    stdoutIsTty: options.tty ?? false,
    stderrIsTty: options.tty ?? false,
    stop: options.stop ?? new AbortController().signal,
  });
  return { exitCode, stdout, stderr };
}
