import { AsyncLocalStorage } from "node:async_hooks";
import { X509Certificate } from "node:crypto";
import { getCACertificates } from "node:tls";

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
export function trustedRoots(extra: readonly string[]): string[] {
  return [...new Set([...getCACertificates("default"), ...getCACertificates("system"), ...extra])];
}

/** The CA certificates of --upstream-ca-file, and the file (named in messages). */
export interface ExtraCa {
  file: string;
  certificates: string[];
}

export interface TransportOptions {
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

const current = new AsyncLocalStorage<Bun.FetchSession>();
let routed = false;

/** Runs `work` with every global fetch it makes (fhir-kit-client's included) going through `session`. */
export function withSession<T>(session: Bun.FetchSession, work: () => Promise<T>): Promise<T> {
  if (!routed) {
    const plain = globalThis.fetch;
    const routedFetch = (input: string | URL | Request, init?: BunFetchRequestInit) => {
      const session = current.getStore();
      return plain(input, session ? { ...init, session } : init);
    };
    globalThis.fetch = Object.assign(routedFetch, { preconnect: plain.preconnect }) as typeof fetch;
    routed = true;
  }
  return current.run(session, work);
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
