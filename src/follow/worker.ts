/**
 * A replica's follower in its own thread, with its own database connection: the server's thread keeps
 * answering while this one reads the primary's feeds and applies them (a whole dataset is one long
 * synchronous transaction). Started by FollowService; its log lines go back as messages, and a `stop`
 * message ends it between two steps (a fetch under way is abandoned; nothing is half applied).
 */
import type { Logger } from "../log";
import { Store } from "../store/db";
import { workerEntry } from "../workers";
import { Follower } from "./follower";
import type { FollowJob, FollowNote, FollowReply } from "./service";

const note = (level: FollowNote["log"]["level"]): Logger["info"] => (message, fields) => postMessage({ log: { level, message, fields } } satisfies FollowNote);
const log: Logger = { info: note("info"), warn: note("warn"), error: note("error") };

workerEntry<FollowJob, FollowReply>(async (job, stop) => {
  const store = Store.open(job.db);
  try {
    await new Follower(store, { ...job, log, signal: stop }).run();
    return { stopped: true };
  } finally {
    store.close();
  }
});
