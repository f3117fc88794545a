import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../core/log.js";
import type { Role } from "../../core/roles.js";
import {
  AttributesAnswer,
  CompareName,
  MetricServicesAnswer,
  MINUTE_MS,
  SeriesAnswer,
  SeriesStat,
  TopAnswer,
  TopBy,
} from "../../core/schemas/monitor.js";
import { ServiceSummary } from "../../core/schemas/naming.js";
import { hashPassword } from "../auth/secrets.js";
import type { ConsoleContext } from "../context.js";
import { buildApp } from "../http/app.js";
import { DesiredStateEvents } from "../machines/deployments.js";
import { COMPARES, STATS } from "../monitor/buckets.js";
import { TOP_BY } from "../monitor/top.js";
import { openStore } from "../store/index.js";
import { createToken } from "../tokens/repo.js";
import { insertUser } from "../users/repo.js";
import { createNamingService } from "./index.js";

/** A clock stopped 20 s into a minute: the latest complete minute is LAST. */
const NOW = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS + 20_000;
const LAST = Math.floor(NOW / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
const A = "10.0.0.1:8080";
const B = "10.0.0.2:8080";
const calls = (code: string, method = "Echo") =>
  `rpc.server.calls{code=${code},method=${method},peer=10.0.0.9}`;

/**
 * `GET /services` with each service's calls, errors and firing alarms, and the monitor's
 * read answers against their schemas in src/core/schemas/monitor.ts: a whole console
 * app in process, on a stopped clock, its metrics sent through the ingest API.
 */
describe("services list figures and monitor answers (in process)", () => {
  let dir: string;
  let ctx: ConsoleContext;
  let app: FastifyInstance;
  const tokens: Partial<Record<Role, string>> = {};

  const request = async (role: Role, method: "GET" | "POST", url: string, payload?: object) => {
    const r = await app.inject({
      method,
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${tokens[role]}` },
      ...(payload ? { payload } : {}),
    });
    return { status: r.statusCode, body: r.json() };
  };
  const ingest = async (
    service: string,
    instance: string,
    minutes: { minute: number; points: Record<string, number> }[],
  ) => {
    const r = await request("operator", "POST", "/metrics/ingest", {
      service,
      instance,
      minutes: minutes.map((m) => ({
        minute: m.minute,
        points: Object.entries(m.points).map(([attr, value]) => ({
          attr,
          kind: attr.startsWith("rpc.") || attr === "orders" ? "counter" : "gauge",
          value,
        })),
      })),
    });
    expect(r).toMatchObject({ status: 200, body: { rejected: [] } });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "msec-services-"));
    const store = await openStore(`sqlite:${join(dir, "msec.db")}`);
    const log = createLogger({ level: "silent" });
    const now = () => NOW;
    const naming = createNamingService({ store, log, now });
    await naming.start();
    ctx = { store, log, now, loginThrottle: new Map(), naming, desired: new DesiredStateEvents() };
    app = await buildApp(ctx, { trustProxy: false });
    const passwordHash = await hashPassword("not-used-here-1");
    for (const role of ["viewer", "operator"] as const) {
      const user = await insertUser(
        store.db,
        { username: role, passwordHash, role, mustChangePassword: false },
        NOW,
      );
      tokens[role] = (
        await createToken(store.db, { userId: user.id, name: "t", role, expiresAt: null }, NOW)
      ).secret;
    }
    for (const name of ["Demo.Echo", "Demo.Idle", "Demo.Quiet", "Demo.Plain"])
      expect((await request("operator", "POST", "/services", { name })).status).toBe(201);

    // Demo.Echo: two instances served 30 + 10 calls in the latest complete minute, 2 + 1 of
    // them failed; its client calls, business counters, an older minute and the minute under
    // way do not count.
    await ingest("Demo.Echo", A, [
      { minute: LAST - MINUTE_MS, points: { [calls("ok")]: 500 } },
      {
        minute: LAST,
        points: {
          [calls("ok")]: 25,
          [calls("ok", "Ping")]: 5,
          [calls("internal")]: 2,
          "rpc.client.calls{code=ok,method=Other,peer=10.0.0.3}": 100,
          orders: 7,
        },
      },
      { minute: LAST + MINUTE_MS, points: { [calls("ok")]: 999 } },
    ]);
    await ingest("Demo.Echo", B, [
      { minute: LAST, points: { [calls("ok")]: 10, [calls("deadline_exceeded")]: 1 } },
    ]);
    // Demo.Idle served calls three minutes ago, none since: 0 calls. Demo.Quiet: half an
    // hour ago, so no figure. Demo.Plain sends business metrics only.
    await ingest("Demo.Idle", A, [{ minute: LAST - 3 * MINUTE_MS, points: { [calls("ok")]: 4 } }]);
    await ingest("Demo.Quiet", A, [
      { minute: LAST - 30 * MINUTE_MS, points: { [calls("ok")]: 4 } },
    ]);
    await ingest("Demo.Plain", A, [
      { minute: LAST - MINUTE_MS, points: { orders: 3 } },
      { minute: LAST, points: { orders: 5 } },
    ]);

    // Two alarms of Demo.Echo fire, one resolved; one of Demo.Quiet fires.
    const alarm = (service: string, state: "firing" | "resolved") => ({
      rule_id: 1,
      service,
      attr: "orders",
      instance: "*",
      kind: "max",
      severity: "warning",
      state,
      value: 1,
      message: "orders above 0",
      fired_at: LAST,
      resolved_at: state === "resolved" ? LAST : null,
      last_sent_at: null,
      acked_by: null,
      acked_at: null,
    });
    await store.db
      .insertInto("alarms")
      .values([
        alarm("Demo.Echo", "firing"),
        alarm("Demo.Echo", "firing"),
        alarm("Demo.Echo", "resolved"),
        alarm("Demo.Quiet", "firing"),
      ])
      .execute();
  });

  afterAll(async () => {
    await app?.close();
    await ctx?.naming.stop();
    await ctx?.store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives each service its latest complete minute of calls and errors, and its firing alarms", async () => {
    const r = await request("viewer", "GET", "/services");
    expect(r.status).toBe(200);
    const services = r.body.services as ServiceSummary[];
    for (const s of services) expect(ServiceSummary.parse(s)).toEqual(s);
    const byName = Object.fromEntries(services.map((s) => [s.name, s]));
    expect(byName["Demo.Echo"]).toMatchObject({
      callsPerMinute: 43,
      errorsPerMinute: 3,
      firingAlarms: 2,
    });
    expect(byName["Demo.Idle"]).toMatchObject({
      callsPerMinute: 0,
      errorsPerMinute: 0,
      firingAlarms: 0,
    });
    for (const name of ["Demo.Quiet", "Demo.Plain"]) {
      expect(byName[name]).not.toHaveProperty("callsPerMinute");
      expect(byName[name]).not.toHaveProperty("errorsPerMinute");
    }
    expect(byName["Demo.Quiet"]?.firingAlarms).toBe(1);
    expect(byName["Demo.Plain"]?.firingAlarms).toBe(0);
  });

  it("answers the monitor's reads in the shapes of the core schemas", async () => {
    // Same names as the console's own lists.
    expect(SeriesStat.options).toEqual([...STATS]);
    expect(TopBy.options).toEqual([...TOP_BY]);
    expect(CompareName.options).toEqual(Object.keys(COMPARES));

    const exact = <T>(schema: { parse: (v: unknown) => T }, body: unknown) =>
      expect(schema.parse(body)).toEqual(body);
    const services = await request("viewer", "GET", "/metrics/services");
    exact(MetricServicesAnswer, services.body);
    expect(services.body.services.map((s: { service: string }) => s.service)).toContain(
      "Demo.Echo",
    );
    const attrs = await request("viewer", "GET", "/metrics/Demo.Echo/attributes");
    exact(AttributesAnswer, attrs.body);
    const range = `from=${LAST - 10 * MINUTE_MS}&to=${LAST}`;
    const series = await request(
      "viewer",
      "GET",
      `/metrics/Demo.Echo/series?attr=orders&compare=yesterday,week&${range}`,
    );
    exact(SeriesAnswer, series.body);
    expect(series.body.series.map((s: { name: string }) => s.name)).toEqual([
      "current",
      "yesterday",
      "week",
    ]);
    expect(series.body.series[0].values.at(-1)).toBe(7);
    const top = await request(
      "viewer",
      "GET",
      `/metrics/Demo.Echo/top?attr=${encodeURIComponent(calls("ok"))}&${range}`,
    );
    exact(TopAnswer, top.body);
    expect(top.body.instances.map((i: { instance: string }) => i.instance)).toEqual([A, B]);
  });
});
