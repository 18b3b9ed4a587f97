/**
 * Follow mode's rows (replication lag, a new replica's catch-up, 5,000 waiting long polls), measured
 * and judged by bench/follow.ts, which also runs alone (`bun bench/follow.ts`).
 */
import type { Part } from "../lib/context";
import { followBench } from "../follow";

export const followPart: Part = {
  name: "follow",
  title: "Follow mode: replication lag, a new replica's catch-up, 5,000 waiting long polls",
  async run(ctx) {
    const rows = await followBench((line) => console.error(line));
    for (const r of rows) ctx.report.addJudged({ part: "follow", what: r.what, result: r.value, target: r.target, met: r.verdict === "" ? null : r.verdict === "met" });
  },
};
