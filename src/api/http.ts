import { brotliCompress, brotliCompressSync, constants as zlibConstants, gzip, gzipSync } from "node:zlib";
import { NompdError } from "../errors";

const encoder = new TextEncoder();

/** Bodies below this size are sent uncompressed: the headers would outweigh the saving. */
const COMPRESS_MIN_BYTES = 1024;

export type Encoding = "br" | "gzip" | "identity";

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * The encoding to send for an Accept-Encoding header: br when the client ranks it at least as high as
 * gzip, else gzip, else identity. q=0 refuses an encoding.
 */
export function negotiateEncoding(acceptEncoding: string | null): Encoding {
  if (!acceptEncoding) return "identity";
  // Clients send the same few Accept-Encoding values over and over: remember the answers (a few).
  const known = negotiated.get(acceptEncoding);
  if (known) return known;
  const encoding = parseAcceptEncoding(acceptEncoding);
  if (negotiated.size >= 64) negotiated.clear();
  negotiated.set(acceptEncoding, encoding);
  return encoding;
}

const negotiated = new Map<string, Encoding>();

/** Whether the client takes gzip (q > 0). */
export function acceptsGzip(acceptEncoding: string | null): boolean {
  return acceptEncoding !== null && qualities(acceptEncoding).gzip > 0;
}

function parseAcceptEncoding(acceptEncoding: string): Encoding {
  const { br, gzip } = qualities(acceptEncoding);
  if (br > 0 && br >= gzip) return "br";
  if (gzip > 0) return "gzip";
  return "identity";
}

/** The q-values of br and gzip ("*" standing in for those not named), -1 when neither is acceptable by name. */
function qualities(acceptEncoding: string): { br: number; gzip: number } {
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of acceptEncoding.split(",")) {
    const [rawName, ...params] = part.trim().split(";");
    const name = rawName!.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split("=");
      if (k?.trim().toLowerCase() === "q") q = Number(v);
    }
    if (!Number.isFinite(q)) q = 0;
    if (name === "br") br = q;
    else if (name === "gzip" || name === "x-gzip") gzip = q;
    else if (name === "*") star = q;
  }
  if (br < 0 && star >= 0) br = star;
  if (gzip < 0 && star >= 0) gzip = star;
  return { br, gzip };
}

/**
 * A weak tag (one for the identity, gzip and br forms of the same JSON) of the body and of the headers
 * it is always answered with: the same bytes from another dataset (an empty diff at the same version of
 * a restored copy, say) get another tag, so a client never gets a 304 that hides the new
 * X-Nompd-Dataset.
 */
export function etagOf(bytes: Uint8Array, headers: Readonly<Record<string, string>> = {}): string {
  let hash = Bun.hash(bytes);
  const names = Object.keys(headers).sort();
  if (names.length > 0) hash = Bun.hash(names.map((name) => `${name}: ${headers[name]}`).join("\n"), hash);
  return `W/"${hash.toString(36)}-${bytes.length.toString(36)}"`;
}

/** True when If-None-Match names this tag (weak comparison, as RFC 9110 asks for If-None-Match). */
export function notModified(ifNoneMatch: string, etag: string): boolean {
  // What a client sends back most: the tag as it was given (no list to split).
  if (ifNoneMatch === etag) return true;
  const opaque = etag.slice(2);
  for (const t of ifNoneMatch.split(",")) {
    const tag = t.trim();
    if (tag === "*" || (tag.startsWith("W/") ? tag.slice(2) : tag) === opaque) return true;
  }
  return false;
}

/** 304 carries the validators and caching headers of the 200 it stands for, but no body headers. */
const NOT_MODIFIED_DROPS = new Set(["content-type", "content-encoding", "content-length"]);

/**
 * One encoding of a prepared body. Its bytes are held as a Blob and its headers as a Headers object, each
 * made once: a Response shares a Blob's bytes, where it copies a Uint8Array's on every answer (the whole
 * 2.8 MiB list of 1,000 groups, or its 43 KiB in br: docs/PERFORMANCE.md); and it copies a Headers
 * object natively, where a plain object is read property by property.
 */
