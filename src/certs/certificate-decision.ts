import { createPrivateKey, X509Certificate } from "node:crypto";
import { formatDuration } from "../config/duration.js";

/** What the TLS Secret holds now (PEM text), as far as it holds anything. */
export interface ExistingPair {
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
}

export type IssueReason =
  "missing" | "unparsable" | "key-mismatch" | "not-signed-by-ca" | "names-differ" | "expiring";

export type CertificateDecision =
  | { readonly action: "reuse"; readonly notAfter: Date }
  | { readonly action: "issue"; readonly reason: IssueReason; readonly why: string };

export interface DecisionInput {
  /** Undefined when the Secret does not exist. */
  readonly existing: ExistingPair | undefined;
  readonly dnsNames: readonly string[];
  readonly now: Date;
  readonly renewBeforeMs: number;
}

const issue = (reason: IssueReason, why: string): CertificateDecision => ({ action: "issue", reason, why });

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, key: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/** Why the certificate's DNS names are not exactly `wanted`, or undefined when they are. */
function namesDiffer(cert: X509Certificate, wanted: readonly string[]): string | undefined {
  const has = (cert.subjectAltName ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4));
  const missing = wanted.filter((name) => !has.includes(name));
  const extra = has.filter((name) => !wanted.includes(name));
  if (missing.length > 0) return `the current certificate does not name ${missing.join(", ")}`;
  if (extra.length > 0) return `the current certificate also names ${extra.join(", ")}`;
  return undefined;
}

/**
 * Reuse the Secret's certificate, or issue a new one and why. Reuse needs all of: every part
 * present and parsable, the key belonging to the certificate, the certificate signed by ca.crt
 * (the CA the caBundle will be made to trust), exactly the wanted names, and more than
 * `renewBeforeMs` left on both the certificate and its CA.
 */
export function decideCertificate(input: DecisionInput): CertificateDecision {
  const { existing, now } = input;
  if (!existing) return issue("missing", "the Secret does not exist");
  const absent = (["cert", "key", "ca"] as const).filter((part) => !existing[part]?.trim());
  if (absent.length > 0) {
    const files = absent.map((part) => ({ cert: "tls.crt", key: "tls.key", ca: "ca.crt" })[part]);
    return issue("missing", `the Secret has no ${files.join(", ")}`);
  }
  const cert = parse(existing.cert!);
  const ca = parse(existing.ca!);
  if (!cert) return issue("unparsable", "tls.crt is not a PEM certificate");
  if (!ca) return issue("unparsable", "ca.crt is not a PEM certificate");
  if (!keyMatches(cert, existing.key!)) return issue("key-mismatch", "tls.key does not belong to tls.crt");
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    return issue("not-signed-by-ca", "tls.crt is not signed by ca.crt");
  }
  const names = namesDiffer(cert, input.dnsNames);
  if (names) return issue("names-differ", names);
  const notAfter = new Date(Math.min(Date.parse(cert.validTo), Date.parse(ca.validTo)));
  const left = notAfter.getTime() - now.getTime();
  if (left <= 0) return issue("expiring", `the current certificate expired at ${notAfter.toISOString()}`);
  if (left < input.renewBeforeMs) {
    return issue(
      "expiring",
      `the current certificate expires at ${notAfter.toISOString()}, within --renew-before ${formatDuration(input.renewBeforeMs)}`,
    );
  }
  return { action: "reuse", notAfter };
}
