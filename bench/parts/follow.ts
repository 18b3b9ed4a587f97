/**
 * Follow mode's rows (replication lag, a new replica's catch-up, 5,000 waiting long polls), measured
 * and judged by bench/follow.ts, which also runs alone (`bun bench/follow.ts`).
 */
import type { Part } from "../lib/context";
import { followBench } from "../follow";

export const followPart: Part = {
  name: "follow",
  title: "Follow mode: replication lag, a new replica's catch-up, 5,000 waiting long polls",
  run: (ctx) => followBench(ctx.report),
};