interface Form {
  body: Blob;
  headers: Headers;
  /** Compressed at the fast level, and not yet asked for again (which has it recompressed at the best level, once). */
  fast: boolean;
}

/**
 * From this size on, the fast level too is compressed on a thread of Bun's pool (node:zlib's callbacks)
 * rather than on the thread that answers requests: below it, the fast level costs less than handing the
 * work over. The best level always is: it takes tens of milliseconds for a list of a few MiB, and every
 * other request would wait that long.
 */
export const COMPRESS_OFF_THREAD_BYTES = 64 * 1024;

/**
 * Best-level compressions, one at a time: they never take more than one thread of the pool from the fast
 * compressions that requests wait for. A queued one holds its body until its turn (a body the cache let
 * go of meanwhile is skipped then), so at most MAX_QUEUED wait; past that, a form stays fast until it is
 * asked for again with room in the queue.
 */
let improving: Promise<void> = Promise.resolve();
let queued = 0;
const MAX_QUEUED = 64;

/** Resolves when the best-level compressions asked for so far are done. */
export function improvements(): Promise<void> {
  return improving;
}

/**
 * A JSON body held once in memory with its compressed forms and the response headers of each: the
 * precomputed answer for one question at one dataset version. A form is first compressed at a fast
 * level (most answers are asked for once); asked for again, it is recompressed at the best level once, in
 * the background, so that answers many clients fetch cost the fewest bytes (the fast form answers until
 * then). A large body's first requests in an encoding wait for one compression off the thread.
 */
export class PreparedBody {
  readonly etag: string;
  private readonly forms = new Map<Encoding, Form>();
  /** Forms being compressed off the thread: every request for one waits for the same work. */
  private readonly pending = new Map<Encoding, Promise<Form>>();
  private notModifiedHeaders: Headers | null = null;
  /** The body as it is, as a Blob: made once, for every form that sends it uncompressed. */
  private uncompressed: Blob | null = null;
  /** No longer kept (see retire): no better form is made for it. */
  private retired = false;
  /** Told how many bytes a new or better form added (the answer cache counts them). */
  onGrow: ((delta: number) => void) | null = null;

  /** `headers`: extra response headers, the same for every request this body answers. */
  constructor(
    readonly bytes: Uint8Array,
    private readonly headers: Record<string, string> = {},
  ) {
    this.etag = etagOf(bytes, headers);
  }

  static fromJson(json: string, headers: Record<string, string> = {}): PreparedBody {
    return new PreparedBody(encoder.encode(json), headers);
  }

  /** Bytes held: the body, and the Blobs of its forms (the uncompressed one once). */
  get size(): number {
    let n = this.bytes.length + (this.uncompressed?.size ?? 0);
    for (const form of this.forms.values()) if (form.body !== this.uncompressed) n += form.body.size;
    return n;
  }

  /** The cache let go of it: requests that hold it still get answers, but it is not worth compressing better. */
  retire(): void {
    this.retired = true;
  }

  /** The headers of every form, in this order: the body's type, the validators and caching headers, the extra headers. */
  private headersOf(encoding: Encoding, compressed: boolean): Record<string, string> {
    const headers: Record<string, string> = { "content-type": JSON_TYPE, etag: this.etag, vary: "Accept-Encoding", "cache-control": "no-cache", ...this.headers };
    if (compressed) headers["content-encoding"] = encoding;
    return headers;
  }

  /** The headers of a 304 for this body: those of its 200 but the body headers (the same for every encoding). */
  notModified(): Headers {
    if (this.notModifiedHeaders === null) {
      const headers = this.headersOf("identity", false);
      for (const k of NOT_MODIFIED_DROPS) delete headers[k];
      this.notModifiedHeaders = new Headers(headers);
    }
    return this.notModifiedHeaders;
  }

