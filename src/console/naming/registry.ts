/**
 * The name service's state and rules, with no I/O and no clock: services, their
 * instances, revisions, TTL expiry and the eviction protection. The caller (service.ts)
 * passes `now` in, persists what changed and tells watchers.
 *
 * ```ts
 * const reg = emptyRegistry();
 * putInstance(reg, registration(reg, "Demo.Echo", { addr: "10.0.0.7:8080", weight: 100, labels: {}, ttlSeconds: 15 }, now));
 * const round = sweep(reg, now + 20_000, DEFAULT_PROTECTION); // evicts, or keeps and flags
 * ```
 */
import type {
  Instance,
  InstanceHealth,
  Labels,
  RegisterInstanceRequest,
  ServiceSummary,
  ServiceView,
} from "../../core/schemas/naming.js";

export interface InstanceState {
  service: string;
  addr: string;
  /** The weight the instance registered with. */
  weight: number;
  /** An operator's weight, kept across re-registrations; null when none. */
  weightOverride: number | null;
  labels: Labels;
  health: InstanceHealth;
  disabled: boolean;
  ttlMs: number;
  registeredAt: number;
  lastSeen: number;
  /** Expired, but kept by the protection threshold. */
  protected: boolean;
}

export interface ServiceState {
  name: string;
  description: string;
  createdAt: number;
  revision: number;
  /** Keyed by addr. */
  instances: Map<string, InstanceState>;
  /** When instances of this service were evicted (inside the protection window). */
  evictions: number[];
}

export interface Registry {
  services: Map<string, ServiceState>;
  /** The last revision handed out: revisions come from one counter, so none is reused. */
  seq: number;
  /** Last revision of deleted services, so their watchers still see revisions grow. */
  tombstones: Map<string, number>;
}

/** How far eviction may thin out a service: see `planSweep`. */
export interface ProtectionPolicy {
  /** Fraction of the baseline that eviction never goes below (0..1). */
  threshold: number;
  /** How long an eviction counts towards the baseline. */
  windowMs: number;
}

export const DEFAULT_PROTECTION: ProtectionPolicy = { threshold: 0.5, windowMs: 10 * 60 * 1000 };

export function emptyRegistry(seq = 0): Registry {
  return { services: new Map(), seq, tombstones: new Map() };
}

function bump(reg: Registry, svc: ServiceState): void {
  reg.seq += 1;
  svc.revision = reg.seq;
}

/** Add a service with no instances. The caller checks it does not exist yet. */
export function putService(
  reg: Registry,
  s: { name: string; description: string; createdAt: number },
): ServiceState {
  const existing = reg.services.get(s.name);
  if (existing) {
    existing.description = s.description;
    return existing;
  }
  const svc: ServiceState = { ...s, revision: 0, instances: new Map(), evictions: [] };
  reg.services.set(s.name, svc);
  reg.tombstones.delete(s.name);
  bump(reg, svc);
  return svc;
}

/** Remove a service and all its instances. */
export function removeService(reg: Registry, name: string): ServiceState | undefined {
  const svc = reg.services.get(name);
  if (!svc) return undefined;
  reg.services.delete(name);
  reg.seq += 1;
  reg.tombstones.set(name, reg.seq);
  return svc;
}

export function findInstance(
  reg: Registry,
  service: string,
  addr: string,
): InstanceState | undefined {
  return reg.services.get(service)?.instances.get(addr);
}

/**
 * What an instance looks like after (re-)registering: fresh weight, labels and TTL,
 * live again, but an operator's weight override and disabled flag are kept.
 */
export function registration(
  reg: Registry,
  service: string,
  req: RegisterInstanceRequest,
  now: number,
): InstanceState {
  const old = findInstance(reg, service, req.addr);
  return {
    service,
    addr: req.addr,
    weight: req.weight,
    weightOverride: old?.weightOverride ?? null,
    labels: req.labels,
    health: "healthy",
    disabled: old?.disabled ?? false,
    ttlMs: req.ttlSeconds * 1000,
    registeredAt: old?.registeredAt ?? now,
    lastSeen: now,
    protected: false,
  };
}

