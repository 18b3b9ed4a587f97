/**
 * Compiled for Windows and run under Wine by test/e2e/windows.test.ts: src/platform.ts answering on
 * Windows itself, with no platform given. Prints one JSON object.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createPrivateFile, foreignPath, processAlive, processStart, readableByOthers, stopSignals } from "../../../src/platform";

const folder = process.argv[2] ?? ".";
const file = join(folder, "private.txt");
const created = [createPrivateFile(file), createPrivateFile(file)];
// Windows pids are multiples of 4 below 2^32; one this high is never handed out.
const unusedPid = 0x3ffffffc;
const listened: Record<string, boolean> = {};
for (const signal of stopSignals()) {
  try {
    const handler = () => {};
    process.on(signal, handler);
    process.off(signal, handler);
    listened[signal] = true;
  } catch {
    listened[signal] = false;
  }
}

console.log(
  JSON.stringify({
    platform: process.platform,
    pid: process.pid,
    aliveSelf: processAlive(process.pid),
    aliveUnused: processAlive(unusedPid),
    startSelf: processStart(process.pid),
    startSelfAgain: processStart(process.pid),
    startUnused: processStart(unusedPid),
    created,
    privateContent: readFileSync(file, "utf8"),
    readableByOthers: readableByOthers(file),
    foreign: ["C:\\nompd.db", "Z:\\data\\export", "/var/lib/nompd.db"].map((p) => [p, foreignPath(p)]),
    stopSignals: stopSignals(),
    listened,
  }),
);