  /** The form in `encoding`: made now, or (a large body's first) once compressed off the thread. */
  form(encoding: Encoding): Form | Promise<Form> {
    const form = this.forms.get(encoding);
    if (form === undefined) return this.pending.get(encoding) ?? this.firstForm(encoding);
    if (form.fast) this.improve(form, encoding as Codec);
    return form;
  }

  private firstForm(encoding: Encoding): Form | Promise<Form> {
    if (encoding === "identity" || this.bytes.length < COMPRESS_MIN_BYTES) return this.keep(encoding, this.bytes, false);
    // Compression failed (out of memory, say): the body as it is answers this request; a later one tries again.
    const plain = () => this.forms.get("identity") ?? this.keep("identity", this.bytes, false);
    let compressed: Uint8Array | Promise<Uint8Array>;
    try {
      compressed = compress(this.bytes, encoding, "fast");
    } catch {
      return plain();
    }
    if (!(compressed instanceof Promise)) return this.keep(encoding, compressed, true);
    const made = compressed.then((bytes) => this.keep(encoding, bytes, true), plain).finally(() => this.pending.delete(encoding));
    this.pending.set(encoding, made);
    return made;
  }

  private keep(encoding: Encoding, bytes: Uint8Array, fast: boolean): Form {
    const compressed = bytes !== this.bytes;
    const made = compressed || this.uncompressed === null;
    const body = compressed ? new Blob([bytes]) : (this.uncompressed ??= new Blob([bytes]));
    const form: Form = { body, headers: new Headers(this.headersOf(encoding, compressed)), fast };
    this.forms.set(encoding, form);
    if (made) this.onGrow?.(body.size);
    return form;
  }

  /** A fast form asked for again is recompressed at the best level, once, in the background (see `improving`). */
  private improve(form: Form, encoding: Codec): void {
    if (queued >= MAX_QUEUED) return;
    form.fast = false;
    queued++;
    // The queue goes on whatever one job met.
    improving = improving.then(() => this.recompress(form, encoding)).catch(() => {});
  }

  /** One job of the queue: the best form, unless the cache let go of the body before or while it was made. */
  private async recompress(form: Form, encoding: Codec): Promise<void> {
    queued--;
    if (this.retired) return;
    let bytes: Uint8Array;
    try {
      bytes = await compress(this.bytes, encoding, "best");
    } catch {
      // The fast form goes on answering.
      return;
    }
    if (this.retired) return;
    const before = form.body.size;
    form.body = new Blob([bytes]);
    this.onGrow?.(bytes.length - before);
  }
}

type Codec = Exclude<Encoding, "identity">;

/**
 * The levels: the fast one is what the first request for a new version's list waits for (brotli 1 and
 * gzip 1 take a few milliseconds for the 2.8 MiB list of 1,000 groups, brotli 4 about four times as long:
 * docs/PERFORMANCE.md, start-up); the best one is made in the background.
 */
function zlibOptions(bytes: Uint8Array, encoding: Codec, level: "fast" | "best") {
  if (encoding === "gzip") return { level: level === "fast" ? 1 : 6 };
  return {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: level === "fast" ? 1 : 9,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  };
}

/** `bytes` compressed: at once, or on a thread of the pool (see COMPRESS_OFF_THREAD_BYTES). */
function compress(bytes: Uint8Array, encoding: Codec, level: "fast" | "best"): Uint8Array | Promise<Uint8Array> {
  const options = zlibOptions(bytes, encoding, level);
  if (level === "fast" && bytes.length < COMPRESS_OFF_THREAD_BYTES) return encoding === "gzip" ? gzipSync(bytes, options) : brotliCompressSync(bytes, options);
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Uint8Array) => (err ? reject(err) : resolve(out));
    if (encoding === "gzip") gzip(bytes, options, done);
    else brotliCompress(bytes, options, done);
  });
}

