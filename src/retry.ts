/** Waiting between attempts, for the upstream's requests and a replica's follower alike. */

/**
 * The delay before retry number `attempt` (0 for the first): `first`, doubled each time up to `max`,
 * with ±25% jitter so that clients that failed together do not retry together.
 */
export function backoffMs(first: number, attempt: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(attempt, 30)) * (0.75 + Math.random() * 0.5);
}

/** Waits `ms`, or less when `abort` fires first (the wait is for nothing then: stop at once). */
export function sleepUnlessAborted(ms: number, abort: AbortSignal): Promise<void> {
  if (abort.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      abort.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort.addEventListener("abort", done, { once: true });
  });
}
