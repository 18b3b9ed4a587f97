import type { Config, Settings } from "../config";
import type { UpstreamOptions } from "./fhirSource";

/** The upstream the settings describe, or null when no --upstream-url is set. */
export function upstreamFromConfig({ settings, secrets, network }: Config): UpstreamOptions | null {
  if (settings.upstreamUrl === null) return null;
  return {
    baseUrl: settings.upstreamUrl,
    apiKey: secrets.upstreamApiKey,
    keySource: secrets.upstreamApiKeySource,
    keyHeader: settings.upstreamKeyHeader,
    timeoutMs: settings.upstreamTimeoutMs,
    retries: settings.upstreamRetries,
    backoffMs: settings.upstreamBackoffMs,
    maxPageBytes: maxPageBytes(settings),
    proxy: network.proxy,
    ca: network.ca,
  };
}

const MIB = 1024 * 1024;

/** The largest upstream page or import file read (--max-page-mib), in bytes. */
export function maxPageBytes(settings: Pick<Settings, "maxPageMib">): number {
  return settings.maxPageMib * MIB;
}

/** The limit a page or a file went over, in the words of every such error: "the 64 MiB allowed for one page (--max-page-mib)". */
export function pageLimit(maxBytes: number, unit: "page" | "file"): string {
  return `the ${Math.floor(maxBytes / MIB)} MiB allowed for one ${unit} (--max-page-mib)`;
}
