import { mkdtempSync, rmSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../core/log.js";
import type { ServiceView } from "../../core/schemas/naming.js";
import { openStore, type Store } from "../store/index.js";
import { namingOptionsFromEnv } from "./options.js";
import { loadInstances, loadServices } from "./repo.js";
import { createNamingService, type NamingService } from "./service.js";

const T0 = 1_700_000_000_000;
const SVC = "Demo.Echo";
const log = createLogger({ level: "silent" });
const reg = (addr: string, ttlSeconds = 10) => ({ addr, weight: 100, labels: {}, ttlSeconds });
const noAudit = async () => {};

/** A fake SSE response: collects what is written. */
function fakeResponse(): { res: ServerResponse; events(): ServiceView[]; ended(): boolean } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d: Buffer) => {
    text += d.toString();
  });
  const res = Object.assign(stream, {
    writeHead: () => res,
  }) as unknown as ServerResponse;
  return {
    res,
    events: () =>
      [...text.matchAll(/^event: service\ndata: (.*)$/gm)].map(
        (m) => JSON.parse(m[1] ?? "") as ServiceView,
      ),
    ended: () => stream.writableEnded,
  };
}

describe("naming service", () => {
  let dir: string;
  let store: Store;
  let clock: number;
  let naming: NamingService;
  const make = () =>
    createNamingService(
      { store, log, now: () => clock },
      {
        protection: { threshold: 0.5, windowMs: 60_000 },
        sweepIntervalMs: 3_600_000,
        flushIntervalMs: 3_600_000,
        coalesceMs: 5,
      },
    );

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "msec-naming-"));
    store = await openStore(`sqlite:${join(dir, "msec.db")}`);
    clock = T0;
    naming = make();
    await naming.start();
  });
  afterEach(async () => {
    await naming.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes registrations through, and heartbeats only at the flush", async () => {
    await naming.register(SVC, reg("10.0.0.1:80"));
    expect((await loadInstances(store.db)).map((i) => [i.addr, i.lastSeen])).toEqual([
      ["10.0.0.1:80", T0],
    ]);
    clock = T0 + 3000;
    expect(naming.heartbeat([{ service: SVC, addr: "10.0.0.1:80", health: "draining" }])).toEqual({
      unknown: [],
    });
    expect((await loadInstances(store.db))[0]?.lastSeen).toBe(T0);
    await naming.flushNow();
    expect((await loadInstances(store.db))[0]).toMatchObject({
      lastSeen: T0 + 3000,
      health: "draining",
    });
  });

  it("loads the registry at start with a full TTL for every instance, and fresh revisions", async () => {
    await naming.createService({ name: SVC, description: "echo" }, noAudit);
    await naming.register(SVC, reg("10.0.0.1:80"));
    await naming.register(SVC, reg("10.0.0.2:80"));
    const i1 = naming.view(SVC).instances[0];
    if (!i1) throw new Error("missing");
    await naming.setWeight(SVC, i1.addr, 9, noAudit);
    await naming.setDisabled(SVC, "10.0.0.2:80", true, noAudit);
    const before = naming.getService(SVC);
    await naming.stop();

    clock = T0 + 3_600_000; // an hour-long outage
    naming = make();
    await naming.start();
    const after = naming.getService(SVC);
    expect(after.description).toBe("echo");
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.instances).toEqual(
      before.instances.map((i) => ({ ...i, lastSeenAt: new Date(clock).toISOString() })),
    );
    // Nothing is evicted before the full TTL has run from the restart.
    clock += 9_000;
    await naming.sweepNow();
    expect(naming.view(SVC).instances).toHaveLength(2);
  });

  it("evicts with protection and persists the evictions", async () => {
    for (const a of ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]) {
      await naming.register(SVC, reg(a));
      clock += 1000;
    }
    clock = T0 + 30_000;
    await naming.sweepNow();
    const v = naming.view(SVC);
    expect(v.protected).toBe(true);
    expect(v.instances.map((i) => i.addr)).toEqual(["10.0.0.3:80", "10.0.0.4:80"]);
    expect((await loadInstances(store.db)).map((i) => i.addr)).toEqual([
      "10.0.0.3:80",
      "10.0.0.4:80",
    ]);
    expect((await loadServices(store.db))[0]?.evictions).toEqual([T0 + 30_000, T0 + 30_000]);

    // A restart remembers the recent evictions: the baseline stays 4, so none go.
    await naming.stop();
    naming = make();
    await naming.start();
    clock += 11_000;
    await naming.sweepNow();
    expect(naming.view(SVC).instances).toHaveLength(2);
  });

  it("deregisters at once, not subject to protection", async () => {
    await naming.register(SVC, reg("10.0.0.1:80"));
    await naming.deregister(SVC, "10.0.0.1:80");
    expect(naming.view(SVC).instances).toEqual([]);
    await expect(naming.deregister(SVC, "10.0.0.1:80")).rejects.toMatchObject({
      code: "not_found",
    });
    expect(await loadInstances(store.db)).toEqual([]);
  });

  it("changes nothing when the audit write fails", async () => {
    await naming.register(SVC, reg("10.0.0.1:80"));
    const failing = async () => {
      throw new Error("audit down");
    };
    await expect(naming.setWeight(SVC, "10.0.0.1:80", 1, failing)).rejects.toThrow("audit down");
    await expect(
      naming.createService({ name: "Other.One", description: "" }, failing),
    ).rejects.toThrow();
    expect(naming.view(SVC).instances[0]?.weight).toBe(100);
    expect((await loadInstances(store.db))[0]?.weightOverride).toBeNull();
    expect(naming.listServices().map((s) => s.name)).toEqual([SVC]);
  });

  it("refuses to delete a service with instances unless forced", async () => {
    await naming.register(SVC, reg("10.0.0.1:80"));
    await expect(naming.deleteService(SVC, false, noAudit)).rejects.toMatchObject({
      code: "failed_precondition",
    });
    await naming.deleteService(SVC, true, noAudit);
    expect(naming.listServices()).toEqual([]);
    expect(await loadServices(store.db)).toEqual([]);
    await expect(
      naming.createService({ name: "A.B", description: "" }, noAudit),
    ).resolves.toMatchObject({ name: "A.B" });
    await expect(
      naming.createService({ name: "A.B", description: "" }, noAudit),
    ).rejects.toMatchObject({ code: "already_exists" });
  });

  it("pushes coalesced changes to watchers and skips a revision they already have", async () => {
    await naming.register(SVC, reg("10.0.0.1:80"));
    const rev = naming.view(SVC).revision;
    const a = fakeResponse();
    const b = fakeResponse();
    naming.watches.open(a.res, [SVC, "No.Such"], [undefined, undefined]);
    naming.watches.open(b.res, [SVC], [rev]);
    expect(a.events().map((e) => [e.name, e.revision])).toEqual([
      [SVC, rev],
      ["No.Such", 0],
    ]);
    expect(b.events()).toEqual([]);
    // A burst of three changes reaches each watcher as one event.
    await naming.register(SVC, reg("10.0.0.2:80"));
    await naming.register(SVC, reg("10.0.0.3:80"));
    await naming.setDisabled(SVC, "10.0.0.3:80", true, noAudit);
    await new Promise((r) => setTimeout(r, 30));
    expect(b.events()).toHaveLength(1);
    expect(b.events()[0]?.instances.map((i) => i.addr)).toEqual([
      "10.0.0.1:80",
      "10.0.0.2:80",
      "10.0.0.3:80",
    ]);
    expect(a.events()).toHaveLength(3);
    await naming.stop();
    expect(a.ended() && b.ended()).toBe(true);
    expect(naming.watches.size).toBe(0);
  });

  it("reads protection settings from the environment, refusing nonsense", () => {
    expect(namingOptionsFromEnv({})).toEqual({});
    expect(namingOptionsFromEnv({ MSEC_NAMING_PROTECTION_WINDOW_MS: "2000" })).toEqual({
      protection: { threshold: 0.5, windowMs: 2000 },
    });
    expect(() => namingOptionsFromEnv({ MSEC_NAMING_PROTECTION_THRESHOLD: "2" })).toThrow(
      /between 0 and 1/,
    );
    expect(() => namingOptionsFromEnv({ MSEC_NAMING_PROTECTION_WINDOW_MS: "soon" })).toThrow(
      /milliseconds/,
    );
  });
});
