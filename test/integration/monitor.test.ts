import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMinutes } from "../../src/console/monitor/points.js";
import { openStore } from "../../src/console/store/index.js";
import { MINUTE_MS, TOTAL } from "../../src/core/schemas/monitor.js";
import { createClient } from "../../src/runtime/index.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, TEST_ENGINES, type TestDatabase } from "../support/engines.js";
import { call, tokenFor } from "../support/http.js";
import { type ServiceProcess, startDemo } from "../support/service-process.js";
import { until } from "../support/wait.js";

const ADMIN_PW = "admin-password-1";

/** The sum of an attribute over the last hour, read straight from the store. */
async function storedSum(
  dbUrl: string,
  service: string,
  attr: string,
  instance = TOTAL,
): Promise<number> {
  const store = await openStore(dbUrl);
  try {
    const now = Date.now();
    const points = await readMinutes(store.db, {
      service,
      attr,
      instance,
      from: now - 60 * MINUTE_MS,
      to: now + MINUTE_MS,
    });
    return points.reduce((a, p) => a + p.value, 0);
  } finally {
    await store.close();
  }
}

describe.each(TEST_ENGINES)("metrics from services to the console [%s]", (engine) => {
  let db: TestDatabase;
  let consoleProc: ConsoleProcess;
  let token: string;
  let echo: ServiceProcess;

  beforeAll(async () => {
    db = await freshDatabase(engine);
    consoleProc = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    token = await tokenFor(consoleProc.url, "admin", ADMIN_PW);
  });
  afterAll(async () => {
    await echo?.stop();
    await consoleProc?.stop();
    await db?.dispose();
  });

  it("a service's custom counter reaches the console's store within one interval", async () => {
    echo = await startDemo("echo", {
      MSEC_CONSOLE: consoleProc.url,
      MSEC_TOKEN: token,
      MSEC_METRICS_INTERVAL_MS: "500",
    });
    const client = createClient("Demo.Echo", { endpoints: [echo.addr], metrics: false });
    for (let i = 0; i < 7; i++) await client.call("Echo", { text: "x" });
    client.close();
    await until(
      "7 echoes in the store",
      async () => (await storedSum(db.url, "Demo.Echo", "echoes")) === 7,
    );
    expect(await storedSum(db.url, "Demo.Echo", "echoes", echo.addr)).toBe(7);
    // The automatic RPC metrics travel the same way.
    expect(
      await storedSum(
        db.url,
        "Demo.Echo",
        "rpc.server.calls{code=ok,method=Demo.Echo/Echo,peer=127.0.0.1}",
      ),
    ).toBe(7);
  });

  it("loses no point while the console is down", async () => {
    const client = createClient("Demo.Echo", { endpoints: [echo.addr], metrics: false });
    const before = await storedSum(db.url, "Demo.Echo", "echoes");
    const port = Number(new URL(consoleProc.url).port);
    await consoleProc.stop();
    for (let i = 0; i < 25; i++) await client.call("Echo", { text: "while down" });
    await new Promise((r) => setTimeout(r, 1500)); // several failed sends
    // The service keeps sending to the same URL: start the console on its old port.
    consoleProc = await startConsoleProcess({ db: db.url, port });
    client.close();
    await until(
      "the 25 echoes made while the console was down",
      async () => (await storedSum(db.url, "Demo.Echo", "echoes")) === before + 25,
      20_000,
    );
  });

  it("refuses bad points with a clear 400 naming them, and stores the good ones", async () => {
    const minute = Date.now() - (Date.now() % MINUTE_MS) - MINUTE_MS;
    const r = await call(consoleProc.url, "POST", "/metrics/ingest", {
      token,
      body: {
        service: "Shop.Cart",
        instance: "10.0.0.9:8080",
        minutes: [
          {
            minute,
            points: [
              { attr: "orders placed", kind: "counter", value: 3 },
              { attr: "", kind: "counter", value: 1 },
              { attr: "bad\nname", kind: "counter", value: 1 },
              { attr: "price", kind: "gauge", value: "12" },
              { attr: "VIP level 28 logins", kind: "counter", value: 2 },
            ],
          },
        ],
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      code: "invalid_argument",
      field: "body.minutes.0.points.1.attr",
    });
    expect(r.body.accepted).toBe(2);
    expect(r.body.rejected.map((x: { at: string }) => x.at)).toEqual([
      "minutes.0.points.1.attr",
      "minutes.0.points.2.attr",
      "minutes.0.points.3.value",
    ]);
    expect(await storedSum(db.url, "Shop.Cart", "orders placed")).toBe(3);
    expect(await storedSum(db.url, "Shop.Cart", "VIP level 28 logins")).toBe(2);

    // Several instances in one request (as an agent sends its machine's minute).
    const many = await call(consoleProc.url, "POST", "/metrics/ingest", {
      token,
      body: {
        batches: ["10.0.0.1:80", "10.0.0.2:80"].map((instance) => ({
          service: "Shop.Cart",
          instance,
          minutes: [
            {
              minute,
              points: [
                { attr: "carts", kind: "counter", value: 2 },
                { attr: "x", kind: "gauge", value: "bad" },
              ],
            },
          ],
        })),
      },
    });
    expect(many.status).toBe(400);
    expect(many.body.accepted).toBe(2);
    expect(many.body.rejected.map((x: { at: string }) => x.at)).toEqual([
      "batches.0.minutes.0.points.1.value",
      "batches.1.minutes.0.points.1.value",
    ]);
    expect(await storedSum(db.url, "Shop.Cart", "carts")).toBe(4);

    const envelope = await call(consoleProc.url, "POST", "/metrics/ingest", {
      token,
      body: { service: "nodots", instance: "x", minutes: [] },
    });
    expect(envelope.status).toBe(400);
    expect(envelope.body.error.field).toBe("body.service");
    const viewer = await call(consoleProc.url, "POST", "/users", {
      token,
      body: { username: "vic", password: "vic-password", role: "viewer" },
    });
    expect(viewer.status).toBe(201);
    const vt = await tokenFor(consoleProc.url, "vic", "vic-password");
    expect(
      (await call(consoleProc.url, "POST", "/metrics/ingest", { token: vt, body: {} })).status,
    ).toBe(403);
  });
});
