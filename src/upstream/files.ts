import { readdirSync, statSync, type Stats } from "node:fs";
import { extname, join } from "node:path";
import { SourceError } from "../errors";
import { collect } from "./bundles";
import { pageLimit } from "./pageLimit";
import type { Ignored, ResourceSink, Source, SourceResult } from "./source";

/** The file's text, or a SourceError naming it: bytes that are not UTF-8 are refused, never replaced. */
function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new SourceError(`${where} is not valid UTF-8 (first bad byte at offset ${at}). FHIR JSON must be UTF-8: re-export it as UTF-8. Nothing was written.`);
  }
}

/** The offset where the first byte sequence that is not UTF-8 starts (only called once decoding failed). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= bytes.length || (bytes[i + k]! & 0xc0) !== 0x80) return i;
    // Overlong forms, surrogates and code points past U+10FFFF.
    const b1 = bytes[i + 1] ?? 0;
    if ((b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 > 0x9f) || (b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 > 0x8f)) return i;
    i += n + 1;
  }
  return bytes.length;
}

interface FoundFile {
  file: string;
  stat: Stats;
}

/** A path's files: the path itself, or a folder's *.json and *.ndjson files; each with its stat. */
function expand(path: string): FoundFile[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new SourceError(`Cannot read ${path}: no such file or folder.`);
  }
  if (stat.isDirectory()) {
    return readdirSync(path)
      .filter((name) => [".json", ".ndjson"].includes(extname(name).toLowerCase()))
      .sort()
      .map((name) => join(path, name))
      .map((file) => {
        try {
          return { file, stat: statSync(file) };
        } catch (err) {
          throw new SourceError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
        }
      });
  }
  return [{ file: path, stat }];
}

/** A file to read, checked first: a regular file (a FIFO or device would block or never end), not too big. */
function checkFile({ file, stat }: FoundFile, maxBytes: number): void {
  if (!stat.isFile()) throw new SourceError(`${file} is not a regular file (a pipe, device or socket); give Bundle files or folders of them.`);
  if (stat.size > maxBytes) {
    throw new SourceError(`${file} is ${Math.ceil(stat.size / 1048576)} MiB, more than ${pageLimit(maxBytes, "file")}. Split it, or raise the limit.`);
  }
}

/** Parses a file's text: one JSON document (Bundle or resource), or NDJSON (one per line). */
function collectText(text: string, where: string, sink: ResourceSink, ignored: Ignored): void {
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

export interface FileSourceOptions {
  /** The largest file read. */
  maxBytes: number;
}

/** Bundle files (JSON or NDJSON; folders are read for *.json and *.ndjson) as a sync source. */
export function fileSource(paths: string[], options: FileSourceOptions): Source {
  return {
    async fetch(sink, _onProgress, signal): Promise<SourceResult> {
      const ignored: Ignored = {};
      const files = paths.flatMap(expand);
      if (files.length === 0) throw new SourceError(`No .json or .ndjson files found in ${paths.join(", ")}.`);
      // Every file is checked before any is read: a wrong one fails the import at once.
      for (const file of files) checkFile(file, options.maxBytes);
      for (const { file } of files) {
        if (signal?.aborted) break;
        let bytes: Uint8Array;
        try {
          bytes = await Bun.file(file).bytes();
        } catch (err) {
          throw new SourceError(`Cannot read ${file}: ${(err as Error).message}.`);
        }
        collectText(decodeUtf8(bytes, file), file, sink, ignored);
      }
      return { ignored };
    },
  };
}
