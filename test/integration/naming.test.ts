import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createParser } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceView } from "../../src/core/schemas/naming.js";
import { type ConsoleProcess, runCli, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, TEST_ENGINES, type TestDatabase } from "../support/engines.js";
import { call, tokenFor, userToken } from "../support/http.js";

const ADMIN_PW = "admin-password-1";
const PROTECTION_WINDOW_MS = 4000;
const ENV = {
  MSEC_ADMIN_PASSWORD: ADMIN_PW,
  MSEC_NAMING_PROTECTION_WINDOW_MS: String(PROTECTION_WINDOW_MS),
};

const enc = encodeURIComponent;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An open watch: every `service` event received, with the time it arrived. */
interface Watch {
  events: { at: number; view: ServiceView }[];
  comments: string[];
  /** Wait for an event matching `pred`. */
  next(
    pred: (v: ServiceView) => boolean,
    timeoutMs?: number,
  ): Promise<{ at: number; view: ServiceView }>;
  close(): void;
  ended: Promise<void>;
}

async function watch(base: string, token: string, path: string): Promise<Watch> {
  const abort = new AbortController();
  const res = await fetch(`${base}/api/v1${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const events: Watch["events"] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (e) => {
      if (e.event === "service") events.push({ at: performance.now(), view: JSON.parse(e.data) });
    },
    onComment: (c) => comments.push(c),
  });
  const body = res.body;
  if (!body) throw new Error("no body");
  const ended = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    comments,
    ended,
    close: () => abort.abort(),
    next: async (pred, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = events.find((e) => pred(e.view));
        if (hit) return hit;
        if (Date.now() > deadline)
          throw new Error(
            `no matching event in ${timeoutMs} ms: ${JSON.stringify(events.map((e) => e.view))}`,
          );
        await sleep(5);
      }
    },
  };
}

/** Poll until `check` passes (or fail with its last error). */
async function eventually(check: () => Promise<void>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

describe.each(TEST_ENGINES)("name service [%s]", (engine) => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    db = await freshDatabase(engine);
    c = await startConsoleProcess({ db: db.url, env: ENV });
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    viewer = await userToken(c.url, admin, "vera", "viewer");
  });
  afterAll(async () => {
    await c?.stop();
    await db?.dispose();
  });

  it("creates services, registers instances (creating the service), and lists them", async () => {
    const created = await call(c.url, "POST", "/services", {
      token: admin,
      body: { name: "Demo.Echo", description: "echoes" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "Demo.Echo",
      description: "echoes",
      instances: 0,
      healthy: 0,
    });
    expect(
      (await call(c.url, "POST", "/services", { token: admin, body: { name: "Demo.Echo" } }))
        .status,
    ).toBe(409);

    const r1 = await call(c.url, "POST", "/services/Demo.Echo/instances", {
      token: admin,
      body: { addr: "127.0.0.1:8080", labels: { version: "1.4.2", zone: "sz" } },
    });
    expect(r1.status).toBe(201);
    expect(r1.body).toMatchObject({
      service: "Demo.Echo",
      addr: "127.0.0.1:8080",
      weight: 100,
      health: "healthy",
      disabled: false,
      protected: false,
    });
    const r2 = await call(c.url, "POST", "/services/Demo.Login/instances", {
      token: admin,
      body: { addr: "[::1]:9000", weight: 50 },
    });
    expect(r2.status).toBe(201);

    const list = await call(c.url, "GET", "/services", { token: viewer });
    expect(list.status).toBe(200);
    expect(list.body.services).toEqual([
      expect.objectContaining({
        name: "Demo.Echo",
        description: "echoes",
        instances: 1,
        healthy: 1,
      }),
      expect.objectContaining({ name: "Demo.Login", description: "", instances: 1, healthy: 1 }),
    ]);
    const one = await call(c.url, "GET", "/services/Demo.Echo", { token: viewer });
    expect(one.body).toMatchObject({ name: "Demo.Echo", description: "echoes", protected: false });
    expect(one.body.instances.map((i: { addr: string }) => i.addr)).toEqual(["127.0.0.1:8080"]);
    const view = await call(c.url, "GET", `/services/Demo.Login/instances`, { token: viewer });
    expect(view.body).toMatchObject({
      name: "Demo.Login",
      instances: [{ addr: "[::1]:9000", weight: 50 }],
    });
    expect(view.body.revision).toBeGreaterThan(0);
    expect((await call(c.url, "GET", "/services/No.Such", { token: viewer })).status).toBe(404);
  });

  it("takes heartbeats in batches and names the unknown ones", async () => {
    const r = await call(c.url, "POST", "/naming/heartbeats", {
      token: admin,
      body: {
        beats: [
          { service: "Demo.Echo", addr: "127.0.0.1:8080" },
          { service: "Demo.Login", addr: "[::1]:9000", health: "draining" },
          { service: "Demo.Echo", addr: "10.9.9.9:1" },
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ unknown: [{ service: "Demo.Echo", addr: "10.9.9.9:1" }] });
    const login = await call(c.url, "GET", "/services/Demo.Login/instances", { token: viewer });
    expect(login.body.instances[0].health).toBe("draining");
  });

  it("refuses a viewer on register (403) and bad input (400 naming the field)", async () => {
    const denied = await call(c.url, "POST", "/services/Demo.Echo/instances", {
      token: viewer,
      body: { addr: "127.0.0.1:8081" },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("permission_denied");
    expect(
      (
        await call(c.url, "POST", "/naming/heartbeats", {
          token: viewer,
          body: { beats: [{ service: "Demo.Echo", addr: "127.0.0.1:8080" }] },
        })
      ).status,
    ).toBe(403);

    const cases: [string, string, unknown, string][] = [
      ["POST", "/services/Demo.Echo/instances", { addr: "localhost:80" }, "body.addr"],
      ["POST", "/services/Demo.Echo/instances", { addr: "127.0.0.1:70000" }, "body.addr"],
      [
        "POST",
        "/services/Demo.Echo/instances",
        { addr: "127.0.0.1:80", ttlSeconds: 1 },
        "body.ttlSeconds",
      ],
      [
        "POST",
        "/services/Demo.Echo/instances",
        { addr: "127.0.0.1:80", labels: { Zone: "x" } },
        "body.labels.Zone",
      ],
      ["POST", "/services/demo/instances", { addr: "127.0.0.1:80" }, "params.name"],
      ["POST", "/services", { name: "NoDot" }, "body.name"],
      [
        "POST",
        "/naming/heartbeats",
        { beats: [{ service: "Demo.Echo", addr: "nope" }] },
        "body.beats.0.addr",
      ],
      ["POST", "/naming/heartbeats", { beats: [] }, "body.beats"],
      [
        "PUT",
        `/services/Demo.Echo/instances/${enc("127.0.0.1:8080")}/weight`,
        { weight: -1 },
        "body.weight",
      ],
      [
        "PUT",
        `/services/Demo.Echo/instances/${enc("not-an-addr")}/weight`,
        { weight: 1 },
        "params.addr",
      ],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await call(c.url, method, path, { token: admin, body });
      expect({ path, status: r.status, field: r.body.error?.field }).toEqual({
        path,
        status: 400,
        field,
      });
      expect(r.body.error.message).toMatch(new RegExp(`^${field.replace(/\./g, "\\.")}: `));
    }
    const watchBad = await call(c.url, "GET", "/services/Demo.Echo,bad/watch", { token: viewer });
    expect(watchBad.body.error.field).toBe("params.name.1");
    const revBad = await call(c.url, "GET", "/services/Demo.Echo/watch?revisions=1,2", {
      token: viewer,
    });
    expect(revBad.body.error.field).toBe("query.revisions");
  });

  it("pushes a change to a watcher within a second of a register", async () => {
    const w = await watch(c.url, viewer, `/services/Demo.Echo,Demo.Fresh/watch`);
    try {
      // One initial event per name; an unknown name is an empty list at revision 0.
      await w.next((v) => v.name === "Demo.Fresh");
      expect(w.events.map((e) => [e.view.name, e.view.instances.length])).toEqual([
        ["Demo.Echo", 1],
        ["Demo.Fresh", 0],
      ]);
      expect(w.events[1]?.view.revision).toBe(0);

      const sent = performance.now();
      const r = await call(c.url, "POST", "/services/Demo.Fresh/instances", {
        token: admin,
        body: { addr: "10.0.0.1:7000" },
      });
      expect(r.status).toBe(201);
      const pushed = await w.next((v) => v.name === "Demo.Fresh" && v.instances.length === 1, 2000);
      const latency = pushed.at - sent;
      console.log(`[${engine}] watch push latency after register: ${latency.toFixed(1)} ms`);
      expect(latency).toBeLessThan(1000);
      expect(pushed.view.revision).toBeGreaterThan(0);

      // A client that reconnects with the revision it holds gets no initial event for it.
      const again = await watch(
        c.url,
        viewer,
        `/services/Demo.Fresh,Demo.Echo/watch?revisions=${pushed.view.revision},0`,
      );
      try {
        await again.next((v) => v.name === "Demo.Echo");
        await sleep(200);
        expect(again.events.map((e) => e.view.name)).toEqual(["Demo.Echo"]);
      } finally {
        again.close();
      }
    } finally {
      w.close();
    }
  });

  it("audits weight, disable and enable; an override survives re-registration", async () => {
    const path = `/services/Demo.Echo/instances/${enc("127.0.0.1:8080")}`;
    const w = await call(c.url, "PUT", `${path}/weight`, { token: admin, body: { weight: 7 } });
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ addr: "127.0.0.1:8080", weight: 7 });
    const d = await call(c.url, "POST", `${path}/disable`, { token: admin });
    expect(d.body).toMatchObject({ disabled: true, weight: 7 });

    const again = await call(c.url, "POST", "/services/Demo.Echo/instances", {
      token: admin,
      body: { addr: "127.0.0.1:8080", weight: 300 },
    });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ weight: 7, disabled: true });
    expect(
      (await call(c.url, "GET", "/services/Demo.Echo/instances", { token: viewer })).body
        .instances[0],
    ).toMatchObject({ weight: 7, disabled: true });
    expect((await call(c.url, "POST", `${path}/enable`, { token: admin })).body).toMatchObject({
      disabled: false,
    });
    expect(
      (await call(c.url, "PUT", `${path}/weight`, { token: viewer, body: { weight: 1 } })).status,
    ).toBe(403);
    expect(
      (
        await call(c.url, "PUT", `/services/Demo.Echo/instances/${enc("10.1.1.1:1")}/weight`, {
          token: admin,
          body: { weight: 1 },
        })
      ).status,
    ).toBe(404);

    const audit = await call(c.url, "GET", "/audit?limit=50", { token: admin });
    const done = audit.body.entries.filter((e: { outcome: string }) => e.outcome === "ok");
    const actions = done.map((e: { action: string; target: string }) => `${e.action} ${e.target}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        "instance.weight instance:Demo.Echo/127.0.0.1:8080",
        "instance.disable instance:Demo.Echo/127.0.0.1:8080",
        "instance.enable instance:Demo.Echo/127.0.0.1:8080",
        "service.create service:Demo.Echo",
      ]),
    );
    const weightEntry = done.find((e: { action: string }) => e.action === "instance.weight");
    expect(weightEntry).toMatchObject({
      actor: "admin",
      outcome: "ok",
      details: { from: 100, to: 7 },
    });
    // Machine traffic is not audited (only refused attempts are, as denied).
    expect(actions.some((a: string) => /instances$|instances |heartbeat/.test(a))).toBe(false);
  });

  it("evicts expired instances but keeps half under protection, flagged, then decays", async () => {
    const svc = "Evict.Me";
    const w = await watch(c.url, viewer, `/services/${svc}/watch`);
    try {
      for (const a of ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]) {
        expect(
          (
            await call(c.url, "POST", `/services/${svc}/instances`, {
              token: admin,
              body: { addr: a, ttlSeconds: 2 },
            })
          ).status,
        ).toBe(201);
        await sleep(30);
      }
      // All four go quiet: two are evicted (least recently seen), two kept and flagged.
      await eventually(async () => {
        const v = (await call(c.url, "GET", `/services/${svc}/instances`, { token: viewer })).body;
        expect(
          v.instances.map((i: { addr: string; protected: boolean }) => [i.addr, i.protected]),
        ).toEqual([
          ["10.0.0.3:80", true],
          ["10.0.0.4:80", true],
        ]);
        expect(v.protected).toBe(true);
      });
      await w.next((v) => v.protected && v.instances.length === 2);
      // The console says so at warn level (its stderr carries warn and up in these tests).
      await eventually(async () => {
        expect(c.stderr()).toMatch(
          /protection: keeping 2 of 2 instance\(s\) of Evict\.Me past their TTL/,
        );
        // One round, or two if the sweep fell between their expiries.
        expect(c.stderr()).toMatch(/evicted [12] instance\(s\) of Evict\.Me: no heartbeat/);
      });

      // Inside the window nothing more goes; after it, the older one goes, never the last.
      await sleep(1500);
      expect(
        (await call(c.url, "GET", `/services/${svc}/instances`, { token: viewer })).body.instances,
      ).toHaveLength(2);
      await eventually(async () => {
        const v = (await call(c.url, "GET", `/services/${svc}/instances`, { token: viewer })).body;
        expect(v.instances.map((i: { addr: string }) => i.addr)).toEqual(["10.0.0.4:80"]);
      }, PROTECTION_WINDOW_MS + 5000);

      // Beating again makes it simply live.
      const beat = await call(c.url, "POST", "/naming/heartbeats", {
        token: admin,
        body: { beats: [{ service: svc, addr: "10.0.0.4:80" }] },
      });
      expect(beat.body.unknown).toEqual([]);
      const v = (await call(c.url, "GET", `/services/${svc}/instances`, { token: viewer })).body;
      expect(v).toMatchObject({
        protected: false,
        instances: [{ addr: "10.0.0.4:80", protected: false }],
      });
      // The evicted ones are told to re-register.
      const old = await call(c.url, "POST", "/naming/heartbeats", {
        token: admin,
        body: { beats: [{ service: svc, addr: "10.0.0.1:80" }] },
      });
      expect(old.body.unknown).toEqual([{ service: svc, addr: "10.0.0.1:80" }]);
    } finally {
      w.close();
    }
  });

  it("deregisters at once, and deletes a service only when empty or forced", async () => {
    const svc = "Bye.Now";
    for (const a of ["10.0.0.1:80", "10.0.0.2:80"]) {
      await call(c.url, "POST", `/services/${svc}/instances`, { token: admin, body: { addr: a } });
    }
    const del = await call(c.url, "DELETE", `/services/${svc}/instances/${enc("10.0.0.1:80")}`, {
      token: admin,
    });
    expect(del.status).toBe(204);
    expect(
      (await call(c.url, "GET", `/services/${svc}/instances`, { token: viewer })).body.instances,
    ).toHaveLength(1);
    expect(
      (
        await call(c.url, "DELETE", `/services/${svc}/instances/${enc("10.0.0.1:80")}`, {
          token: admin,
        })
      ).status,
    ).toBe(404);
    const refused = await call(c.url, "DELETE", `/services/${svc}`, { token: admin });
    expect(refused.status).toBe(412);
    expect(refused.body.error.code).toBe("failed_precondition");
    expect(
      (await call(c.url, "DELETE", `/services/${svc}?force=true`, { token: admin })).status,
    ).toBe(204);
    expect((await call(c.url, "GET", `/services/${svc}`, { token: viewer })).status).toBe(404);
    const audit = await call(c.url, "GET", "/audit?action=service.delete", { token: admin });
    expect(audit.body.entries[0]).toMatchObject({
      target: `service:${svc}`,
      details: { instances: 1, force: true },
    });
  });

  it("keeps the registry across a console restart", async () => {
    const before = (await call(c.url, "GET", "/services/Demo.Echo/instances", { token: viewer }))
      .body;
    const w = await watch(c.url, viewer, "/services/Demo.Echo/watch");
    await w.next(() => true);
    const stopped = Date.now();
    expect(await c.stop()).toBe(0);
    await w.ended; // the stream ends when the console stops
    expect(Date.now() - stopped).toBeLessThan(5000);

    c = await startConsoleProcess({ db: db.url, env: ENV });
    const after = (await call(c.url, "GET", "/services/Demo.Echo/instances", { token: viewer }))
      .body;
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(
      after.instances.map((i: Record<string, unknown>) => ({ ...i, lastSeenAt: undefined })),
    ).toEqual(
      before.instances.map((i: Record<string, unknown>) => ({ ...i, lastSeenAt: undefined })),
    );
    // lastSeen restarts at the console's start: a full TTL to beat again.
    expect(Date.parse(after.instances[0].lastSeenAt)).toBeGreaterThanOrEqual(stopped);
    const list = (await call(c.url, "GET", "/services", { token: viewer })).body.services.map(
      (s: { name: string }) => s.name,
    );
    expect(list).toEqual(
      expect.arrayContaining(["Demo.Echo", "Demo.Login", "Demo.Fresh", "Evict.Me"]),
    );
    expect(
      (await call(c.url, "GET", "/services/Demo.Echo", { token: viewer })).body.description,
    ).toBe("echoes");
  });
});