/**
 * Put an instance in (new or replacing), creating its service when missing (with
 * `createdAt` = the instance's registeredAt). Returns whether the service's list changed.
 */
export function putInstance(reg: Registry, inst: InstanceState): { changed: boolean } {
  const svc =
    reg.services.get(inst.service) ??
    putService(reg, { name: inst.service, description: "", createdAt: inst.lastSeen });
  const old = svc.instances.get(inst.addr);
  svc.instances.set(inst.addr, inst);
  const changed = !old || !sameListing(old, inst);
  if (changed) bump(reg, svc);
  return { changed };
}

/** Remove one instance. `evicted` counts it towards the protection baseline. */
export function removeInstance(
  reg: Registry,
  service: string,
  addr: string,
  now: number,
  evicted: boolean,
): InstanceState | undefined {
  const svc = reg.services.get(service);
  const inst = svc?.instances.get(addr);
  if (!svc || !inst) return undefined;
  svc.instances.delete(addr);
  if (evicted) svc.evictions.push(now);
  bump(reg, svc);
  return inst;
}

export interface Beat {
  service: string;
  addr: string;
  health: InstanceHealth;
}

export interface BeatResult {
  /** Beats for instances the registry does not hold. */
  unknown: { service: string; addr: string }[];
  /** Instances whose lastSeen moved (to persist later). */
  seen: InstanceState[];
  /** Services whose list changed (a health change, or a protected instance back). */
  changed: Set<string>;
  /** Instances that were kept by protection and are live again. */
  revived: InstanceState[];
}

/** Heartbeats: move lastSeen, take the reported health; a protected instance is simply live again. */
export function heartbeat(reg: Registry, beats: readonly Beat[], now: number): BeatResult {
  const result: BeatResult = { unknown: [], seen: [], changed: new Set(), revived: [] };
  for (const b of beats) {
    const svc = reg.services.get(b.service);
    const inst = svc?.instances.get(b.addr);
    if (!svc || !inst) {
      result.unknown.push({ service: b.service, addr: b.addr });
      continue;
    }
    if (now > inst.lastSeen) inst.lastSeen = now;
    result.seen.push(inst);
    let changed = false;
    if (inst.health !== b.health) {
      inst.health = b.health;
      changed = true;
    }
    if (inst.protected) {
      inst.protected = false;
      result.revived.push(inst);
      changed = true;
    }
    if (changed) {
      bump(reg, svc);
      result.changed.add(svc.name);
    }
  }
  return result;
}

/** Set or clear (null) an operator's weight override. */
export function withWeightOverride(inst: InstanceState, weight: number | null): InstanceState {
  return { ...inst, weightOverride: weight };
}

export function withDisabled(inst: InstanceState, disabled: boolean): InstanceState {
  return { ...inst, disabled };
}

export function isExpired(inst: InstanceState, now: number): boolean {
  return now > inst.lastSeen + inst.ttlMs;
}

export interface SweepPlan {
  /** Expired instances to evict, least recently seen first. */
  evict: InstanceState[];
  /** Expired instances kept by protection. */
  keep: InstanceState[];
  /** The fewest instances eviction may leave listed. */
  floor: number;
  baseline: number;
}

/**
 * The eviction decision for one service. Expired instances go least recently seen
 * first, but never below `ceil(threshold × baseline)` listed instances, where
 * baseline = listed now + evicted within the protection window. So a mass expiry
 * (the console's own network trouble) evicts at most half, what is kept decays one
 * window at a time, and eviction alone never empties a service.
 */
