import { ConflictError } from "../errors";
import type { Logger } from "../log";
import { FOLLOW_WORKER_URL, startJobThread, type JobThread } from "../workers";

/** What the follower thread is asked to do (plain data: it crosses to the worker as a message). */
export interface FollowJob {
  db: string;
  /** The primary's base URL. */
  url: string;
  apiKey: string | null;
  /** Seconds each long poll may wait at the primary. */
  waitSeconds: number;
}

/** A log line of the follower thread, written by the server's logger. */
export type FollowNote = { log: { level: "info" | "warn" | "error"; message: string; fields?: Record<string, unknown> } };

/** The follower thread's answer: it stopped when asked (else it ends with a ThreadFailure). */
export type FollowReply = { stopped: true };

/**
 * How long the primary may hold each long poll: a quarter of --follow-max-lag, from 1 to 30 seconds. The
 * replica learns at least that often that it is caught up, so its lag stays well under the maximum, and
 * the long poll stays under the idle timeouts of the proxies usually put in front of a primary (60 s).
 */
export function waitSecondsFor(maxLagSeconds: number): number {
  return Math.max(1, Math.min(30, Math.floor(maxLagSeconds / 4)));
}

/** What a command or request that would write data of its own says on a replica. */
export function replicaRefusal(follows: string, who: "This server" | "This database", what: string): ConflictError {
  return new ConflictError(
    `${who} follows ${follows}: it is a read-only replica (nompd serve --follow), and its data and versions are the primary's, so it never ${what} by itself. ` +
      `Run that on the primary instead${who === "This database" ? ", or use another --db" : ""}.`,
  );
}

/**
 * The server's follower: one worker thread running Follower (src/follow/follower.ts) for as long as the
 * server runs. A thread that dies is started again after a pause, and what it applied stays applied.
 */
export class FollowService {
  private thread: JobThread<FollowReply> | null = null;
  private stopping = false;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly job: FollowJob,
    private readonly log: Logger,
  ) {}

  /** Starts following (the database is marked as a replica already: see following() in setup.ts). */
  static start(job: FollowJob, log: Logger): FollowService {
    const service = new FollowService(job, log);
    service.spawn();
    return service;
  }

  private spawn(): void {
    const thread = startJobThread<FollowJob, FollowNote, FollowReply>({
      url: FOLLOW_WORKER_URL,
      what: "follower",
      job: this.job,
      isNote: (message): message is FollowNote => "log" in message,
      onNote: ({ log }) => this.log[log.level](log.message, log.fields),
    });
    this.thread = thread;
    void thread.done.then((reply) => {
      this.thread = null;
      if (this.stopping) return;
      this.log.error("the follower thread stopped; starting it again in 5 s", { error: "error" in reply ? reply.error : "it ended without a word" });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopping) this.spawn();
      }, 5000);
    });
  }

  /** Stops following: a fetch under way is abandoned, an apply under way finishes. Resolves when stopped, or after `withinMs`. */
  async stop(withinMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    const thread = this.thread;
    if (!thread) return;
    await thread.stop(withinMs);
    thread.terminate();
  }
}
