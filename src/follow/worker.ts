/**
 * A replica's follower in its own thread, with its own database connection: the server's thread keeps
 * answering while this one reads the primary's feeds and applies them (a whole dataset is one long
 * synchronous transaction). Started by FollowService; its log lines go back as messages, and a `stop`
 * message ends it between two steps (a fetch under way is abandoned; nothing is half applied).
 */
import type { Logger } from "../log";
import { Store } from "../store/db";
import { Follower } from "./follower";
import type { FollowCommand, FollowReply } from "./service";

declare const self: Worker;

const stop = new AbortController();

const post = (reply: FollowReply) => postMessage(reply);
const log: Logger = {
  info: (message, fields) => post({ log: { level: "info", message, fields } }),
  warn: (message, fields) => post({ log: { level: "warn", message, fields } }),
  error: (message, fields) => post({ log: { level: "error", message, fields } }),
};

self.onmessage = async (event: MessageEvent<FollowCommand>) => {
  if ("stop" in event.data) {
    stop.abort();
    return;
  }
  const job = event.data.job;
  let store: Store | null = null;
  try {
    store = Store.open(job.db);
    await new Follower(store, { ...job, log, signal: stop.signal }).run();
    post({ stopped: true });
  } catch (err) {
    post({ crashed: String((err as Error)?.stack ?? err) });
  } finally {
    store?.close();
  }
};
