import { isMsecError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { countPoints, mergeBodies, type RelayBody } from "./merge.js";
import type { Spool, SpoolFile } from "./spool.js";

export interface PumpResult {
  /** Nothing is left to send. */
  done: boolean;
  /** Why a send failed (the console is down, most likely). */
  failed?: string;
}

export interface OutboxOptions {
  spool: Spool;
  /** Post one body to the console; throws when it did not get there. */
  send(body: RelayBody): Promise<void>;
  /** Bodies kept in memory; beyond, the oldest go to the spool (merged, so a few lines). */
  maxMemory: number;
  /** Spool size past which the oldest files are dropped (logged as lost). */
  maxSpoolBytes: number;
  log?: Logger;
}

/**
 * The bodies not yet delivered, oldest first: spool files (all older), then memory.
 * Delivery keeps that order, so the console's last value for each key is the newest.
 * One `pump()` at a time; each takes new bodies in, spills, and (if asked) sends until
 * a send fails. A part sent before a failure is sent again next time: harmless, the
 * console replaces, and nothing newer went out in between.
 */
export class Outbox {
  private readonly incoming: RelayBody[] = [];
  private memory: RelayBody[] = [];
  private files: SpoolFile[] = [];
  private running: Promise<unknown> = Promise.resolve();
  /** Points given up on (spool over its cap); a test or an operator reads it. */
  dropped = 0;

  constructor(private readonly opts: OutboxOptions) {}

  /** Pick up the files a previous run left. */
  async load(): Promise<void> {
    this.files = await this.opts.spool.list();
    if (this.files.length > 0)
      this.opts.log?.info(
        { files: this.files.length, bytes: this.spoolBytes },
        "metric batches left in the spool; sending them first",
      );
  }

  enqueue(bodies: readonly RelayBody[]): void {
    this.incoming.push(...bodies);
  }

  get pending(): { memory: number; files: number; spoolBytes: number } {
    return {
      memory: this.memory.length + this.incoming.length,
      files: this.files.length,
      spoolBytes: this.spoolBytes,
    };
  }

  get empty(): boolean {
    return this.incoming.length === 0 && this.memory.length === 0 && this.files.length === 0;
  }

  /**
   * Take new bodies in, spill past the memory bound, then send if `send`. `failed` says
   * why a send failed; `done` that nothing is left.
   */
  pump(send: boolean): Promise<PumpResult> {
    const run = this.running.then(() => this.pumpNow(send));
    this.running = run.then(
      () => true,
      () => false,
    );
    return run;
  }

  /** At shutdown: everything still in memory goes to the spool. */
  persist(): Promise<boolean> {
    const run = this.running.then(async () => {
      this.memory.push(...this.incoming.splice(0));
      if (this.memory.length > 0) await this.spill(this.memory.length);
      return this.memory.length === 0;
    });
    this.running = run.then(
      () => true,
      () => false,
    );
    return run;
  }

  private async pumpNow(send: boolean): Promise<PumpResult> {
    this.memory.push(...this.incoming.splice(0));
    if (this.memory.length > this.opts.maxMemory)
      await this.spill(this.memory.length - Math.floor(this.opts.maxMemory / 2));
    if (!send) return { done: this.empty };
    while (this.files.length > 0) {
      const file = this.files[0] as SpoolFile;
      let bodies: RelayBody[];
      try {
        bodies = await this.opts.spool.read(file);
      } catch (e) {
        // Gone or unreadable (removed by hand?): nothing to send from it, go on.
        this.opts.log?.error(
          { file: file.name, err: (e as Error).message },
          "cannot read spool file",
        );
        this.files.shift();
        continue;
      }
      const failed = await this.sendAll(mergeBodies(bodies));
      if (failed !== undefined) return { done: false, failed };
      await this.opts.spool.remove(file);
      this.files.shift();
    }
    if (this.memory.length > 0) {
      const n = this.memory.length;
      const failed = await this.sendAll(mergeBodies(this.memory.slice(0, n)));
      if (failed !== undefined) return { done: false, failed };
      this.memory.splice(0, n);
    }
    return { done: this.empty };
  }

  /** Send in order; stop at the first failure and say why. */
  private async sendAll(bodies: readonly RelayBody[]): Promise<string | undefined> {
    for (const body of bodies) {
      try {
        await this.opts.send(body);
      } catch (e) {
        // The console stored the good points and named the bad ones (or refuses the size
        // for good): sending it again would block everything behind it.
        if (isMsecError(e) && (e.code === "invalid_argument" || e.code === "payload_too_large")) {
          this.opts.log?.warn({ err: e.message }, "console refused metric points; not resending");
          continue;
        }
        return (e as Error).message;
      }
    }
    return undefined;
  }

  /** The oldest `count` bodies of memory to one new spool file (merged first). */
  private async spill(count: number): Promise<void> {
    const oldest = this.memory.slice(0, count);
    let file: SpoolFile;
    try {
      file = await this.opts.spool.write(mergeBodies(oldest));
    } catch (e) {
      // A full or broken disk: keep them in memory rather than lose them.
      this.opts.log?.error({ err: (e as Error).message }, "cannot spool metric batches");
      return;
    }
    this.memory.splice(0, count);
    this.files.push(file);
    while (this.spoolBytes > this.opts.maxSpoolBytes && this.files.length > 1) {
      const old = this.files.shift() as SpoolFile;
      const lost = (await this.opts.spool.read(old)).reduce((n, b) => n + countPoints(b), 0);
      await this.opts.spool.remove(old);
      this.dropped += lost;
      this.opts.log?.error(
        { file: old.name, points: lost, maxSpoolBytes: this.opts.maxSpoolBytes },
        "metric spool is full: dropped its oldest file",
      );
    }
  }

  private get spoolBytes(): number {
    return this.files.reduce((n, f) => n + f.bytes, 0);
  }
}
