import { X509Certificate } from "node:crypto";
// selfsigned (node-forge) is loaded only when a certificate is issued: serving with mounted
// files, the usual case in a cluster, never needs its ~10 MiB.
import type * as Selfsigned from "selfsigned";

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface ServingBundle {
  readonly ca: KeyPair;
  readonly serving: KeyPair;
}

const DAY_MS = 86_400_000;

/**
 * Issues a private CA and a serving certificate it signs, for the given DNS names and IPs. The
 * API server verifies the webhook against the CA (the `caBundle`), so the serving certificate can
 * be replaced without touching the webhook configuration as long as the CA stays.
 */
export async function issueServingBundle(options: {
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  validityDays: number;
  ca?: KeyPair;
  /** The issuing moment: certificates start a minute before it (clock skew between nodes). */
  now: Date;
  /**
   * Subject of a new CA (default "ecr-webhook-ca"). Give each CA its own when several may sit in one
   * caBundle: without key identifiers, OpenSSL-based clients pick the issuer by subject alone.
   */
  caCommonName?: string;
}): Promise<ServingBundle> {
  const notBeforeDate = new Date(options.now.getTime() - 60_000);
  const ca =
    options.ca ??
    (await issue({
      commonName: options.caCommonName ?? "ecr-webhook-ca",
      notBeforeDate,
      validityDays: options.validityDays * 2,
      extensions: [
        { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    }));
  const altNames = [
    ...options.dnsNames.map((value) => ({ type: 2 as const, value })),
    ...(options.ipAddresses ?? []).map((ip) => ({ type: 7 as const, ip })),
  ];
  const serving = await issue({
    commonName: options.dnsNames[0] ?? "ecr-webhook",
    notBeforeDate,
    validityDays: options.validityDays,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
    signer: ca,
  });
  return { ca, serving };
}

async function issue(spec: {
  commonName: string;
  notBeforeDate: Date;
  validityDays: number;
  extensions: NonNullable<Parameters<typeof Selfsigned.generate>[1]>["extensions"];
  signer?: KeyPair;
}): Promise<KeyPair> {
  const { generate } = await import("selfsigned");
  const result = await generate([{ name: "commonName", value: spec.commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: spec.notBeforeDate,
    notAfterDate: new Date(spec.notBeforeDate.getTime() + spec.validityDays * DAY_MS),
    extensions: spec.extensions,
    ...(spec.signer ? { ca: { key: spec.signer.key, cert: spec.signer.cert } } : {}),
  });
  return { cert: result.cert, key: result.private };
}

/** Facts about a PEM certificate that reuse and renewal decisions need. */
export interface CertificateFacts {
  readonly notAfter: Date;
  readonly dnsNames: string[];
  readonly issuedBy: (ca: string) => boolean;
}

export function inspectCertificate(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  const dnsNames = (cert.subjectAltName ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4));
  return {
    notAfter: new Date(cert.validTo),
    dnsNames,
    issuedBy: (ca) => {
      try {
        return cert.verify(new X509Certificate(ca).publicKey);
      } catch {
        return false;
      }
    },
  };
}
