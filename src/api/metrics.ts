import { readdirSync } from "node:fs";
import { ALL_COLLECTIONS } from "../collections";
import type { Store } from "../store/db";
import { RUN_STATUSES } from "../store/runs";

const BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A route template of the route table, or this for requests that match none (no series per raw path). */
export const OTHER_ROUTE = "other";

interface Series {
  route: string;
  method: string;
  status: number;
  count: number;
}

/**
 * Request counts by route, method and status, and a latency histogram by route: a few map updates a
 * request. Route names are the route table's templates, so ids in paths never make a series each.
 */
export class RequestMetrics {
  /** Route → method → status → series: no key string is built per request. */
  private readonly counts = new Map<string, Map<string, Map<number, Series>>>();
  private readonly histograms = new Map<string, { buckets: number[]; sum: number; count: number }>();

  observe(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.counts.get(route);
    if (!byMethod) this.counts.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    const series = byStatus.get(status);
    if (series) series.count++;
    else byStatus.set(status, { route, method, status, count: 1 });
    let h = this.histograms.get(route);
    if (!h) this.histograms.set(route, (h = { buckets: BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 }));
    // Per-bucket counts here; render() makes them cumulative as Prometheus wants.
    let i = 0;
    while (i < BUCKETS_SECONDS.length && seconds > BUCKETS_SECONDS[i]!) i++;
    if (i < BUCKETS_SECONDS.length) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  render(): string[] {
    const lines = ["# HELP nompd_http_requests_total HTTP requests by route, method and status.", "# TYPE nompd_http_requests_total counter"];
    for (const s of [...this.counts.values()].flatMap((m) => [...m.values()].flatMap((b) => [...b.values()]))) lines.push(`nompd_http_requests_total{route="${s.route}",method="${s.method}",status="${s.status}"} ${s.count}`);
    lines.push("# HELP nompd_http_request_duration_seconds Time to answer a request.", "# TYPE nompd_http_request_duration_seconds histogram");
    for (const [route, h] of this.histograms) {
      let cumulative = 0;
      BUCKETS_SECONDS.forEach((le, i) => {
        cumulative += h.buckets[i]!;
        lines.push(`nompd_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${cumulative}`);
      });
      lines.push(`nompd_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      lines.push(`nompd_http_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      lines.push(`nompd_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    return lines;
  }
}

function gauge(name: string, help: string, samples: Array<[string, number]>): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples.map(([labels, v]) => `${name}${labels} ${v}`)];
}

function openFileDescriptors(): number | null {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return null;
  }
}

const startedAt = Date.now() / 1000 - process.uptime();

/** The process metrics every Prometheus client library exports, with their usual names. */
function processMetrics(): string[] {
  const cpu = process.cpuUsage();
  const fds = openFileDescriptors();
  return [
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    "# TYPE process_cpu_seconds_total counter",
    `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
    ...gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [["", process.memoryUsage.rss()]]),
    ...gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", [["", Math.round(startedAt)]]),
    ...(fds === null ? [] : gauge("process_open_fds", "Number of open file descriptors.", [["", fds]])),
  ];
}

/** The whole Prometheus text of this server. */
interface CacheStats {
  bytes: number;
  count: number;
  hits: number;
  misses: number;
  maxBytes: number;
}

export function metricsText(store: Store, requests: RequestMetrics, build: { version: string; commit: string }, cache: CacheStats): string {
  const state = store.state();
  const lastOk = store.runs.lastSuccessful();
  const last = store.runs.recent(1)[0];
  const counts = store.documents.counts();
  const lines = [
    ...gauge("nompd_build_info", "The running build (always 1).", [[`{version="${build.version}",commit="${build.commit}"}`, 1]]),
    ...gauge("nompd_dataset_version", "The current dataset version.", [["", state.version]]),
    ...gauge("nompd_sample_dataset", "1 while the embedded sample dataset is served instead of real data.", [["", state.sample ? 1 : 0]]),
    ...gauge("nompd_last_successful_sync_timestamp_seconds", "End of the last sync that succeeded or found no changes.", [
      ["", lastOk?.finishedAt ? Date.parse(lastOk.finishedAt) / 1000 : 0],
    ]),
    ...gauge(
      "nompd_last_sync_status",
      "Status of the last sync run (1 for the status it had).",
      RUN_STATUSES.map((s) => [`{status="${s}"}`, last?.status === s ? 1 : 0]),
    ),
    ...gauge(
      "nompd_items",
      "Live and deleted documents per collection.",
      ALL_COLLECTIONS.flatMap((c): Array<[string, number]> => [
        [`{collection="${c}",state="live"}`, counts[c]?.live ?? 0],
        [`{collection="${c}",state="deleted"}`, counts[c]?.deleted ?? 0],
      ]),
    ),
    ...gauge("nompd_answer_cache_bytes", "Bytes held by prepared answers (bodies and their compressed forms).", [["", cache.bytes]]),
    ...gauge("nompd_answer_cache_max_bytes", "The cap on nompd_answer_cache_bytes (--cache-mib).", [["", cache.maxBytes]]),
    ...gauge("nompd_answer_cache_entries", "Prepared answers held.", [["", cache.count]]),
    "# HELP nompd_answer_cache_lookups_total Lookups of prepared answers, by whether one was found.",
    "# TYPE nompd_answer_cache_lookups_total counter",
    `nompd_answer_cache_lookups_total{result="hit"} ${cache.hits}`,
    `nompd_answer_cache_lookups_total{result="miss"} ${cache.misses}`,
    ...processMetrics(),
    ...requests.render(),
  ];
  return lines.join("\n") + "\n";
}
