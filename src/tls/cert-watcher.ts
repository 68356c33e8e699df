import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { Logger } from "../log/logger.js";
import { inspectCertificate } from "./issue.js";

export const TLS_OPTIONS = { minVersion: "TLSv1.2" } as const satisfies SecureContextOptions;

export interface LoadedPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly notAfter: Date;
}

/**
 * Keeps the serving certificate current without a restart. Kubernetes updates a mounted Secret by
 * swapping a symlink, which file watchers miss, so the files are polled and compared byte for byte.
 * A new pair is parsed and checked (key matches certificate) before it replaces the old one; a bad
 * pair is logged and the last good one stays in service.
 */
export class CertificateWatcher {
  private current?: LoadedPair;
  private lastError?: string;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly certFile: string,
    private readonly keyFile: string,
    private readonly logger: Logger,
    private readonly onChange: (pair: LoadedPair) => void = () => {},
  ) {}

  /** First load: any problem is thrown, so start-up fails fast with a clear message. */
  async load(): Promise<LoadedPair> {
    const pair = await this.read();
    this.current = pair;
    return pair;
  }

  /** Re-reads the files now; returns true when a new pair was put in service. */
  async check(): Promise<boolean> {
    let pair: LoadedPair;
    try {
      pair = await this.read();
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.lastError)
        this.logger.error({ err: message }, "serving certificate unusable; keeping the previous one");
      this.lastError = message;
      return false;
    }
    this.lastError = undefined;
    if (this.current && pair.cert.equals(this.current.cert) && pair.key.equals(this.current.key))
      return false;
    this.current = pair;
    this.onChange(pair);
    this.logger.info({ notAfter: pair.notAfter.toISOString() }, "serving certificate reloaded");
    return true;
  }

  start(intervalMs: number): void {
    const tick = () => {
      void this.check().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, intervalMs).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** For /readyz: the certificate in service, and whether the files on disk are currently usable. */
  health(now: Date): { ok: boolean; detail: string } {
    if (!this.current) return { ok: false, detail: "no certificate loaded" };
    if (this.current.notAfter <= now)
      return { ok: false, detail: `certificate expired at ${this.current.notAfter.toISOString()}` };
    return {
      ok: true,
      detail: this.lastError ? `serving the previous certificate: ${this.lastError}` : "ok",
    };
  }

  private async read(): Promise<LoadedPair> {
    const [cert, key] = await Promise.all([readFile(this.certFile), readFile(this.keyFile)]);
    try {
      createSecureContext({ cert, key, ...TLS_OPTIONS });
      return { cert, key, notAfter: inspectCertificate(cert.toString()).notAfter };
    } catch (error) {
      throw new Error(
        `${this.certFile} and ${this.keyFile} are not a usable pair: ${(error as Error).message}`,
      );
    }
  }
}
