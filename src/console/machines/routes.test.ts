import type { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../core/log.js";
import type { Deployment } from "../../core/schemas/machine.js";
import type { ConsoleContext } from "../context.js";
import { buildApp } from "../http/app.js";
import { createNamingService } from "../naming/index.js";
import { openStore } from "../store/index.js";
import { DesiredStateEvents, setDeployment } from "./deployments.js";
import { createJoinToken, getMachineByName } from "./repo.js";

const SHA = "b".repeat(64);
const deployment = (version: number): Deployment => ({
  service: "Demo.Echo",
  package: { version, sha256: SHA, signature: "sig", name: null },
  configs: [],
  libs: [],
  plugins: [],
  weight: 100,
});

/** The machine routes in a whole console app, in process, so a test can drive ctx.desired. */
describe("machine routes (in process)", () => {
  let dir: string;
  let ctx: ConsoleContext;
  let app: FastifyInstance;
  let closed = false;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "msec-machines-"));
    const store = await openStore(`sqlite:${join(dir, "msec.db")}`);
    const log = createLogger({ level: "silent" });
    const naming = createNamingService({ store, log, now: Date.now });
    ctx = {
      store,
      log,
      now: Date.now,
      loginThrottle: new Map(),
      naming,
      desired: new DesiredStateEvents(),
    };
    app = await buildApp(ctx, { trustProxy: false });
    closed = false;
  });
  afterEach(async () => {
    if (!closed) await app.close();
    await ctx.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function enroll(name: string, joinToken?: string) {
    const secret =
      joinToken ??
      (
        await createJoinToken(
          ctx.store.db,
          { createdBy: "test", labels: {}, ttlSeconds: 600, note: "" },
          Date.now(),
        )
      ).secret;
    return app.inject({
      method: "POST",
      url: "/api/v1/machines/enroll",
      payload: { joinToken: secret, name },
    });
  }

  async function credentialFor(name: string): Promise<{ credential: string; id: number }> {
    const r = await enroll(name);
    expect(r.statusCode).toBe(201);
    const { credential } = r.json<{ credential: string }>();
    return { credential, id: (await getMachineByName(ctx.store.db, name)).id };
  }

  const desired = (credential: string, query: string) =>
    app.inject({
      method: "GET",
      url: `/api/v1/machines/self/desired?${query}`,
      headers: { authorization: `Bearer ${credential}` },
    });

  async function change(id: number, version: number, wake: boolean): Promise<number> {
    const rev = await ctx.store.transaction((tx) =>
      setDeployment(tx, id, "Demo.Echo", deployment(version), Date.now()),
    );
    if (wake) ctx.desired.changed([id]);
    return rev;
  }

  it("answers at once when the agent is behind, and waits when it is not", async () => {
    const { credential, id } = await credentialFor("m1");
    await change(id, 1, false);
    const now = await desired(credential, "after=0&waitMs=20000");
    expect(now.statusCode).toBe(200);
    expect(now.json()).toMatchObject({ machine: "m1", revision: 1 });
    expect(now.json().deployments).toEqual([deployment(1)]);

    const t0 = performance.now();
    const timedOut = await desired(credential, "after=1&waitMs=300");
    expect(timedOut.json()).toMatchObject({ revision: 1 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);

    const noAfter = await desired(credential, "waitMs=20000");
    expect(noAfter.json()).toMatchObject({ revision: 1 });
  });

  it("wakes a waiting long-poll as soon as a deployment changes", async () => {
    const { credential, id } = await credentialFor("m2");
    const t0 = performance.now();
    const pending = desired(credential, "after=0&waitMs=20000");
    await new Promise((r) => setTimeout(r, 50));
    await change(id, 7, true);
    const r = await pending;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.json()).toMatchObject({ revision: 1, deployments: [deployment(7)] });
  });

  it("sees another replica's change (no wake-up) by re-reading within about a second", async () => {
    const { credential, id } = await credentialFor("m3");
    const t0 = performance.now();
    const pending = desired(credential, "after=0&waitMs=20000");
    await new Promise((r) => setTimeout(r, 50));
    await change(id, 2, false);
    const r = await pending;
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(r.json()).toMatchObject({ revision: 1 });
  });

  it("ends a waiting long-poll with 401 when the machine is removed", async () => {
    const { credential, id } = await credentialFor("m4");
    const pending = desired(credential, "after=0&waitMs=20000");
    await new Promise((r) => setTimeout(r, 50));
    await ctx.store.db.deleteFrom("machines").where("id", "=", id).execute();
    ctx.desired.changed([id]);
    const r = await pending;
    expect(r.statusCode).toBe(401);
    expect(r.json().error.message).toMatch(/was removed/);
  });

  it("lets the console close without waiting out long-polls", async () => {
    const { credential } = await credentialFor("m5");
    const pending = desired(credential, "after=0&waitMs=30000");
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await app.close();
    closed = true;
    const r = await pending;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.json()).toMatchObject({ revision: 0 });
  });

  it("stops waiting when the agent hangs up", async () => {
    const { credential, id } = await credentialFor("m7");
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    // Test-only peek at the wake-up listeners: one per waiting long-poll.
    const waiting = () =>
      (ctx.desired as unknown as { emitter: EventEmitter }).emitter.listenerCount(String(id));
    // node:http rather than fetch: undici opens a spare connection on abort that holds up close.
    const req = get(`${url}/api/v1/machines/self/desired?after=0&waitMs=30000`, {
      headers: { authorization: `Bearer ${credential}` },
    });
    const hungUp = new Promise((r) => req.once("error", r));
    await new Promise((r) => setTimeout(r, 200));
    expect(waiting()).toBe(1);
    req.destroy();
    await hungUp;
    await new Promise((r) => setTimeout(r, 100));
    expect(waiting()).toBe(0);
  });

  it("validates the long-poll query, naming the field", async () => {
    const { credential } = await credentialFor("m6");
    const r = await desired(credential, "waitMs=60000");
    expect(r.statusCode).toBe(400);
    expect(r.json().error.field).toBe("query.waitMs");
  });

  it("refuses reserved names and bad labels with clear messages", async () => {
    const reserved = await enroll("self");
    expect(reserved.statusCode).toBe(400);
    expect(reserved.json().error).toMatchObject({ field: "body.name" });
    const secret = (
      await createJoinToken(
        ctx.store.db,
        { createdBy: "test", labels: {}, ttlSeconds: 600, note: "" },
        Date.now(),
      )
    ).secret;
    const bad = await app.inject({
      method: "POST",
      url: "/api/v1/machines/enroll",
      payload: { joinToken: secret, name: "ok", labels: { Zone: "sz" } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({
      field: "body.labels.Zone",
      message: expect.stringMatching(/lower-case/),
    });
  });

  it("throttles failed enrollments per address", async () => {
    for (let i = 0; i < 10; i++) {
      const r = await enroll(`t${i}`, "msecj_wrong");
      expect(r.statusCode).toBe(401);
    }
    const blocked = await enroll("t-last", "msecj_wrong");
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers["retry-after"]).toBeDefined();
    // Blocked even with a good token: the limit is on the address.
    const good = await enroll("t-good");
    expect(good.statusCode).toBe(429);
  });
});
