import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleProcess, runCli, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, login, tokenFor } from "../support/http.js";

const ADMIN_PW = "admin-password-1";
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const SVC = "Demo.Echo";
const A = "10.0.0.1:8080";
const B = "10.0.0.2:8080";
const VIP = "VIP level 28 logins";
// Quotes, a backslash and non-ASCII: the Prometheus export must escape it right.
const ODD = 'say "hi" \\ 你好';
const PROMTOOL = "/usr/bin/promtool";

describe("monitor queries through a real console", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let admin: string;
  let scraper: string;
  // The minute the seed's "today" ends on (exclusive): the current minute at seeding.
  let cur: number;

  const get = (path: string, token = admin) => call(c.url, "GET", path, { token });
  const series = (q: Record<string, string>) =>
    get(`/metrics/${SVC}/series?${new URLSearchParams(q)}`);

  async function ingest(instance: string, minutes: { minute: number; points: unknown[] }[]) {
    const r = await call(c.url, "POST", "/metrics/ingest", {
      token: admin,
      body: { service: SVC, instance, minutes },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    const s = await login(c.url, "admin", ADMIN_PW);
    const t = await call(c.url, "POST", "/tokens", {
      body: { name: "prometheus", role: "viewer" },
      cookie: s.cookie,
      csrf: s.csrf,
    });
    expect(t.status).toBe(201);
    scraper = t.body.token;

    cur = Math.floor(Date.now() / MIN) * MIN;
    // The last 30 minutes, and the same minutes yesterday and a week ago.
    for (const [back, base] of [
      [0, 100],
      [DAY, 200],
      [7 * DAY, 300],
    ] as const) {
      const minutes = (fn: (i: number) => unknown[]) =>
        Array.from({ length: 30 }, (_, i) => ({
          minute: cur - back - (30 - i) * MIN,
          points: fn(i),
        }));
      await ingest(
        A,
        minutes((i) => [
          { attr: VIP, kind: "counter", value: base + i },
          { attr: "queue depth", kind: "gauge", value: 7 },
          {
            attr: "latency ms",
            kind: "histogram",
            value: 10,
            hist: { bounds: [5, 50], counts: [9, 0, 1], sum: 100 },
          },
          { attr: ODD, kind: "counter", value: 1 },
        ]),
      );
      await ingest(
        B,
        minutes(() => [{ attr: VIP, kind: "counter", value: 1 }]),
      );
    }
  });
  afterAll(async () => {
    await c?.stop();
    await db?.dispose();
  });

  it("lists services with metrics and a service's attributes", async () => {
    const s = await get("/metrics/services");
    expect(s.status).toBe(200);
    expect(s.body.services).toEqual([
      { service: SVC, attributes: 4, lastMinute: new Date(cur - MIN).toISOString() },
    ]);
    const a = await get(`/metrics/${SVC}/attributes`);
    expect(a.body.service).toBe(SVC);
    expect(a.body.attributes.map((x: { attr: string; kind: string }) => [x.attr, x.kind])).toEqual([
      [VIP, "counter"],
      ["latency ms", "histogram"],
      ["queue depth", "gauge"],
      [ODD, "counter"],
    ]);
    expect(a.body.attributes[0]).toMatchObject({
      firstMinute: new Date(cur - 7 * DAY - 30 * MIN).toISOString(),
      lastMinute: new Date(cur - MIN).toISOString(),
    });
  });

  it("charts the total with yesterday and a week ago on the same minutes", async () => {
    const r = await series({
      attr: VIP,
      from: new Date(cur - 30 * MIN).toISOString(),
      to: String(cur - 28 * MIN),
      compare: "yesterday,week",
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      service: SVC,
      attr: VIP,
      instance: "*",
      kind: "counter",
      stat: "value",
      from: new Date(cur - 30 * MIN).toISOString(),
      to: new Date(cur - 28 * MIN).toISOString(),
      stepMs: MIN,
      resolution: "minute",
      series: [
        { name: "current", offsetMs: 0, values: [101, 102, 103] },
        { name: "yesterday", offsetMs: DAY, values: [201, 202, 203] },
        { name: "week", offsetMs: 7 * DAY, values: [301, 302, 303] },
      ],
    });
  });

  it("defaults to the last hour of the total, and reads one instance or a percentile", async () => {
    const r = await series({ attr: VIP });
    expect(r.body.series[0].values).toHaveLength(60);
    expect(r.body.series).toHaveLength(1);
    const one = await series({
      attr: VIP,
      instance: B,
      from: String(cur - 2 * MIN),
      to: String(cur),
    });
    expect(one.body.series[0].values).toEqual([1, 1, null]);
    const p50 = await series({
      attr: "latency ms",
      stat: "p50",
      from: String(cur - MIN),
      to: String(cur - MIN),
    });
    expect(p50.body.series[0].values).toEqual([5 * (5 / 9)]);
    const week = await series({ attr: VIP, from: String(cur - 7 * DAY), to: String(cur) });
    expect(week.body).toMatchObject({ stepMs: 10 * MIN, resolution: "minute" });
  });

  it("refuses bad input with 400 naming the field, and unknown attributes with 404", async () => {
    const bad = async (q: Record<string, string>, field: string) => {
      const r = await series({ attr: VIP, ...q });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error).toMatchObject({ code: "invalid_argument", field });
    };
    await bad({ from: "yesterday-ish" }, "query.from");
    await bad({ to: "2026-13-45" }, "query.to");
    await bad({ from: String(cur), to: String(cur - MIN) }, "query.from");
    await bad({ compare: "lastyear" }, "query.compare.0");
    await bad({ stat: "p42" }, "query.stat");
    await bad({ stat: "p99" }, "query.stat"); // a counter has no percentiles
    await bad({ step: "7m" }, "query.step");
    const noAttr = await get(`/metrics/${SVC}/series`);
    expect(noAttr.body.error).toMatchObject({
      field: "query.attr",
      message: "query.attr: is required",
    });
    const badService = await get("/metrics/not-a-service/attributes");
    expect(badService.body.error).toMatchObject({
      code: "invalid_argument",
      field: "params.service",
    });
    const unknown = await series({ attr: "nope" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/has no attribute "nope"/);
    const anonymous = await call(c.url, "GET", `/metrics/${SVC}/attributes`);
    expect(anonymous.status).toBe(401);
  });

  it("ranks instances", async () => {
    const r = await get(
      `/metrics/${SVC}/top?${new URLSearchParams({ attr: VIP, from: String(cur - 30 * MIN) })}`,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ kind: "counter", by: "sum" });
    expect(r.body.instances).toEqual([
      {
        instance: A,
        value: 30 * 100 + (29 * 30) / 2,
        lastMinute: new Date(cur - MIN).toISOString(),
      },
      { instance: B, value: 30, lastMinute: new Date(cur - MIN).toISOString() },
    ]);
    const limited = await get(
      `/metrics/${SVC}/top?${new URLSearchParams({ attr: VIP, limit: "1", by: "max" })}`,
    );
    expect(limited.body.instances.map((x: { instance: string }) => x.instance)).toEqual([A]);
  });

  it("serves the latest minute to Prometheus with a viewer token, clean under promtool", async () => {
    const res = await fetch(`${c.url}/api/v1/prometheus`, {
      headers: { authorization: `Bearer ${scraper}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toContain(
      `msec_attr_minute_increase{service="${SVC}",instance="*",attr="${VIP}"} 130\n`,
    );
    expect(text).toContain(
      `msec_attr_minute_increase{service="${SVC}",instance="${A}",attr="${VIP}"} 129\n`,
    );
    expect(text).toContain(`attr="say \\"hi\\" \\\\ 你好"} 1\n`);
    expect(text).toContain(
      `msec_attr_minute_value{service="${SVC}",instance="*",attr="queue depth"} 7\n`,
    );
    expect(text).toContain("# TYPE msec_attr_minute_observation_quantile gauge");
    // promtool parses the text and lints the names: no output and exit 0 means clean.
    expect(existsSync(PROMTOOL), "promtool is missing: run scripts/test-prereqs.sh").toBe(true);
    const check = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
    const anonymous = await fetch(`${c.url}/api/v1/prometheus`);
    expect(anonymous.status).toBe(401);
  });

  describe("msec metric", () => {
    const env = () => ({ MSEC_CONSOLE: c.url, MSEC_TOKEN: admin, MSEC_HOME: "/nonexistent" });

    it("show --json prints the series answer", async () => {
      const r = await runCli(
        [
          "metric",
          "show",
          SVC,
          VIP,
          "--compare",
          "yesterday",
          "--from",
          String(cur - 3 * MIN),
          "--to",
          String(cur - MIN),
          "--json",
        ],
        { env: env() },
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.series.map((x: { name: string; values: number[] }) => [x.name, x.values])).toEqual([
        ["current", [128, 129, 130]],
        ["yesterday", [228, 229, 230]],
      ]);
    });

    it("show prints a table when stdout is not a terminal, and list and top print tables", async () => {
      const show = await runCli(
        [
          "metric",
          "show",
          SVC,
          VIP,
          "--instance",
          B,
          "--last",
          "2m",
          "--to",
          String(cur - MIN),
          "--compare",
          "week",
        ],
        { env: env() },
      );
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toBe(
        "TIME                      CURRENT  WEEK\n" +
          `${new Date(cur - 2 * MIN).toISOString()}  1        1\n` +
          `${new Date(cur - MIN).toISOString()}  1        1\n`,
      );
      const list = await runCli(["metric", "list", SVC], { env: env() });
      expect(list.stdout).toMatch(/^ATTR\s+KIND\s+FIRSTMINUTE\s+LASTMINUTE\n/);
      expect(list.stdout).toContain("queue depth");
      const services = await runCli(["metric", "list"], { env: env() });
      expect(services.stdout).toMatch(new RegExp(`^${SVC.replace(".", "\\.")}\\s+4\\s`, "m"));
      const top = await runCli(["metric", "top", SVC, VIP, "--last", "1h"], { env: env() });
      expect(top.stdout.split("\n")[0]).toMatch(/^INSTANCE\s+SUM\s+LASTMINUTE$/);
      expect(top.stdout.split("\n")[1]).toContain(A);
    });

    it("reports a usage error for a bad duration and an API error for a bad stat", async () => {
      const usage = await runCli(["metric", "show", SVC, VIP, "--last", "soon"], { env: env() });
      expect(usage.code).toBe(2);
      const api = await runCli(["metric", "show", SVC, VIP, "--stat", "p99"], { env: env() });
      expect(api.code).toBe(1);
      expect(api.stderr).toMatch(/query\.stat: p99 needs a histogram attribute/);
    });
  });
});
