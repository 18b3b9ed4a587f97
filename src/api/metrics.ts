import { Elysia } from "elysia";
import type { Store } from "../store/db";
import { Documents } from "../store/documents";
import { Runs } from "../store/runs";

const BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Route templates, so that ids in paths do not create a metric series each. */
export function routeOf(pathname: string): string {
  if (pathname.startsWith("/api/v1/fhir/")) return "/api/v1/fhir/:type";
  const m = /^\/api\/v1\/(treatmentGroup|reimbursementGroup)(?:\/[^/]+(\/history)?)?\/?$/.exec(pathname);
  if (m) {
    if (pathname === `/api/v1/${m[1]}`) return pathname;
    return `/api/v1/${m[1]}/:id${m[2] ?? ""}`;
  }
  if (["/api/internal/sync", "/health", "/health/ready", "/metrics"].includes(pathname)) return pathname;
  if (pathname.startsWith("/swagger")) return "/swagger";
  return "other";
}

/** Request counts by route and status, and a latency histogram by route: a few map updates a request. */
export class RequestMetrics {
  private readonly counts = new Map<string, number>();
  private readonly histograms = new Map<string, { buckets: number[]; sum: number; count: number }>();

  /** `route`: a route template (see routeOf), never a raw path. */
  observe(route: string, status: number, seconds: number): void {
    const key = `${route} ${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
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
    const lines = ["# HELP nompd_http_requests_total HTTP requests by route and status.", "# TYPE nompd_http_requests_total counter"];
    for (const [key, n] of this.counts) {
      const at = key.lastIndexOf(" ");
      const route = key.slice(0, at);
      const status = key.slice(at + 1);
      lines.push(`nompd_http_requests_total{route="${route}",status="${status}"} ${n}`);
    }
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

/** GET /metrics: Prometheus text. No key: it holds counts and times, no data. */
export function metricsApi(store: Store, requests: RequestMetrics) {
  const runs = new Runs(store);
  const documents = new Documents(store);
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    () => {
      const lastOk = runs.lastSuccessful();
      const last = runs.recent(1)[0];
      const lines = [
        "# HELP nompd_dataset_version The current dataset version.",
        "# TYPE nompd_dataset_version gauge",
        `nompd_dataset_version ${store.currentVersion()}`,
        "# HELP nompd_last_successful_sync_timestamp_seconds End of the last sync that succeeded or found no changes.",
        "# TYPE nompd_last_successful_sync_timestamp_seconds gauge",
        `nompd_last_successful_sync_timestamp_seconds ${lastOk?.finishedAt ? Date.parse(lastOk.finishedAt) / 1000 : 0}`,
        "# HELP nompd_last_sync_status Status of the last sync run (1 for the status it had).",
        "# TYPE nompd_last_sync_status gauge",
        ...["succeeded", "no_changes", "failed", "aborted_by_guard", "running"].map((s) => `nompd_last_sync_status{status="${s}"} ${last?.status === s ? 1 : 0}`),
        "# HELP nompd_items Live and deleted documents per collection.",
        "# TYPE nompd_items gauge",
        ...Object.entries(documents.counts()).flatMap(([c, n]) => [`nompd_items{collection="${c}",state="live"} ${n.live}`, `nompd_items{collection="${c}",state="deleted"} ${n.deleted}`]),
        ...requests.render(),
      ];
      return new Response(lines.join("\n") + "\n", { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    },
    { detail: { summary: "Prometheus metrics", tags: ["Operations"] } },
  );
}
