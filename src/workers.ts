import { yieldCpuToOtherThreads } from "./platform";

/**
 * Where the worker entry points are. This module sits at the top of src/ on purpose: run from source,
 * import.meta.url is this file's URL; in the compiled binary it is the executable's root, next to which
 * `bun build --compile` stores every extra entry point by its path below src/ (the Makefile's build
 * target names them). From here, one relative path is right in both cases.
 */
export const SYNC_WORKER_URL = new URL("./sync/worker.ts", import.meta.url).href;
export const FOLLOW_WORKER_URL = new URL("./follow/worker.ts", import.meta.url).href;

/*
 * A job thread: a worker that gets one job, may send notes while it works (progress, log lines), and
 * ends with one answer. The server thread may ask it to stop; it answers then as soon as it can.
 */

/** What the server thread tells a job thread: its one job, then perhaps to stop. */
type ThreadCommand<Job> = { job: Job } | { stop: true };

/** A job thread's end without an answer of its own: what the job threw, or how the thread died. */
export interface ThreadFailure {
  error: string;
}

export interface JobThread<Reply> {
  /** The thread's answer (or its failure); the thread is ended by then. */
  readonly done: Promise<Reply | ThreadFailure>;
  /** Asks the thread to stop; resolves when it answered, or after `withinMs` (it may still run then). */
  stop(withinMs: number): Promise<void>;
  /** Ends the thread at once. */
  terminate(): void;
}

/**
 * Starts the job thread at `url` (an entry that calls workerEntry) on `job`. Its messages that
 * `isNote` recognises go to `onNote`; the first other one is its answer. `what` names the thread in
 * the failures it can end with ("the sync thread crashed").
 */
export function startJobThread<Job, Note, Reply>(options: {
  url: string;
  what: string;
  job: Job;
  isNote: (message: Note | Reply) => message is Note;
  onNote: (note: Note) => void;
}): JobThread<Reply> {
  const { what, isNote, onNote } = options;
  const worker = new Worker(options.url);
  let answer!: (reply: Reply | ThreadFailure) => void;
  const done = new Promise<Reply | ThreadFailure>((resolve) => (answer = resolve));
  let settled = false;
  const settle = (reply: Reply | ThreadFailure) => {
    if (settled) return;
    settled = true;
    worker.terminate();
    answer(reply);
  };
  worker.onmessage = (event: MessageEvent<Note | Reply>) => (isNote(event.data) ? onNote(event.data) : settle(event.data));
  worker.onerror = (event) => settle({ error: event.message || `the ${what} thread crashed` });
  worker.addEventListener("close", () => settle({ error: `the ${what} thread ended without an answer` }));
  worker.postMessage({ job: options.job } satisfies ThreadCommand<Job>);
  return {
    done,
    async stop(withinMs) {
      if (settled) return;
      worker.postMessage({ stop: true } satisfies ThreadCommand<Job>);
      await Promise.race([done, Bun.sleep(withinMs)]);
    },
    terminate: () => settle({ error: `the ${what} thread was ended` }),
  };
}

declare const self: Worker;

/**
 * A job thread's side: lowers its own priority (yieldCpuToOtherThreads), runs the one job it is sent
 * with a signal that a `stop` message fires, and answers with what `run` returns; what `run` throws is
 * answered as a ThreadFailure.
 */
export function workerEntry<Job, Reply>(run: (job: Job, stop: AbortSignal) => Promise<Reply>): void {
  // A job thread works in the background of a server: requests go first when both want the CPU.
  yieldCpuToOtherThreads();
  const stop = new AbortController();
  self.onmessage = async (event: MessageEvent<ThreadCommand<Job>>) => {
    if ("stop" in event.data) {
      stop.abort();
      return;
    }
    let reply: Reply | ThreadFailure;
    try {
      reply = await run(event.data.job, stop.signal);
    } catch (err) {
      reply = { error: String((err as Error)?.stack ?? err) };
    }
    postMessage(reply);
  };
}
