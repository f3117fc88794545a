import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MsecError } from "../../core/errors.js";
import type { RelayBody } from "./merge.js";
import { Outbox } from "./outbox.js";
import {
  DiskSpool,
  formatSpool,
  parseSpool,
  type Spool,
  type SpoolFile,
  spoolName,
  spoolSeq,
} from "./spool.js";

const M = 60_000 * 29_000_000;
/** One interval's body: instance `inst` counted `value` in minute M+i. */
const body = (value: number, minute = M, inst = "127.0.0.1:9"): RelayBody => ({
  batches: [
    {
      service: "Demo.Echo",
      instance: inst,
      minutes: [{ minute, points: [{ attr: "x", kind: "counter", value }] }],
    },
  ],
});

/** A spool in memory: a map of file name to bodies. */
function memorySpool(): Spool & { files: Map<string, RelayBody[]> } {
  const files = new Map<string, RelayBody[]>();
  let seq = 0;
  return {
    files,
    list: async () => [...files.keys()].sort().map((name) => ({ name, bytes: 1 })),
    write: async (bodies) => {
      const name = spoolName(++seq);
      files.set(name, [...bodies]);
      return { name, bytes: formatSpool(bodies).length };
    },
    read: async (f: SpoolFile) => files.get(f.name) ?? [],
    remove: async (f: SpoolFile) => {
      files.delete(f.name);
    },
  };
}

/** A console that can be down; keeps what it stored (last value per key) and the order of arrival. */
function fakeConsole() {
  const state = { up: true, stored: new Map<string, number>(), requests: 0 };
  const send = async (b: RelayBody) => {
    state.requests++;
    if (!state.up) throw new MsecError("unavailable", "console down");
    for (const inst of b.batches)
      for (const m of inst.minutes)
        for (const p of m.points)
          state.stored.set(`${inst.instance}|${m.minute}|${p.attr}`, p.value);
  };
  return { state, send };
}

describe("Outbox", () => {
  it("sends at once when the console is up", async () => {
    const c = fakeConsole();
    const box = new Outbox({
      spool: memorySpool(),
      send: c.send,
      maxMemory: 4,
      maxSpoolBytes: 1e9,
    });
    box.enqueue([body(1)]);
    expect(await box.pump(true)).toEqual({ done: true });
    expect(c.state.stored.get(`127.0.0.1:9|${M}|x`)).toBe(1);
  });

  it("keeps batches while the console is down: memory first, then spool files; sends oldest first, and the newest value wins", async () => {
    const c = fakeConsole();
    const spool = memorySpool();
    const box = new Outbox({ spool, send: c.send, maxMemory: 4, maxSpoolBytes: 1e9 });
    c.state.up = false;
    // Twelve intervals of a growing minute, then the next minutes.
    for (let i = 1; i <= 12; i++) {
      box.enqueue([body(i, M + Math.floor(i / 5) * 60_000)]);
      const r = await box.pump(true);
      expect(r.done).toBe(false);
      expect(r.failed).toMatch(/console down/);
      expect(box.pending.memory).toBeLessThanOrEqual(4);
    }
    expect(spool.files.size).toBeGreaterThan(0);
    c.state.up = true;
    expect(await box.pump(true)).toEqual({ done: true });
    expect(spool.files.size).toBe(0);
    expect(c.state.stored).toEqual(
      new Map([
        [`127.0.0.1:9|${M}|x`, 4],
        [`127.0.0.1:9|${M + 60_000}|x`, 9],
        [`127.0.0.1:9|${M + 120_000}|x`, 12],
      ]),
    );
  });

  it("without sending (backing off) still spills past the bound", async () => {
    const spool = memorySpool();
    const box = new Outbox({ spool, send: fakeConsole().send, maxMemory: 2, maxSpoolBytes: 1e9 });
    for (let i = 0; i < 3; i++) box.enqueue([body(i)]);
    expect(await box.pump(false)).toEqual({ done: false });
    expect(box.pending.memory).toBe(1);
    expect(spool.files.size).toBe(1);
  });

  it("picks up files a previous run left, and persists memory at shutdown", async () => {
    const c = fakeConsole();
    c.state.up = false;
    const spool = memorySpool();
    const first = new Outbox({ spool, send: c.send, maxMemory: 10, maxSpoolBytes: 1e9 });
    first.enqueue([body(1), body(2)]);
    await first.pump(true);
    expect(await first.persist()).toBe(true);
    expect(spool.files.size).toBe(1);

    c.state.up = true;
    const second = new Outbox({ spool, send: c.send, maxMemory: 10, maxSpoolBytes: 1e9 });
    await second.load();
    second.enqueue([body(3)]);
    expect(await second.pump(true)).toEqual({ done: true });
    expect(c.state.stored.get(`127.0.0.1:9|${M}|x`)).toBe(3);
  });

  it("does not resend what the console refused as invalid (it stored the rest)", async () => {
    let calls = 0;
    const box = new Outbox({
      spool: memorySpool(),
      send: async () => {
        calls++;
        throw new MsecError("invalid_argument", "body.batches.0.minutes.0.minute: in the future");
      },
      maxMemory: 4,
      maxSpoolBytes: 1e9,
    });
    box.enqueue([body(1)]);
    expect(await box.pump(true)).toEqual({ done: true });
    expect(await box.pump(true)).toEqual({ done: true });
    expect(calls).toBe(1);
  });

  it("drops the oldest spool file past the size cap, and counts the points lost", async () => {
    const spool = memorySpool();
    const box = new Outbox({ spool, send: fakeConsole().send, maxMemory: 2, maxSpoolBytes: 1 });
    for (let i = 0; i < 9; i++) {
      box.enqueue([body(i, M + i * 60_000)]);
      await box.pump(false);
    }
    expect(spool.files.size).toBe(1);
    expect(box.dropped).toBeGreaterThan(0);
  });
});

describe("spool files", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("names sort in order; other files are not spool files", () => {
    expect(spoolName(42)).toBe("spool-000000000042.jsonl");
    expect(spoolSeq(spoolName(42))).toBe(42);
    expect(spoolSeq("notes.txt")).toBeUndefined();
    expect(spoolName(9) < spoolName(10)).toBe(true);
  });

  it("parses JSON lines, counting the lines that are torn or invalid", () => {
    const text = `${formatSpool([body(1), body(2)])}{"batches":[{"service":"Demo.Echo"\n{"batches":"x"}\n`;
    const r = parseSpool(text);
    expect(r.bodies).toEqual([body(1), body(2)]);
    expect(r.bad).toBe(2);
  });

  it("on disk: writes whole files, lists them oldest first, continues the numbering, cleans half-written ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "msec-spool-"));
    dirs.push(dir);
    const a = new DiskSpool(dir);
    expect(await a.list()).toEqual([]);
    const f1 = await a.write([body(1)]);
    const f2 = await a.write([body(2), body(3)]);
    writeFileSync(join(dir, `.tmp-${spoolName(99)}`), "{half");
    const b = new DiskSpool(dir);
    const listed = await b.list();
    expect(listed.map((f) => f.name)).toEqual([f1.name, f2.name]);
    expect(readdirSync(dir).some((n) => n.startsWith(".tmp-"))).toBe(false);
    expect(await b.read(f2)).toEqual([body(2), body(3)]);
    const f3 = await b.write([body(4)]);
    expect(spoolSeq(f3.name)).toBe(3);
    await b.remove(f1);
    expect((await b.list()).map((f) => f.name)).toEqual([f2.name, f3.name]);
  });
});