describe("msec service / instance commands", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let env: Record<string, string>;
  let home: string;
  const msec = (args: string[]) => runCli(args, { env });

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: ENV });
    home = mkdtempSync(join(tmpdir(), "msec-home-"));
    env = {
      MSEC_CONSOLE: c.url,
      MSEC_TOKEN: await tokenFor(c.url, "admin", ADMIN_PW),
      MSEC_HOME: home,
    };
  });
  afterAll(async () => {
    await c?.stop();
    await db?.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it("adds, lists, shows and removes services; weights, disables and enables instances", async () => {
    const add = await msec(["service", "add", "Shop.Cart", "--description", "the cart"]);
    expect(add).toMatchObject({ code: 0, stdout: "created service Shop.Cart\n" });
    await call(c.url, "POST", "/services/Shop.Cart/instances", {
      token: env.MSEC_TOKEN,
      body: { addr: "[::1]:8080", labels: { zone: "sz" } },
    });

    const list = await msec(["service", "list"]);
    expect(list.stdout).toMatch(/^NAME\s+INSTANCES\s+HEALTHY\s+DESCRIPTION/);
    expect(list.stdout).toMatch(/Shop\.Cart\s+1\s+1\s+the cart/);
    expect(JSON.parse((await msec(["service", "list", "--json"])).stdout)).toEqual([
      expect.objectContaining({ name: "Shop.Cart", instances: 1 }),
    ]);

    expect((await msec(["instance", "weight", "Shop.Cart", "[::1]:8080", "25"])).stdout).toBe(
      "weight of [::1]:8080 in Shop.Cart is now 25\n",
    );
    expect((await msec(["instance", "weight", "Shop.Cart", "[::1]:8080", "lots"])).code).toBe(2);
    expect((await msec(["instance", "disable", "Shop.Cart", "[::1]:8080"])).stdout).toMatch(
      /^disabled \[::1\]:8080 in Shop\.Cart/,
    );
    const show = await msec(["service", "show", "Shop.Cart"]);
    expect(show.stdout).toMatch(/description: the cart/);
    expect(show.stdout).toMatch(/\[::1\]:8080\s+25\s+healthy\s+disabled\s+\{"zone":"sz"\}/);
    expect((await msec(["instance", "enable", "Shop.Cart", "[::1]:8080"])).stdout).toMatch(
      /^enabled \[::1\]:8080 in Shop\.Cart/,
    );
    const instances = JSON.parse((await msec(["instance", "list", "Shop.Cart", "--json"])).stdout);
    expect(instances).toEqual([
      expect.objectContaining({ addr: "[::1]:8080", weight: 25, disabled: false }),
    ]);

    const refused = await msec(["service", "rm", "Shop.Cart"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/still has 1 instance\(s\).*\[failed_precondition\]/);
    expect((await msec(["service", "rm", "Shop.Cart", "--force"])).stdout).toBe(
      "removed service Shop.Cart\n",
    );
    const gone = await msec(["service", "show", "Shop.Cart"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no service named "Shop\.Cart" \[not_found\]/);
  });
});
