/**
 * The name service's stateful edge: holds the registry in memory, loads it from the
 * store at start, writes each change through, batches heartbeat state to the store,
 * runs the eviction round every second, and tells watchers what changed.
 *
 * ```ts
 * const naming = createNamingService({ store, log, now: Date.now });
 * await naming.start();       // load, start timers
 * await naming.register("Demo.Echo", { addr: "10.0.0.7:8080", weight: 100, labels: {}, ttlSeconds: 15 });
 * await naming.stop();        // end watches, stop timers, last flush (before the store closes)
 * ```
 */
import { MsecError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type {
  HeartbeatRequest,
  HeartbeatResponse,
  Instance,
  RegisterInstanceRequest,
  ServiceSummary,
  ServiceView,
} from "../../core/schemas/naming.js";
import type { Store } from "../store/index.js";
import type { Db } from "../store/schema.js";
import { DEFAULT_NAMING_OPTIONS, type NamingOptions } from "./options.js";
import {
  emptyRegistry,
  findInstance,
  heartbeat,
  type InstanceState,
  putInstance,
  putService,
  type Registry,
  registration,
  removeInstance,
  removeService,
  summaryOf,
  sweep,
  toInstance,
  viewOf,
  withDisabled,
  withWeightOverride,
} from "./registry.js";
import {
  deleteInstances,
  deleteService,
  insertService,
  loadInstances,
  loadServices,
  readRevision,
  setRecentEvictions,
  updateSeen,
  upsertInstance,
  writeRevision,
} from "./repo.js";
import { createWatchHub, type WatchHub } from "./watch.js";

/** Writes the audit entry of a person's change, inside the change's transaction. */
export type AuditHook = (tx: Db, now: number, details: Record<string, unknown>) => Promise<void>;

/** A service with its description: the answer of `GET /services/:name`. */
export type ServiceDetail = ServiceView & { description: string; createdAt: string };

export interface NamingService {
  /** Load the registry from the store and start the timers. */
  start(): Promise<void>;
  /** End watch streams, stop the timers, write what is pending. Call before the store closes. */
  stop(): Promise<void>;
  readonly watches: WatchHub;

  listServices(): ServiceSummary[];
  getService(name: string): ServiceDetail;
  /** The instance list of a known service. */
  view(name: string): ServiceView;
  createService(
    s: { name: string; description: string },
    audit: AuditHook,
  ): Promise<ServiceSummary>;
  deleteService(name: string, force: boolean, audit: AuditHook): Promise<void>;

  register(service: string, req: RegisterInstanceRequest): Promise<Instance>;
  deregister(service: string, addr: string): Promise<void>;
  heartbeat(beats: HeartbeatRequest["beats"]): HeartbeatResponse;
  setWeight(service: string, addr: string, weight: number, audit: AuditHook): Promise<Instance>;
  setDisabled(
    service: string,
    addr: string,
    disabled: boolean,
    audit: AuditHook,
  ): Promise<Instance>;

  /** Run an eviction round now (the timer does it every second). */
  sweepNow(): Promise<void>;
  /** Write pending heartbeat state now (the timer does it every ~2 s). */
  flushNow(): Promise<void>;
}

export interface NamingDeps {
  store: Store;
  log: Logger;
  now(): number;
}

export function createNamingService(
  deps: NamingDeps,
  options: Partial<NamingOptions> = {},
): NamingService {
  const opts: NamingOptions = { ...DEFAULT_NAMING_OPTIONS, ...options };
  const { store, now } = deps;
  const log = deps.log.child({ part: "naming" });
  let reg: Registry = emptyRegistry();
  /** Instances whose lastSeen or health moved since the last flush. */
  const dirty = new Set<InstanceState>();
  let writtenSeq = 0;
  let timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const watches = createWatchHub((name) => viewOf(reg, name), {
    coalesceMs: opts.coalesceMs,
    pingMs: opts.pingMs,
  });

  // Changes that write the store run one at a time, so the registry and the store
  // agree on their order. Heartbeats only touch memory and do not queue here.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  function requireService(name: string) {
    const svc = reg.services.get(name);
    if (!svc) throw new MsecError("not_found", `no service named "${name}"`);
    return svc;
  }

  function requireInstance(service: string, addr: string): InstanceState {
    requireService(service);
    const inst = findInstance(reg, service, addr);
    if (!inst) throw new MsecError("not_found", `service ${service} has no instance ${addr}`);
    return inst;
  }

  async function flush(): Promise<void> {
    const rows: InstanceState[] = [];
    for (const inst of dirty) {
      // Skip instances removed or replaced (a re-registration wrote its own row).
      if (findInstance(reg, inst.service, inst.addr) === inst) rows.push(inst);
    }
    dirty.clear();
    const seq = reg.seq;
    if (rows.length === 0 && seq === writtenSeq) return;
    const snapshot = rows.map((i) => ({
      service: i.service,
      addr: i.addr,
      lastSeen: i.lastSeen,
      health: i.health,
    }));
    try {
      await store.transaction(async (tx) => {
        if (snapshot.length > 0) await updateSeen(tx, snapshot);
        if (seq !== writtenSeq) await writeRevision(tx, seq, now());
      });
      writtenSeq = seq;
    } catch (err) {
      for (const inst of rows) dirty.add(inst);
      log.warn({ err, instances: rows.length }, "could not write heartbeat state; will retry");
    }
  }

  async function sweepRound(): Promise<void> {
    const t = now();
    const outcomes = sweep(reg, t, opts.protection);
    if (outcomes.length === 0) return;
    for (const o of outcomes) {
      const svc = reg.services.get(o.service);
      const listed = svc?.instances.size ?? 0;
      if (o.evicted.length > 0) {
        log.warn(
          {
            service: o.service,
            evicted: o.evicted.map((i) => i.addr),
            listed,
            lastSeen: o.evicted.map((i) => new Date(i.lastSeen).toISOString()),
          },
          `evicted ${o.evicted.length} instance(s) of ${o.service}: no heartbeat within their TTL`,
        );
      }
      if (o.protectionChanged) {
        if (o.plan.keep.length > 0) {
          log.warn(
            {
              service: o.service,
              protected: o.plan.keep.map((i) => i.addr),
              listed,
              baseline: o.plan.baseline,
              floor: o.plan.floor,
            },
            `protection: keeping ${o.plan.keep.length} of ${listed} instance(s) of ${o.service} past their TTL ` +
              `(eviction stops at ${o.plan.floor} of a baseline of ${o.plan.baseline})`,
          );
        } else {
          log.info({ service: o.service, listed }, `protection over for ${o.service}`);
        }
      }
      if (o.evicted.length > 0 || o.protectionChanged) watches.notify(o.service);
    }
    try {
      await store.transaction(async (tx) => {
        for (const o of outcomes) {
          const svc = reg.services.get(o.service);
          if (o.evicted.length > 0) {
            await deleteInstances(
              tx,
              o.service,
              o.evicted.map((i) => i.addr),
            );
          }
          if (svc && o.evictionsChanged) await setRecentEvictions(tx, o.service, svc.evictions);
        }
      });
    } catch (err) {
      log.error({ err }, "could not write evictions to the store");
    }
  }

  function every(ms: number, what: string, fn: () => Promise<void>): NodeJS.Timeout {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      serial(fn)
        .catch((err) => log.error({ err }, `${what} failed`))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    return timer;
  }

  return {
    watches,

    async start() {
      const startedAt = now();
      const [services, instances, storedSeq] = [
        await loadServices(store.db),
        await loadInstances(store.db),
        await readRevision(store.db),
      ];
      // Revisions continue from the stored one or the clock, whichever is ahead, so a
      // client never sees an old revision number reused after a restart.
      reg = emptyRegistry(Math.max(storedSeq, startedAt));
      for (const s of services) putService(reg, s).evictions = s.evictions;
      for (const inst of instances) {
        // After a console restart or outage, every instance gets a full TTL to beat again.
        inst.lastSeen = Math.max(inst.lastSeen, startedAt);
        putInstance(reg, inst);
      }
      await writeRevision(store.db, reg.seq, startedAt);
      writtenSeq = reg.seq;
      timers = [
        every(opts.sweepIntervalMs, "eviction round", sweepRound),
        every(opts.flushIntervalMs, "heartbeat flush", flush),
      ];
      log.info(
        {
          services: services.length,
          instances: instances.length,
          protection: opts.protection,
        },
        "name service loaded",
      );
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      timers = [];
      watches.closeAll();
      await serial(flush);
    },

    listServices() {
      return [...reg.services.values()]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(summaryOf);
    },

    getService(name) {
      const svc = requireService(name);
      return {
        ...viewOf(reg, name),
        description: svc.description,
        createdAt: new Date(svc.createdAt).toISOString(),
      };
    },

    view(name) {
      requireService(name);
      return viewOf(reg, name);
    },

    createService(s, audit) {
      return serial(async () => {
        if (reg.services.has(s.name)) {
          throw new MsecError("already_exists", `a service named "${s.name}" already exists`, {
            field: "body.name",
          });
        }
        const t = now();
        const stored = { ...s, createdAt: t, evictions: [] };
        await store.transaction(async (tx) => {
          await insertService(tx, stored);
          await audit(tx, t, { description: s.description });
        });
        const svc = putService(reg, stored);
        watches.notify(s.name);
        log.info({ service: s.name }, `service ${s.name} created`);
        return summaryOf(svc);
      });
    },

    deleteService(name, force, audit) {
      return serial(async () => {
        const svc = requireService(name);
        const n = svc.instances.size;
        if (n > 0 && !force) {
          throw new MsecError(
            "failed_precondition",
            `service ${name} still has ${n} instance(s): deregister them first, or delete with force=true`,
          );
        }
        const t = now();
        await store.transaction(async (tx) => {
          await deleteService(tx, name);
          await audit(tx, t, { instances: n, force });
        });
        removeService(reg, name);
        watches.notify(name);
        log.info({ service: name, instances: n }, `service ${name} deleted`);
      });
    },

    register(service, req) {
      return serial(async () => {
        const t = now();
        const existed = findInstance(reg, service, req.addr) !== undefined;
        const newService = !reg.services.has(service);
        const next = registration(reg, service, req, t);
        await store.transaction(async (tx) => {
          if (newService) {
            await insertService(tx, {
              name: service,
              description: "",
              createdAt: t,
              evictions: [],
            });
          }
          await upsertInstance(tx, next);
        });
        const { changed } = putInstance(reg, next);
        if (changed) watches.notify(service);
        log.info(
          {
            service,
            addr: req.addr,
            weight: req.weight,
            labels: req.labels,
            ttlSeconds: req.ttlSeconds,
            newService,
          },
          existed
            ? `instance ${req.addr} of ${service} re-registered`
            : `instance ${req.addr} of ${service} registered`,
        );
        return toInstance(next);
      });
    },

    deregister(service, addr) {
      return serial(async () => {
        requireInstance(service, addr);
        await deleteInstances(store.db, service, [addr]);
        removeInstance(reg, service, addr, now(), false);
        watches.notify(service);
        log.info({ service, addr }, `instance ${addr} of ${service} deregistered`);
      });
    },

    heartbeat(beats) {
      const r = heartbeat(reg, beats, now());
      for (const inst of r.seen) dirty.add(inst);
      for (const name of r.changed) watches.notify(name);
      for (const inst of r.revived) {
        log.info(
          { service: inst.service, addr: inst.addr },
          `instance ${inst.addr} of ${inst.service} is beating again (was kept by protection)`,
        );
      }
      if (r.unknown.length > 0) {
        log.info(
          { unknown: r.unknown.length, first: r.unknown[0] },
          "heartbeats from unregistered instances: told to re-register",
        );
      }
      return { unknown: r.unknown };
    },

    setWeight(service, addr, weight, audit) {
      return serial(async () => {
        const inst = requireInstance(service, addr);
        const from = inst.weightOverride ?? inst.weight;
        const t = now();
        await store.transaction(async (tx) => {
          await upsertInstance(tx, withWeightOverride(inst, weight));
          await audit(tx, t, { from, to: weight, registered: inst.weight });
        });
        // Heartbeats may have moved the instance meanwhile: change the current one.
        const next = withWeightOverride(requireInstance(service, addr), weight);
        if (putInstance(reg, next).changed) watches.notify(service);
        return toInstance(next);
      });
    },

    setDisabled(service, addr, disabled, audit) {
      return serial(async () => {
        const inst = requireInstance(service, addr);
        const t = now();
        await store.transaction(async (tx) => {
          await upsertInstance(tx, withDisabled(inst, disabled));
          await audit(tx, t, { from: inst.disabled, to: disabled });
        });
        const next = withDisabled(requireInstance(service, addr), disabled);
        if (putInstance(reg, next).changed) watches.notify(service);
        return toInstance(next);
      });
    },

    sweepNow() {
      return serial(sweepRound);
    },

    flushNow() {
      return serial(flush);
    },
  };
}
