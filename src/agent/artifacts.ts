import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex } from "../core/digest.js";
import { isMsecError, MsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { ArtifactKind } from "../core/schemas/artifact.js";
import type { ArtifactRef } from "../core/schemas/machine.js";
import type { AgentApi } from "./api.js";
import { verifyArtifact } from "./deploy/verify.js";
import { writeFileAtomic } from "./fsutil.js";
import { prune } from "./layout.js";

export interface ArtifactSourceOptions {
  api: Pick<AgentApi, "download">;
  cacheDir: string;
  /** The console's signing key (PEM), pinned at enrollment. */
  signingKey: string;
  log: Logger;
  /** Verified artifacts kept per service in the cache (default 12). */
  keepPerService?: number;
  /**
   * How long a download is tried again while the console is unreachable or answers 5xx
   * (restarting, failing over): default 60 s. A 4xx is not retried.
   */
  retryForMs?: number;
  /** First pause between tries (doubles up to 5 s; default 500 ms). */
  retryDelayMs?: number;
}

/**
 * Artifacts as the agent uses them: downloaded with the machine credential, checked
 * against the sha256 the desired state names and the console's signature before
 * anything is unpacked, and cached on disk (checked again when read back).
 */
export class ArtifactSource {
  constructor(private readonly opts: ArtifactSourceOptions) {}

  private file(service: string, kind: ArtifactKind, ref: ArtifactRef): string {
    return join(this.opts.cacheDir, service, `${kind}-${ref.version}-${ref.sha256}`);
  }

  /** The verified bytes of one artifact; throws `data_loss` on a hash or signature mismatch. */
  async get(service: string, kind: ArtifactKind, ref: ArtifactRef): Promise<Buffer> {
    const file = this.file(service, kind, ref);
    const cached = await readFile(file).catch(() => undefined);
    if (cached) {
      if (verifyArtifact(cached, ref, this.opts.signingKey).ok) return cached;
      this.opts.log.warn({ file }, "cached artifact fails verification: downloading it again");
      await rm(file, { force: true });
    }
    const bytes = await this.download(service, kind, ref.version);
    const v = verifyArtifact(bytes, ref, this.opts.signingKey);
    if (!v.ok) {
      const what = `${service} ${kind} version ${ref.version}`;
      throw new MsecError(
        "data_loss",
        v.reason === "hash_mismatch"
          ? `${what} refused: its bytes hash to ${sha256Hex(bytes)}, the desired state says ${ref.sha256}; nothing was unpacked`
          : `${what} refused: the signature is not the console's (signing key pinned at enrollment); nothing was unpacked`,
      );
    }
    await mkdir(join(this.opts.cacheDir, service), { recursive: true });
    await writeFileAtomic(file, bytes, 0o600).catch(() => {});
    return bytes;
  }

  /**
   * Download, trying again while the console is down or restarting: a change in flight
   * must not fail for good (it is not retried until the desired revision changes)
   * because the console was restarted in the middle of it.
   */
  private async download(service: string, kind: ArtifactKind, version: number): Promise<Buffer> {
    const until = Date.now() + (this.opts.retryForMs ?? 60_000);
    let delay = this.opts.retryDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.opts.api.download(service, kind, version);
      } catch (e) {
        const permanent =
          isMsecError(e) && ((e.status < 500 && e.status !== 429) || e.code === "canceled");
        if (permanent || Date.now() + delay > until) throw e;
        if (attempt === 1 || attempt % 10 === 0)
          this.opts.log.warn(
            { service, kind, version, attempt, err: (e as Error).message },
            "artifact download failed: trying again",
          );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /** Drop all but the newest cached artifacts of a service. */
  async prune(service: string): Promise<void> {
    await prune(join(this.opts.cacheDir, service), this.opts.keepPerService ?? 12, new Set());
  }
}