export function planSweep(svc: ServiceState, now: number, policy: ProtectionPolicy): SweepPlan {
  const expired: InstanceState[] = [];
  for (const inst of svc.instances.values()) if (isExpired(inst, now)) expired.push(inst);
  const recent = svc.evictions.filter((t) => t > now - policy.windowMs).length;
  const listed = svc.instances.size;
  const baseline = listed + recent;
  const floor = Math.ceil(policy.threshold * baseline);
  if (expired.length === 0) return { evict: [], keep: [], floor, baseline };
  expired.sort((a, b) => a.lastSeen - b.lastSeen || a.addr.localeCompare(b.addr));
  const room = Math.max(0, Math.min(expired.length, listed - floor));
  return { evict: expired.slice(0, room), keep: expired.slice(room), floor, baseline };
}

export interface SweepOutcome {
  service: string;
  plan: SweepPlan;
  evicted: InstanceState[];
  /** True when the set of protected instances changed this round. */
  protectionChanged: boolean;
  /** Whether eviction timestamps outside the window were dropped, or new ones added. */
  evictionsChanged: boolean;
}

/** One eviction round over every service: evicts, flags what protection keeps. */
export function sweep(reg: Registry, now: number, policy: ProtectionPolicy): SweepOutcome[] {
  const out: SweepOutcome[] = [];
  for (const svc of reg.services.values()) {
    const before = svc.evictions.length;
    svc.evictions = svc.evictions.filter((t) => t > now - policy.windowMs);
    let evictionsChanged = svc.evictions.length !== before;
    const plan = planSweep(svc, now, policy);
    const kept = new Set(plan.keep);
    let protectionChanged = false;
    for (const inst of svc.instances.values()) {
      const flag = kept.has(inst);
      if (inst.protected !== flag) {
        inst.protected = flag;
        protectionChanged = true;
      }
    }
    for (const inst of plan.evict) {
      svc.instances.delete(inst.addr);
      svc.evictions.push(now);
      evictionsChanged = true;
    }
    if (plan.evict.length > 0 || protectionChanged) bump(reg, svc);
    if (plan.evict.length > 0 || protectionChanged || evictionsChanged) {
      out.push({
        service: svc.name,
        plan,
        evicted: plan.evict,
        protectionChanged,
        evictionsChanged,
      });
    }
  }
  return out;
}

/** Whether two states of an instance look the same to a client (lastSeen and TTL aside). */
function sameListing(a: InstanceState, b: InstanceState): boolean {
  return (
    a.weight === b.weight &&
    a.weightOverride === b.weightOverride &&
    a.health === b.health &&
    a.disabled === b.disabled &&
    a.protected === b.protected &&
    a.registeredAt === b.registeredAt &&
    sameLabels(a.labels, b.labels)
  );
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

export function toInstance(inst: InstanceState): Instance {
  return {
    service: inst.service,
    addr: inst.addr,
    weight: inst.weightOverride ?? inst.weight,
    labels: inst.labels,
    health: inst.health,
    disabled: inst.disabled,
    registeredAt: new Date(inst.registeredAt).toISOString(),
    lastSeenAt: new Date(inst.lastSeen).toISOString(),
    protected: inst.protected,
  };
}

/** A service as clients see it; an unknown name is an empty list at revision 0 (or its last one). */
export function viewOf(reg: Registry, name: string): ServiceView {
  const svc = reg.services.get(name);
  if (!svc) {
    return { name, revision: reg.tombstones.get(name) ?? 0, protected: false, instances: [] };
  }
  const instances = [...svc.instances.values()]
    .sort((a, b) => compareAddr(a.addr, b.addr))
    .map(toInstance);
  return {
    name,
    revision: svc.revision,
    protected: instances.some((i) => i.protected),
    instances,
  };
}

/** Serving, as far as the console knows: reported healthy, not disabled, not past its TTL. */
export function isServing(inst: InstanceState): boolean {
  return inst.health === "healthy" && !inst.disabled && !inst.protected;
}

export function summaryOf(svc: ServiceState): ServiceSummary {
  let healthy = 0;
  for (const inst of svc.instances.values()) if (isServing(inst)) healthy += 1;
  return {
    name: svc.name,
    description: svc.description,
    createdAt: new Date(svc.createdAt).toISOString(),
    instances: svc.instances.size,
    healthy,
  };
}

function compareAddr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