/**
 * The length of the bodies this module made, for the access log; other answers are not known. Recorded
 * only once an access log asks for them (recordBodyLengths), as the record costs on every answer.
 */
let lengths: WeakMap<Response, number> | null = null;

/** From now on, the bodies this module makes have a known length (for as long as the process runs). */
export function recordBodyLengths(): void {
  lengths ??= new WeakMap();
}

export function bodyLength(response: Response): number | null {
  return lengths?.get(response) ?? (response.body === null ? 0 : null);
}

function sized(response: Response, length: number): Response {
  lengths?.set(response, length);
  return response;
}

/**
 * Answers a prepared JSON body with ETag / 304 and content negotiation; once its form is made, when a
 * large body's first request in an encoding waits for it (see PreparedBody).
 */
export function sendJson(request: Request, body: PreparedBody, status = 200): Response | Promise<Response> {
  if (status === 200) {
    const ifNoneMatch = request.headers.get("if-none-match");
    if (ifNoneMatch !== null && notModified(ifNoneMatch, body.etag)) return new Response(null, { status: 304, headers: body.notModified() });
  }
  const form = body.form(negotiateEncoding(request.headers.get("accept-encoding")));
  if (form instanceof Promise) return form.then((made) => formAnswer(made, status));
  return formAnswer(form, status);
}

function formAnswer(form: Form, status: number): Response {
  return sized(new Response(form.body, { status, headers: form.headers }), form.body.size);
}

type Parts = { bytes: Uint8Array; headers: Record<string, string> | Headers };

/** A JSON body and its headers (Content-Type first, then `extraHeaders`). */
function jsonParts(value: unknown, extraHeaders: Record<string, string>): Parts {
  return { bytes: encoder.encode(JSON.stringify(value)), headers: { "content-type": JSON_TYPE, ...extraHeaders } };
}

/** An error's body, `{"error": message}`, and its headers. */
function errorParts(message: string, extraHeaders: Record<string, string>): Parts {
  return jsonParts({ error: message }, extraHeaders);
}

function respond(status: number, { bytes, headers }: Parts): Response {
  return sized(new Response(bytes, { status, headers }), bytes.length);
}

/** A small JSON answer without caching headers: errors, health, admin answers. */
export function json(value: unknown, status = 200, extraHeaders: Record<string, string> = {}): Response {
  return respond(status, jsonParts(value, extraHeaders));
}

export function errorResponse(status: number, message: string, extraHeaders: Record<string, string> = {}): Response {
  return respond(status, errorParts(message, extraHeaders));
}

/**
 * The answer of an error made once and met by many requests (the 401): its body and headers made once
 * per set of extra headers (the dataset headers: one frozen object per dataset state). Extra headers
 * that are not frozen could change under the same object, so they are read every time.
 */
class PreparedError {
  private last: (Parts & { extra: Record<string, string> }) | null = null;

  constructor(private readonly err: NompdError) {}

  answer(extra: Record<string, string>): Response {
    let made = this.last?.extra === extra ? this.last : null;
    if (made === null) {
      const { bytes, headers } = errorParts(this.err.message, { ...extra, ...this.err.headers });
      // Headers, not a record: a Response copies them natively.
      made = { extra, bytes, headers: new Headers(headers) };
      if (Object.isFrozen(extra)) this.last = made;
    }
    return respond(this.err.status, made);
  }
}

const prepared = new WeakMap<NompdError, PreparedError>();

/** Marks an error made once (a module constant) whose answer is then made once, not per request. */
export function preparedError<E extends NompdError>(err: E): E {
  prepared.set(err, new PreparedError(err));
  return err;
}

/** The answer to an error: a NompdError as it says; anything else is the caller's to log (500). */
export function errorAnswer(err: NompdError, extraHeaders: Record<string, string> = {}): Response {
  const answer = prepared.get(err);
  if (answer) return answer.answer(extraHeaders);
  return errorResponse(err.status, err.message, { ...extraHeaders, ...err.headers });
}
