import { AsyncLocalStorage } from "node:async_hooks";
import { X509Certificate } from "node:crypto";
import { getCACertificates } from "node:tls";
import { isUtf8 } from "node:buffer";
import { pageLimit } from "./pageLimit";

/**
 * How upstream requests leave this machine: through a proxy or directly, and which CAs their TLS trusts.
 * fhir-kit-client sends its requests with the global fetch and takes no fetch of its own, so a
 * `Bun.FetchSession` carries the proxy and the CAs to it: a request made inside `withSession` runs with
 * that session; any other fetch is left as it was.
 */

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM certificates in `text`, each checked to parse; throws naming the first that does not. */
export function certificatesIn(text: string): string[] {
  const blocks = text.match(PEM_BLOCK) ?? [];
  blocks.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new Error(`certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate (${(err as Error).message})`);
    }
  });
  return blocks;
}

/**
 * The system's roots (and Bun's bundled ones, and NODE_EXTRA_CA_CERTS) plus `extra`. A `tls.ca` given
 * to fetch replaces the roots it would use by default, so the defaults are listed again here.
 */
function trustedRoots(extra: readonly string[]): string[] {
  return [...new Set([...getCACertificates("default"), ...getCACertificates("system"), ...extra])];
}

/** The CA certificates of --upstream-ca-file, and the file (named in messages). */
export interface ExtraCa {
  file: string;
  certificates: string[];
}

interface TransportOptions {
  /** The proxy URL, or null to connect directly (whatever HTTPS_PROXY says: config.ts decided already). */
  proxy: string | null;
  /** Extra CA certificates (PEM) trusted on top of the system's, or null for the system's alone. */
  extraCa: readonly string[] | null;
}

/**
 * A session for one sync. NO_PROXY was applied when the proxy was chosen; Bun is told not to apply it
 * again, so that what config.ts decided is what happens.
 */
export function upstreamSession({ proxy, extraCa }: TransportOptions): Bun.FetchSession {
  return new Bun.FetchSession({
    proxy: proxy === null ? false : { url: proxy, respectNoProxy: false },
    ...(extraCa ? { tls: { ca: trustedRoots(extraCa) } } : {}),
  });
}

/** What an upstream answer's body may be: at most `maxBytes`, and UTF-8 (never silently repaired). */
interface BodyRules {
  maxBytes: number;
}

/** An upstream body that breaks the rules: too large, or not UTF-8. Not worth retrying. */
export class BodyRefused extends Error {
  constructor(
    readonly problem: "too-large" | "not-utf8",
    message: string,
  ) {
    super(message);
  }
}

/**
 * The body of an upstream answer, read here rather than by fhir-kit-client (whose response.text() has no
 * limit and replaces bytes that are not UTF-8 with U+FFFD): read up to `maxBytes`, then checked to be
 * UTF-8, and handed on as a new Response with the same status and headers.
 */
async function guarded(response: Response, rules: BodyRules): Promise<Response> {
  const declared = Number(response.headers.get("content-length"));
  const limit = rules.maxBytes;
  const tooLarge = () => new BodyRefused("too-large", `the answer is larger than ${pageLimit(limit, "page")}`);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return response;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  if (!isUtf8(bytes)) throw new BodyRefused("not-utf8", "the answer is not valid UTF-8 (FHIR JSON must be)");
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
}

interface Scope {
  session: Bun.FetchSession;
  rules: BodyRules;
}

const current = new AsyncLocalStorage<Scope>();
let routed = false;

/**
 * Runs `work` with every global fetch it makes (fhir-kit-client's included) going through `session`
 * and its bodies read by `rules`. Fetches made elsewhere are untouched.
 */
export function withSession<T>(session: Bun.FetchSession, rules: BodyRules, work: () => Promise<T>): Promise<T> {
  if (!routed) {
    const plain = globalThis.fetch;
    const routedFetch = async (input: string | URL | Request, init?: BunFetchRequestInit) => {
      const scope = current.getStore();
      if (!scope) return plain(input, init);
      return guarded(await plain(input, { ...init, session: scope.session }), scope.rules);
    };
    globalThis.fetch = Object.assign(routedFetch, { preconnect: plain.preconnect }) as typeof fetch;
    routed = true;
  }
  return current.run({ session, rules }, work);
}

/** A certificate problem of a TLS connection, by the verify code Bun reports (OpenSSL's names). */
export type TlsProblem = { kind: "untrusted" | "expired" | "not-yet-valid" | "wrong-host"; code: string; reason: string };

const UNTRUSTED = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "CERT_SIGNATURE_FAILURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_CHAIN_TOO_LONG",
  "PATH_LENGTH_EXCEEDED",
]);

export function tlsProblem(err: unknown): TlsProblem | null {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return null;
  const message = (err as Error).message ?? "";
  // Bun's text for these codes is the verify reason ("unable to verify the first certificate"); for a
  // wrong host name it is only the code and the URL.
  const reason = message && !message.startsWith(code) ? message : code;
  if (UNTRUSTED.has(code)) return { kind: "untrusted", code, reason };
  if (code === "CERT_HAS_EXPIRED" || code === "ERROR_IN_CERT_NOT_AFTER_FIELD") return { kind: "expired", code, reason };
  if (code === "CERT_NOT_YET_VALID" || code === "ERROR_IN_CERT_NOT_BEFORE_FIELD") return { kind: "not-yet-valid", code, reason };
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") return { kind: "wrong-host", code, reason: "the certificate names other hosts" };
  return null;
}
