/**
 * How every comparison is measured: Nompd and its limit take turns, so that drift on a shared machine
 * (other processes, CPU frequency, a warming page cache) falls on both alike, and the median run of each
 * is kept.
 */
import { fmt } from "./report";

export const RUNS = 3;

/** Runs `limit` and `nompd` alternately, `runs` times each, the limit first. */
export async function alternate<L, N>(limit: () => Promise<L>, nompd: () => Promise<N>, runs = RUNS): Promise<{ limit: L[]; nompd: N[] }> {
  const out = { limit: [] as L[], nompd: [] as N[] };
  for (let i = 0; i < runs; i++) {
    out.limit.push(await limit());
    out.nompd.push(await nompd());
  }
  return out;
}

/** The median of an odd number of runs, by `key`; the run itself, so that its other figures stay together. */
export function medianBy<T>(runs: T[], key: (run: T) => number): T {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function median(values: number[]): number {
  return medianBy(values, (v) => v);
}

/** "1.2–1.4": the spread of the runs behind a median. */
export function spread(values: number[], digits: number): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? fmt(lo, digits) : `${fmt(lo, digits)}–${fmt(hi, digits)}`;
}
