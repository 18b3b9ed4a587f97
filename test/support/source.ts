import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSource } from "../../src/upstream/files";
import type { Source } from "../../src/upstream/source";
import { bundle, type Dataset } from "./fhir";

let n = 0;

/** Writes a dataset as three Bundle files in a new folder under `dir`; returns the folder. */
export function writeDataset(dir: string, dataset: Dataset): string {
  const folder = join(dir, `dataset-${++n}`);
  mkdirSync(folder, { recursive: true });
  for (const [type, resources] of Object.entries(dataset)) {
    writeFileSync(join(folder, `${type}.json`), JSON.stringify(bundle(resources)));
  }
  return folder;
}

/** A file source over a dataset written to disk: the real import path. */
export function datasetSource(dir: string, dataset: Dataset): Source {
  return fileSource([writeDataset(dir, dataset)], { maxBytes: 1 << 26 });
}
