import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { createParser } from "eventsource-parser";
import type { Logger } from "../../core/log.js";
import { ServiceView } from "../../core/schemas/naming.js";
import type { Endpoint } from "../balancer/types.js";
import { ConsoleApi } from "./console-api.js";

/** How long a starting client waits for the console before trusting its cached list. */
const CACHE_GRACE_MS = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export interface ResolverOptions {
  service: string;
  /** Console URL (default MSEC_CONSOLE). */
  console?: string;
  /** API token with at least the viewer role (default MSEC_TOKEN). */
  token?: string;
  /** Where the last known list is kept (default MSEC_CACHE_DIR or ~/.msec/cache). */
  cacheDir?: string;
  log?: Logger;
}

/** The instances a client may call, as last heard from the name service. */
export interface Resolution {
  endpoints: Endpoint[];
  /** From the disk cache or kept from before an empty answer, not confirmed live. */
  stale: boolean;
  revision: number;
}

/**
 * Follows one service's instance list: starts from the on-disk cache (so a client
 * starts and routes while the console is down), then watches the name service over
 * server-sent events and reconnects with backoff. Never trades a non-empty list for
 * an empty one: it keeps the last list and marks it stale.
 */
export class Resolver {
  private current: Resolution = { endpoints: [], stale: true, revision: 0 };
  private readonly listeners = new Set<(r: Resolution) => void>();
  private readonly api: ConsoleApi;
  private readonly cacheFile: string;
  private abort: AbortController | undefined;
  private stopped = false;
  private failures = 0;
  private firstList: Promise<void>;
  private resolveFirst!: () => void;
  /** Whether the console has answered since start (else we route from the cache). */
  private live = false;
  private readonly firstLive: Promise<void>;
  private resolveFirstLive!: () => void;

  constructor(private readonly opts: ResolverOptions) {
    const url = opts.console ?? process.env.MSEC_CONSOLE ?? "http://127.0.0.1:7700";
    this.api = new ConsoleApi(url, opts.token ?? process.env.MSEC_TOKEN);
    const dir = opts.cacheDir ?? process.env.MSEC_CACHE_DIR ?? join(homedir(), ".msec", "cache");
    this.cacheFile = join(dir, "naming", `${opts.service}.json`);
    this.firstList = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
    this.firstLive = new Promise((resolve) => {
      this.resolveFirstLive = resolve;
    });
  }

  get resolution(): Resolution {
    return this.current;
  }

  onChange(fn: (r: Resolution) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async start(): Promise<void> {
    await this.loadCache();
    void this.watchLoop();
  }

  /**
   * Wait until a list is known, at most `timeoutMs`. A cached list is used only if the
   * console does not answer within a short grace: a reachable console knows better.
   */
  async ready(timeoutMs: number): Promise<void> {
    if (this.live) return;
    const grace =
      this.current.endpoints.length > 0 ? Math.min(timeoutMs, CACHE_GRACE_MS) : timeoutMs;
    await Promise.race([this.firstLive, sleep(grace)]);
    if (this.live || this.current.endpoints.length > 0) return;
    await Promise.race([this.firstList, sleep(Math.max(0, timeoutMs - grace))]);
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  private async loadCache(): Promise<void> {
    try {
      const view = ServiceView.parse(JSON.parse(await readFile(this.cacheFile, "utf8")));
      this.apply(view, true);
      this.opts.log?.info(
        { service: this.opts.service, instances: this.current.endpoints.length },
        "routing from the cached instance list",
      );
    } catch {
      // No cache yet (or unreadable): wait for the console.
    }
  }

  private async watchLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.watchOnce();
      } catch (e) {
        if (this.stopped) return;
        this.failures++;
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.opts.log?.warn(
            { service: this.opts.service, err: (e as Error).message },
            "name service watch failed; routing from the last known list",
          );
        }
      }
      if (this.stopped) return;
      await new Promise((r) =>
        setTimeout(r, Math.min(10_000, 250 * 2 ** Math.min(this.failures, 6))).unref(),
      );
    }
  }

  private async watchOnce(): Promise<void> {
    this.abort = new AbortController();
    const q =
      this.current.revision > 0 && !this.current.stale ? `?revisions=${this.current.revision}` : "";
    const res = await fetch(
      `${this.api.base}/services/${encodeURIComponent(this.opts.service)}/watch${q}`,
      {
        headers: this.api.headers({ accept: "text/event-stream" }),
        signal: this.abort.signal,
      },
    );
    if (!res.ok || !res.body) throw new Error(`watch answered HTTP ${res.status}`);
    this.failures = 0;
    const parser = createParser({
      onEvent: (ev) => {
        if (ev.event !== "service") return;
        const view = ServiceView.safeParse(JSON.parse(ev.data));
        if (view.success && view.data.name === this.opts.service) this.apply(view.data, false);
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, { stream: true }));
    }
    throw new Error("watch stream ended");
  }

  private apply(view: ServiceView, fromCache: boolean): void {
    const endpoints = view.instances
      .filter((i) => !i.disabled && i.health === "healthy")
      .map((i) => ({ addr: i.addr, weight: i.weight, labels: i.labels }));
    if (endpoints.length === 0 && this.current.endpoints.length > 0) {
      this.opts.log?.warn(
        { service: this.opts.service },
        "name service lists no instance; keeping the last known list",
      );
      this.current = { ...this.current, stale: true, revision: view.revision };
    } else {
      this.current = { endpoints, stale: fromCache, revision: view.revision };
      if (!fromCache && endpoints.length > 0) void this.saveCache(view);
    }
    if (this.current.endpoints.length > 0) this.resolveFirst();
    if (!fromCache && !this.live) {
      this.live = true;
      this.resolveFirstLive();
    }
    for (const fn of this.listeners) fn(this.current);
  }

  private async saveCache(view: ServiceView): Promise<void> {
    try {
      await mkdir(join(this.cacheFile, ".."), { recursive: true });
      const tmp = `${this.cacheFile}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(view));
      await rename(tmp, this.cacheFile);
    } catch (e) {
      this.opts.log?.warn({ err: (e as Error).message }, "could not write the instance cache");
    }
  }
}
