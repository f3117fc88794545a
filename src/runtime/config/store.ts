import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../core/digest.js";
import { MsecError } from "../../core/errors.js";
import { createLogger, type Logger } from "../../core/log.js";

/** How the store reads its folder; injected in tests. */
export interface ConfigFs {
  /** The file's text, or undefined when there is no such file. */
  read(path: string): string | undefined;
  /** The names of the regular files in the folder ([] when there is no folder). */
  list(dir: string): string[];
}

export type ConfigListener = (names: string[]) => void | Promise<void>;

export interface ConfigStoreOptions {
  /** The config folder (default MSEC_CONFIG_DIR, read at each use: the agent's `config` link). */
  dir?: string;
  fs?: ConfigFs;
  log?: Logger;
}

/** What a reload found and did. */
export interface ReloadResult {
  /** Listeners called (0: nobody listens, so the caller should restart the process instead). */
  listeners: number;
  /** Files added, removed or changed since the last read, sorted. */
  changed: string[];
  /** Listeners that threw. */
  failed: number;
}

/** A plain file name: no folder, no hidden file, nothing that climbs out of the folder. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

export const nodeConfigFs: ConfigFs = {
  read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new MsecError(
        "unavailable",
        `cannot read config file ${path}: ${(e as Error).message}`,
      );
    }
  },
  list(dir) {
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  },
};

/**
 * A service's config files: `<dir>/<name>`, read once and cached until the agent says
 * they changed (`POST /_msec/config` → `reload()`), which also tells the listeners
 * which files changed.
 *
 *   const limits = config.json<{ rps: number }>("limits.json");
 *   config.onChange((names) => { if (names.includes("limits.json")) apply(); });
 */
export class ConfigStore {
  private readonly cache = new Map<string, string | undefined>();
  private readonly parsed = new Map<string, unknown>();
  private readonly listeners = new Set<ConfigListener>();
  /** Content hash per file as last seen: what a reload compares against. */
  private seen: Map<string, string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private log: Logger | undefined;

  constructor(private readonly opts: ConfigStoreOptions = {}) {
    this.log = opts.log;
  }

  /** The folder read, or undefined when there is none (a process not run by an agent). */
  get dir(): string | undefined {
    return this.opts.dir ?? process.env.MSEC_CONFIG_DIR ?? undefined;
  }

  /** The text of config file `name`, or undefined when it does not exist. */
  get(name: string): string | undefined {
    checkName(name);
    if (this.cache.has(name)) return this.cache.get(name);
    const dir = this.dir;
    this.snapshot();
    const text = dir === undefined ? undefined : this.fs.read(join(dir, name));
    this.cache.set(name, text);
    return text;
  }

  /** Config file `name` parsed as JSON, or undefined when it does not exist. */
  json<T>(name: string): T | undefined {
    if (this.parsed.has(name)) return this.parsed.get(name) as T;
    const text = this.get(name);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new MsecError(
        "invalid_argument",
        `config file ${name} is not valid JSON: ${(e as Error).message}`,
        { field: name },
      );
    }
    this.parsed.set(name, value);
    return value as T;
  }

  /** Call `cb` with the changed file names after each change; returns the unsubscribe. */
  onChange(cb: ConfigListener): () => void {
    this.snapshot();
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  /**
   * The files may have changed (the agent switched the link): forget the cache, work out
   * which files differ from what was last seen, and await each listener in turn (errors
   * are logged and counted). Reloads run one at a time.
   */
  reload(): Promise<ReloadResult> {
    const next = this.queue.then(() => this.reloadNow());
    this.queue = next.catch(() => {});
    return next;
  }

  private async reloadNow(): Promise<ReloadResult> {
    const before = this.seen;
    this.seen = undefined;
    this.cache.clear();
    this.parsed.clear();
    const after = this.snapshot();
    const changed = diff(before ?? new Map(), after);
    const listeners = [...this.listeners];
    let failed = 0;
    if (changed.length > 0) {
      for (const cb of listeners) {
        try {
          await cb([...changed]);
        } catch (e) {
          failed++;
          this.logger.error(
            { err: (e as Error).message, changed },
            "a config change listener failed",
          );
        }
      }
    }
    this.logger.info({ changed, listeners: listeners.length, failed }, "config reloaded");
    return { listeners: listeners.length, changed, failed };
  }

  private get fs(): ConfigFs {
    return this.opts.fs ?? nodeConfigFs;
  }

  private get logger(): Logger {
    this.log ??= createLogger({
      name: "config",
      level: (process.env.MSEC_LOG_LEVEL as "info") ?? "info",
    });
    return this.log;
  }

  /** Note what the folder holds now (the server does at start): the first reload compares against it. */
  prime(): void {
    this.snapshot();
  }

  /** The hashes of the folder's files, taken at first use so a later reload has a "before". */
  private snapshot(): Map<string, string> {
    if (this.seen) return this.seen;
    const seen = new Map<string, string>();
    const dir = this.dir;
    if (dir !== undefined) {
      for (const name of this.fs.list(dir)) {
        if (!FILE_NAME.test(name)) continue;
        const text = this.fs.read(join(dir, name));
        if (text !== undefined) seen.set(name, sha256Hex(text));
      }
    }
    this.seen = seen;
    return seen;
  }
}

/** Names whose content differs (added, removed or changed), sorted. */
export function diff(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>) {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((n) => before.get(n) !== after.get(n)).sort();
}

function checkName(name: string): void {
  if (typeof name !== "string" || !FILE_NAME.test(name))
    throw new MsecError(
      "invalid_argument",
      `config name "${String(name).slice(0, 60)}" must be a plain file name (letters, digits, . _ -; not starting with a dot)`,
      { field: "name" },
    );
}

/** The process's config, like `metrics`: `config.get("db.json")`. */
export const config = new ConfigStore();
