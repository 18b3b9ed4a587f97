import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { SourceError } from "../errors";
import { collect, type Ignored } from "./bundles";
import type { ResourceSink, Source, SourceResult } from "./source";

function expand(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new SourceError(`Cannot read ${path}: no such file or folder.`);
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => [".json", ".ndjson"].includes(extname(name).toLowerCase()))
    .sort()
    .map((name) => join(path, name));
}

/** Parses a file's text: one JSON document (Bundle or resource), or NDJSON (one per line). */
export function collectText(text: string, where: string, sink: ResourceSink, ignored: Ignored): void {
  const trimmed = text.trim();
  if (trimmed === "") throw new SourceError(`${where} is empty; expected a FHIR Bundle (JSON) or resources as NDJSON.`);
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    whole = undefined;
  }
  if (whole !== undefined) {
    collect(whole, sink, ignored, where);
    return;
  }
  // Not one JSON document: read it as NDJSON, one resource (or Bundle) per line.
  const lines = trimmed.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new SourceError(`${where} line ${i + 1} is not valid JSON (${(err as Error).message}). Expected a FHIR Bundle as JSON, or one resource per line (NDJSON).`);
    }
    collect(value, sink, ignored, `${where} line ${i + 1}`);
  });
}

/** Bundle files (JSON or NDJSON; folders are read for *.json and *.ndjson) as a sync source. */
export function fileSource(paths: string[]): Source {
  return {
    async fetch(sink): Promise<SourceResult> {
      const ignored: Ignored = {};
      const files = paths.flatMap(expand);
      if (files.length === 0) throw new SourceError(`No .json or .ndjson files found in ${paths.join(", ")}.`);
      for (const file of files) {
        let text: string;
        try {
          text = await Bun.file(file).text();
        } catch (err) {
          throw new SourceError(`Cannot read ${file}: ${(err as Error).message}.`);
        }
        collectText(text, file, sink, ignored);
      }
      return { ignored };
    },
  };
}
