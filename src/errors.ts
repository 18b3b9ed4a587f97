/**
 * Every error a user can meet, in one model. An error knows how it is shown at each boundary: its HTTP
 * status (and extra headers) when an API request meets it, and its exit code when a command does. The
 * HTTP edge and `main` render any NompdError as it says, without a list of kinds; anything else is an
 * internal error (logged, 500 / exit 1).
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, alreadyRunning: 3, guard: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface ErrorShape {
  /** HTTP status when the error answers a request. */
  status: number;
  /** Process exit code when the error ends a command. */
  exit: ExitCode;
}

export class NompdError extends Error {
  readonly status: number;
  readonly exit: ExitCode;
  /** Extra response headers (e.g. Allow on 405, WWW-Authenticate on 401). */
  readonly headers: Record<string, string>;

  constructor(message: string, shape: ErrorShape, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = shape.status;
    this.exit = shape.exit;
    this.headers = headers;
  }
}

/** A wrong command line, setting or request parameter: the caller must change what they asked. */
export class UsageError extends NompdError {
  constructor(message: string, status = 400) {
    super(message, { status, exit: EXIT.usage });
  }
}

/** A setting that stops the program at start. */
export class ConfigError extends UsageError {}

/** The database file cannot be opened, is not ours, or was written by a newer Nompd. */
export class StoreError extends NompdError {
  constructor(message: string) {
    super(message, { status: 503, exit: EXIT.failed });
  }
}

/** The sync's source (the upstream, import files, the primary) failed or sent something unusable. */
export class SourceError extends NompdError {
  constructor(message: string) {
    super(message, { status: 502, exit: EXIT.failed });
  }
}

/** A request or command about a thing that is not there, or in a state that forbids it (a key name, say). */
export class ConflictError extends NompdError {
  constructor(message: string, status = 409) {
    super(message, { status, exit: EXIT.failed });
  }
}

/** No such thing (an id, a route). */
export class NotFoundError extends NompdError {
  constructor(message: string) {
    super(message, { status: 404, exit: EXIT.failed });
  }
}

/** Another sync holds the database's sync lock. */
export class SyncAlreadyRunningError extends NompdError {
  constructor(
    message: string,
    readonly holder: { pid: number; host: string; trigger: string; started_at: string },
  ) {
    super(message, { status: 409, exit: EXIT.alreadyRunning });
  }
}

/** The mass-deletion guard stopped a sync. */
export class GuardError extends NompdError {
  constructor(
    message: string,
    /** What the sync would have done to every collection: recorded with the stopped run. */
    readonly counts: Record<string, { added: number; changed: number; deleted: number; revived: number; unchanged: number }>,
  ) {
    super(message, { status: 422, exit: EXIT.guard });
  }
}

/** The server cannot answer this request now, and soon can: 503 with Retry-After. */
export class UnavailableError extends NompdError {
  constructor(message: string, retryAfterSeconds: number) {
    super(message, { status: 503, exit: EXIT.failed }, { "retry-after": String(retryAfterSeconds) });
  }
}
