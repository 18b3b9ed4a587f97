/**
 * A private CA and server certificates made with the real `openssl`, as a hospital's own CA (or a proxy
 * that re-signs TLS) would issue them. Everything is written under `dir`; PEM texts are returned too.
 */
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { ensurePackages } from "./debian";

export interface Ca {
  name: string;
  certFile: string;
  keyFile: string;
  cert: string;
}

export interface ServerCert {
  /** PEM of the certificate. */
  cert: string;
  key: string;
  certFile: string;
}

let serial = 1000;

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${r.stderr.toString()}`);
}

/** A self-signed CA (EC P-256, valid for two days) named `name`. */
export function makeCa(dir: string, name: string): Ca {
  ensurePackages(["openssl"]);
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${name}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  return { name, certFile, keyFile, cert: readFileSync(certFile, "utf8") };
}

/**
 * A server certificate signed by `ca` for `names` (IP addresses and DNS names), valid for two days, or
 * one that expired already (`expired`: its notAfter lies a day before its notBefore).
 */
export function issueCert(dir: string, ca: Ca, file: string, names: string[], opts: { expired?: boolean } = {}): ServerCert {
  const keyFile = join(dir, `${file}.key`);
  const csr = join(dir, `${file}.csr`);
  const certFile = join(dir, `${file}.pem`);
  const ext = join(dir, `${file}.ext`);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", `/CN=${names[0]}`], dir);
  openssl(
    ["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-set_serial", String(++serial), "-out", certFile, "-days", opts.expired ? "-1" : "2", "-extfile", ext],
    dir,
  );
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile };
}
