/**
 * Keep a lease held: take it, renew it every `renewMs`, and say whether it is safe to
 * do the lease's work right now. A holder counts the lease as its own only until a
 * safety margin before it would run out, measured from the moment it *asked* for it,
 * so a slow store or a pause cannot leave two holders working at once.
 *
 * ```ts
 * const lease = createLeaseKeeper(storeLeases(store.db), { name: "alarm-evaluator", holder, now: Date.now });
 * await lease.start();           // first try, then renewals
 * if (lease.holds()) doTheWork();
 * await lease.stop();            // stop renewing and release
 * ```
 */

import type { Db } from "../store/schema.js";
import { acquireLease, releaseLease } from "./repo.js";

/** Where leases live: the store, or a fake in tests. */
export interface LeaseBackend {
  acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
}

export function storeLeases(db: Db): LeaseBackend {
  return {
    acquire: (name, holder, now, ttlMs) => acquireLease(db, name, holder, now, ttlMs),
    release: async (name, holder) => {
      await releaseLease(db, name, holder);
    },
  };
}

export interface LeaseOptions {
  name: string;
  holder: string;
  now(): number;
  /** How long a grant lasts (default 30 s). */
  ttlMs?: number;
  /** How often to renew (default 10 s). */
  renewMs?: number;
  /** Stop counting the lease as held this long before it runs out (default: a third of the TTL). */
  marginMs?: number;
  onChange?(held: boolean): void;
  onError?(err: unknown): void;
}

export interface LeaseKeeper {
  readonly name: string;
  readonly holder: string;
  /** Try to take or renew the lease now. */
  renew(): Promise<boolean>;
  /** Safe to do the lease's work now. */
  holds(): boolean;
  /** First renewal, then one every `renewMs`. */
  start(): Promise<void>;
  /** Stop renewing and give the lease up. */
  stop(): Promise<void>;
}

/**
 * The pure rule: after asking at `askedAt` and being granted, the lease is ours until
 * `askedAt + ttl`; we act on it until `margin` before that.
 */
export function heldUntil(askedAt: number, ttlMs: number, marginMs: number): number {
  return askedAt + ttlMs - marginMs;
}

export function createLeaseKeeper(backend: LeaseBackend, opts: LeaseOptions): LeaseKeeper {
  const ttlMs = opts.ttlMs ?? 30_000;
  const renewMs = opts.renewMs ?? 10_000;
  const marginMs = opts.marginMs ?? Math.floor(ttlMs / 3);
  let until = 0;
  let held = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let stopped = false;

  const setHeld = (h: boolean) => {
    if (h !== held) {
      held = h;
      opts.onChange?.(h);
    }
  };

  async function attempt(): Promise<boolean> {
    if (stopped) return false;
    const askedAt = opts.now();
    try {
      const granted = await backend.acquire(opts.name, opts.holder, askedAt, ttlMs);
      until = granted ? heldUntil(askedAt, ttlMs, marginMs) : 0;
    } catch (err) {
      // Keep what we had: it runs out on its own at `until`.
      opts.onError?.(err);
    }
    setHeld(opts.now() < until);
    return opts.now() < until;
  }

  const keeper: LeaseKeeper = {
    name: opts.name,
    holder: opts.holder,
    renew() {
      // One attempt at a time; callers that come meanwhile share its answer.
      running ??= attempt().finally(() => {
        running = undefined;
      });
      return running;
    },
    holds() {
      return !stopped && opts.now() < until;
    },
    async start() {
      stopped = false;
      await keeper.renew();
      timer = setInterval(() => void keeper.renew(), renewMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
      stopped = true;
      const had = until > 0;
      until = 0;
      setHeld(false);
      if (had) {
        try {
          await backend.release(opts.name, opts.holder);
        } catch (err) {
          opts.onError?.(err);
        }
      }
    },
  };
  return keeper;
}
