/**
 * Where the worker entry points are. This module sits at the top of src/ on purpose: run from source,
 * import.meta.url is this file's URL; in the compiled binary it is the executable's root, next to which
 * `bun build --compile` stores every extra entry point by its path below src/ (the Makefile's build
 * target names them). From here, one relative path is right in both cases.
 */
export const SYNC_WORKER_URL = new URL("./sync/worker.ts", import.meta.url).href;
export const FOLLOW_WORKER_URL = new URL("./follow/worker.ts", import.meta.url).href;
