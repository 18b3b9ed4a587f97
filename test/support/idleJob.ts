/** A job thread for tests: says it started, then waits until it is told to stop. */
import { workerEntry } from "../../src/workers";

workerEntry<null, string>(async (_job, stop) => {
  postMessage({ note: "started" });
  await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
  return "stopped";
});
