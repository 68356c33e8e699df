import { X509Certificate } from "node:crypto";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Old CAs kept at most, besides the new one. Their keys were never stored, so trusting them cannot
 * let anyone sign a new certificate; the cap only keeps a bundle short when certs runs often.
 */
export const MAX_PREVIOUS_CAS = 4;

/** The certificates of a PEM bundle, in order; blocks that do not parse are left out. */
export function parseBundle(pem: string | undefined): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of (pem ?? "").match(PEM_CERTIFICATE) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // A damaged block is simply not trusted; the rest of the bundle still is.
    }
  }
  return out;
}

const toPem = (cert: X509Certificate) => cert.toString().trim();
const validAt = (cert: X509Certificate, now: Date) => new Date(cert.validTo).getTime() > now.getTime();

/** Whether `bundle` holds the very certificate `ca` (compared by fingerprint, not by text). */
export function bundleContains(bundle: string | undefined, ca: string): boolean {
  const wanted = parseBundle(ca)[0]?.fingerprint256;
  return wanted !== undefined && parseBundle(bundle).some((c) => c.fingerprint256 === wanted);
}

/**
 * The caBundle to write: `ca` first, then every CA of `previous` still valid at `now`, each once.
 * Keeping the previous CAs lets the API server trust the certificate the pods still serve until
 * they load the new one; expired ones can no longer vouch for anything and are dropped.
 */
export function mergeCaBundle(ca: string, previous: readonly (string | undefined)[], now: Date): string {
  const seen = new Set<string>();
  const kept: X509Certificate[] = [];
  const candidates = [...parseBundle(ca).slice(0, 1), ...previous.flatMap((p) => parseBundle(p))];
  for (const cert of candidates) {
    if (seen.has(cert.fingerprint256) || !cert.ca || !validAt(cert, now)) continue;
    seen.add(cert.fingerprint256);
    kept.push(cert);
  }
  return `${kept
    .slice(0, 1 + MAX_PREVIOUS_CAS)
    .map(toPem)
    .join("\n")}\n`;
}

export type TrustProblem = "expired" | "not-yet-valid" | "untrusted";

/**
 * Whether a TLS client trusting only `bundle` would accept `certPem` at `now` (chain of one:
 * the serving certificate signed directly by a CA of the bundle, both within their validity).
 */
export function checkTrust(certPem: string, bundle: string | undefined, now: Date): TrustProblem | undefined {
  const cert = new X509Certificate(certPem);
  if (new Date(cert.validFrom) > now) return "not-yet-valid";
  if (!validAt(cert, now)) return "expired";
  const signer = parseBundle(bundle).find(
    (ca) => validAt(ca, now) && cert.checkIssued(ca) && cert.verify(ca.publicKey),
  );
  return signer ? undefined : "untrusted";
}
