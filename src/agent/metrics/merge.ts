import type { IngestPoint } from "../../core/schemas/monitor.js";

/** One instance's validated points, minute by minute: what a process posts. */
export interface InstanceMinutes {
  service: string;
  instance: string;
  minutes: { minute: number; points: IngestPoint[] }[];
}

/** What the console's `POST /api/v1/metrics/ingest` takes from a machine. */
export interface RelayBody {
  batches: InstanceMinutes[];
}

/** The console's limits on one request (core/schemas/monitor.ts), and a size cap of our own. */
export const LIMITS = {
  batchesPerBody: 1000,
  minutesPerBatch: 1440,
  pointsPerMinute: 20_000,
  /** Keeps a body far below the console's 32 MiB (a histogram point is a few hundred bytes). */
  pointsPerBody: 50_000,
};

/**
 * Merges what a machine's processes sent into as few bodies as the console accepts.
 * Processes resend their current minute as it grows and the console REPLACES an
 * (instance, attribute, minute) with what it last got, so the merge keeps the LAST
 * value of each key, never a sum: instances stay apart and the console moves the
 * service total by the difference, as it would for separate requests. Feed it in the
 * order things were sent. Plain data, no I/O.
 */
export class BatchMerger {
  private readonly instances = new Map<
    string,
    { service: string; instance: string; minutes: Map<number, Map<string, IngestPoint>> }
  >();
  private count = 0;

  add(batch: InstanceMinutes): void {
    const key = `${batch.service}\u0000${batch.instance}`;
    let inst = this.instances.get(key);
    if (!inst) {
      inst = { service: batch.service, instance: batch.instance, minutes: new Map() };
      this.instances.set(key, inst);
    }
    for (const m of batch.minutes) {
      let points = inst.minutes.get(m.minute);
      if (!points) {
        points = new Map();
        inst.minutes.set(m.minute, points);
      }
      for (const p of m.points) {
        if (!points.has(p.attr)) this.count++;
        // Deleting first moves the key to the end: a map keeps insertion order.
        points.delete(p.attr);
        points.set(p.attr, p);
      }
    }
  }

  addBody(body: RelayBody): void {
    for (const b of body.batches) this.add(b);
  }

  /** Distinct (instance, minute, attribute) keys held. */
  get points(): number {
    return this.count;
  }

  /** Everything merged so far, cut to the console's limits; the merger is empty after. */
  take(limits = LIMITS): RelayBody[] {
    const bodies: RelayBody[] = [];
    let body: RelayBody = { batches: [] };
    let inBody = 0;
    const flush = () => {
      if (body.batches.length > 0) bodies.push(body);
      body = { batches: [] };
      inBody = 0;
    };
    for (const inst of this.instances.values()) {
      let entry: InstanceMinutes | undefined;
      const minutes = [...inst.minutes.entries()].sort(([a], [b]) => a - b);
      for (const [minute, byAttr] of minutes) {
        const all = [...byAttr.values()];
        for (let i = 0; i < all.length; i += limits.pointsPerMinute) {
          const chunk = all.slice(i, i + limits.pointsPerMinute);
          if (inBody > 0 && inBody + chunk.length > limits.pointsPerBody) {
            flush();
            entry = undefined;
          }
          if (!entry || entry.minutes.length >= limits.minutesPerBatch) {
            if (body.batches.length >= limits.batchesPerBody) flush();
            entry = { service: inst.service, instance: inst.instance, minutes: [] };
            body.batches.push(entry);
          }
          entry.minutes.push({ minute, points: chunk });
          inBody += chunk.length;
        }
      }
    }
    flush();
    this.instances.clear();
    this.count = 0;
    return bodies;
  }
}

/** Merge bodies sent one after the other into the fewest bodies that say the same. */
export function mergeBodies(bodies: readonly RelayBody[], limits = LIMITS): RelayBody[] {
  const m = new BatchMerger();
  for (const b of bodies) m.addBody(b);
  return m.take(limits);
}

export function countPoints(body: RelayBody): number {
  let n = 0;
  for (const b of body.batches) for (const m of b.minutes) n += m.points.length;
  return n;
}
