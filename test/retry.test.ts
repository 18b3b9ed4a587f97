import { describe, expect, test } from "bun:test";
import { backoffMs, sleepUnlessAborted } from "../src/retry";

describe("retry", () => {
  test("backoffMs doubles from the first delay up to the cap, within ±25% jitter", () => {
    for (const [attempt, base] of [
      [0, 500],
      [1, 1000],
      [3, 4000],
      [5, 10_000],
      [1000, 10_000],
    ] as const) {
      for (let i = 0; i < 50; i++) {
        const ms = backoffMs(500, attempt, 10_000);
        expect(ms).toBeGreaterThanOrEqual(base * 0.75);
        expect(ms).toBeLessThanOrEqual(base * 1.25);
      }
    }
  });

  test("sleepUnlessAborted ends when the signal fires, and at once when it has fired", async () => {
    const stop = new AbortController();
    const waiting = sleepUnlessAborted(3_600_000, stop.signal);
    stop.abort();
    await waiting;
    await sleepUnlessAborted(3_600_000, stop.signal);
  });
});
