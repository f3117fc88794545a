/**
 * Alarms end to end: a real console process whose alarm clock runs one minute per tick
 * (MSEC_ALARM_TICK_MS), points sent through the ingest API, rules and silences made with
 * the CLI and the API, and a real local webhook server that checks every signature.
 *
 * Every scenario is seeded relative to T, a minute a few ticks ahead of the console's
 * alarm clock, so all of them play out together in one pass of the clock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signBody } from "../../src/console/alarm/notifiers/webhook.js";
import {
  type Alarm,
  type AlarmEvent,
  type AlarmMessage,
  type AlarmRule,
  alarmRuleInput,
} from "../../src/core/schemas/alarm.js";
import { type ConsoleProcess, runCli, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor, userToken } from "../support/http.js";

const ADMIN_PW = "admin-password-1";
const SECRET = "hook-signing-secret";
const MIN = 60_000;
const DAY = 1440 * MIN;
const TICK_MS = 300;
// The alarm clock starts three hours back, so every seeded minute is in the past.
const START = Math.floor(Date.now() / MIN) * MIN - 180 * MIN;
const INSTANCE = "10.0.0.1:8080";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = (ms: number) => new Date(ms).toISOString();

interface Received {
  message: AlarmMessage;
  signed: boolean;
}

describe("alarms against a real console", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let hook: Server;
  let hookUrl: string;
  const received: Received[] = [];
  let token: string;
  let home: string;
  let env: Record<string, string>;
  const rules: Record<string, number> = {};
  /** The minute every scenario is seeded around. */
  let T = 0;

  const msec = async (args: string[], input?: string) => {
    const r = await runCli(args, { env, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Error(`msec ${args.join(" ")} → ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await call(c.url, method, path, { token, ...(body !== undefined ? { body } : {}) });
    if (r.status >= 300)
      throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** Send points for [from, to] (minutes for which `fn` gives no points are skipped). */
  const ingest = async (
    service: string,
    from: number,
    to: number,
    fn: (m: number) => Record<string, number> | null,
  ) => {
    const minutes = [];
    for (let m = from; m <= to; m += MIN) {
      const values = fn(m);
      if (!values) continue;
      minutes.push({
        minute: m,
        points: Object.entries(values).map(([attr, value]) => ({ attr, kind: "gauge", value })),
      });
    }
    const body = await api("POST", "/metrics/ingest", { service, instance: INSTANCE, minutes });
    expect(body.rejected).toEqual([]);
  };
  const addRule = async (name: string, body: Record<string, unknown>) => {
    const r = (await api("POST", "/alarm-rules", {
      receivers: ["hook"],
      repeatMinutes: 0,
      ...body,
    })) as AlarmRule;
    rules[name] = r.id;
  };
  /** The alarm clock: the latest minute any enabled rule was evaluated for. */
  const clock = async (): Promise<number> => {
    const { rules: all } = (await api("GET", "/alarm-rules")) as { rules: AlarmRule[] };
    return Math.max(0, ...all.map((r) => (r.evaluatedMinute ? Date.parse(r.evaluatedMinute) : 0)));
  };
  const waitForClock = async (minute: number) => {
    const deadline = Date.now() + 30_000;
    while ((await clock()) < minute) {
      if (Date.now() > deadline) throw new Error(`the alarm clock did not reach ${iso(minute)}`);
      await sleep(100);
    }
  };
  const messagesOf = (service: string) =>
    received.filter((r) => r.message.service === service).map((r) => r.message);
  const waitForMessages = async (service: string, n: number) => {
    const deadline = Date.now() + 30_000;
    while (messagesOf(service).length < n) {
      if (Date.now() > deadline) {
        throw new Error(
          `${service}: ${messagesOf(service).length} of ${n} messages: ${JSON.stringify(messagesOf(service))}`,
        );
      }
      await sleep(50);
    }
    return messagesOf(service);
  };

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => {
        body += d.toString();
      });
      req.on("end", () => {
        received.push({
          message: JSON.parse(body) as AlarmMessage,
          signed: req.headers["x-msec-signature"] === signBody(SECRET, body),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alarms`;

    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({
      db: db.url,
      env: {
        MSEC_ADMIN_PASSWORD: ADMIN_PW,
        MSEC_ALARM_TICK_MS: String(TICK_MS),
        MSEC_ALARM_START: String(START),
      },
    });
    token = await tokenFor(c.url, "admin", ADMIN_PW);
    home = mkdtempSync(join(tmpdir(), "msec-home-"));
    env = { MSEC_HOME: home, MSEC_CONSOLE: c.url, MSEC_TOKEN: token };

    await msec(
      ["alarm", "receiver", "add", "hook", "--webhook", hookUrl, "--secret-stdin"],
      `${SECRET}\n`,
    );

    // Normal traffic, today and yesterday, well around the whole run.
    const from = START - 30 * MIN;
    const to = START + 170 * MIN; // the ingest API refuses future minutes
    await ingest("Alarm.Fluct", from - DAY, to - DAY, () => ({ logins: 1000, small: 10 }));
    await ingest("Alarm.Fluct", from, to, () => ({ logins: 1000, small: 10 }));
    await ingest("Alarm.Group", from, to, () => ({ errors: 0, qps: 500 }));
    for (const s of ["Alarm.Ack", "Alarm.Silence", "Alarm.Flap"])
      await ingest(s, from, to, () => ({ latency: 50 }));

    await msec([
      "alarm",
      "rule",
      "add",
      "Alarm.Fluct",
      "logins",
      "--fluctuation",
      "50",
      "--against",
      "yesterday",
      "--min-base",
      "100",
      "--receiver",
      "hook",
      "--repeat",
      "0",
      "--severity",
      "critical",
    ]);
    const [fluct] = (
      (await api("GET", "/alarm-rules?service=Alarm.Fluct")) as { rules: AlarmRule[] }
    ).rules;
    rules.fluct = fluct?.id ?? 0;
    const fluctuation = { percent: 50, against: "yesterday", minBase: 100 };
    await addRule("small", {
      service: "Alarm.Fluct",
      attr: "small",
      kind: "fluctuation",
      fluctuation,
    });
    await addRule("errors", { service: "Alarm.Group", attr: "errors", kind: "max", threshold: 10 });
    await addRule("qps", { service: "Alarm.Group", attr: "qps", kind: "min", threshold: 100 });
    await addRule("ack", {
      service: "Alarm.Ack",
      attr: "latency",
      kind: "max",
      threshold: 100,
      repeatMinutes: 1,
    });
    await addRule("silence", {
      service: "Alarm.Silence",
      attr: "latency",
      kind: "max",
      threshold: 100,
      repeatMinutes: 1,
    });
    await addRule("flap", {
      service: "Alarm.Flap",
      attr: "latency",
      kind: "max",
      threshold: 100,
      flap: { n: 3, m: 5 },
    });
    // Switched on once its points are in, or it would fire on the empty start.
    await addRule("nodata", {
      service: "Alarm.Nodata",
      attr: "beats",
      kind: "nodata",
      nodataMinutes: 3,
      enabled: false,
    });
    await msec([
      "alarm",
      "silence",
      "--service",
      "Alarm.Silence",
      "--for",
      "2h",
      "--reason",
      "drill",
    ]);

    // The scenarios, some ticks ahead of the clock (seeding must finish before it gets there).
    await waitForClock(START);
    T = (await clock()) + 16 * MIN;
    const at = (m: number, ...offsets: number[]) => offsets.some((o) => m === T + o * MIN);
    await ingest("Alarm.Fluct", T, T + 2 * MIN, () => ({ logins: 400, small: 3 }));
    await ingest("Alarm.Group", T, T + 2 * MIN, () => ({ errors: 50, qps: 20 }));
    await ingest("Alarm.Ack", T, T + 100 * MIN, () => ({ latency: 500 }));
    await ingest("Alarm.Silence", T, T + 3 * MIN, () => ({ latency: 500 }));
    await ingest("Alarm.Flap", T, T + 20 * MIN, (m) => ({
      latency: at(m, 0, 2, 10, 12, 14) ? 500 : 50,
    }));
    await ingest("Alarm.Nodata", START - 30 * MIN, T + 60 * MIN, (m) =>
      m > T && m < T + 6 * MIN ? null : { beats: 1 },
    );
    const nodata = alarmRuleInput((await api("GET", `/alarm-rules/${rules.nodata}`)) as AlarmRule);
    await api("PUT", `/alarm-rules/${rules.nodata}`, { ...nodata, enabled: true });
    const now = await clock();
    if (now >= T)
      throw new Error(`seeding took too long: the alarm clock is at ${iso(now)}, past ${iso(T)}`);
  }, 60_000);

  afterAll(async () => {
    if (c) expect(await c.stop()).toBe(0);
    hook?.closeAllConnections();
    await new Promise((r) => hook?.close(r));
    await db?.dispose();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("fires a fluctuation rule on a 60% drop against yesterday, not on a small-number wiggle", async () => {
    const [fired, resolved] = await waitForMessages("Alarm.Fluct", 2);
    expect(fired).toMatchObject({ receiver: "hook", minute: iso(T) });
    expect(fired?.alarms).toEqual([
      expect.objectContaining({
        event: "firing",
        attr: "logins",
        ruleId: rules.fluct,
        severity: "critical",
        value: 400,
        message: "logins fell 60% against the same minute yesterday (400 vs 1000; fires at ±50%)",
      }),
    ]);
    expect(resolved).toMatchObject({
      minute: iso(T + 3 * MIN),
      alarms: [expect.objectContaining({ event: "resolved", attr: "logins" })],
    });
    await waitForClock(T + 5 * MIN);
    // `small` fell 70%, from 10 to 3: under the minimum base of 100, no alarm at all.
    expect(messagesOf("Alarm.Fluct")).toHaveLength(2);
    expect((await api("GET", `/alarms?ruleId=${rules.small}`)).alarms).toEqual([]);
    const small = (await api("GET", `/alarm-rules/${rules.small}`)) as AlarmRule;
    expect(small.state).toBe("ok");

    // The preview replays the stored day: the same three minutes.
    const preview = await api("POST", `/alarm-rules/${rules.fluct}/preview`, {});
    expect(preview.firing.map((f: { minute: string }) => f.minute)).toEqual([
      iso(T),
      iso(T + MIN),
      iso(T + 2 * MIN),
    ]);
    expect(preview.alarms).toEqual([{ firedAt: iso(T + MIN), resolvedAt: iso(T + 4 * MIN) }]);

    // The same rule, unsaved (the editor's Preview): the same answer, and nothing is stored.
    const spec = alarmRuleInput((await api("GET", `/alarm-rules/${rules.fluct}`)) as AlarmRule);
    const before = ((await api("GET", "/alarm-rules")) as { rules: AlarmRule[] }).rules.length;
    expect(await api("POST", "/alarm-rules/preview", spec)).toEqual(preview);
    const window = { from: iso(T + MIN), to: iso(T + 2 * MIN) };
    expect(await api("POST", "/alarm-rules/preview", { ...spec, ...window })).toEqual(
      await api("POST", `/alarm-rules/${rules.fluct}/preview`, window),
    );
    expect(((await api("GET", "/alarm-rules")) as { rules: AlarmRule[] }).rules).toHaveLength(
      before,
    );
    const incomplete = await call(c.url, "POST", "/alarm-rules/preview", {
      token,
      body: { service: "Alarm.Fluct", attr: "logins", kind: "max" },
    });
    expect(incomplete.status).toBe(400);
    expect(incomplete.body.error).toMatchObject({ field: "body.threshold" });
    const viewer = await userToken(c.url, token, "vic", "viewer");
    const refused = await call(c.url, "POST", "/alarm-rules/preview", {
      token: viewer,
      body: spec,
    });
    expect(refused.status).toBe(403);
  });

  it("sends two rules of one service breaking in the same minute as one message", async () => {
    const [fired, resolved] = await waitForMessages("Alarm.Group", 2);
    expect(fired?.minute).toBe(iso(T));
    expect(fired?.alarms.map((a) => [a.attr, a.event])).toEqual([
      ["errors", "firing"],
      ["qps", "firing"],
    ]);
    expect(fired?.summary).toBe(
      "Alarm.Group: 2 firing (warning) — errors = 50 > max 10; qps = 20 < min 100",
    );
    expect(resolved?.alarms.map((a) => [a.attr, a.event])).toEqual([
      ["errors", "resolved"],
      ["qps", "resolved"],
    ]);
    await waitForClock(T + 5 * MIN);
    expect(messagesOf("Alarm.Group")).toHaveLength(2);
  });

  it("fires a no-data rule when points stop and resolves it when they return", async () => {
    const [fired, resolved] = await waitForMessages("Alarm.Nodata", 2);
    expect(fired).toMatchObject({
      minute: iso(T + 3 * MIN),
      alarms: [expect.objectContaining({ event: "firing", kind: "nodata" })],
    });
    expect(fired?.alarms[0]?.message).toMatch(/^no point for beats for 3 minute\(s\)/);
    expect(resolved).toMatchObject({
      minute: iso(T + 6 * MIN),
      alarms: [expect.objectContaining({ event: "resolved" })],
    });
    const { alarms } = (await api("GET", "/alarms?service=Alarm.Nodata")) as { alarms: Alarm[] };
    expect(alarms.map((a) => [a.state, a.firedAt, a.resolvedAt])).toEqual([
      ["resolved", iso(T + 4 * MIN), iso(T + 7 * MIN)],
    ]);
  });

  it("fires a 3-of-5 flap rule only when three of five minutes break it", async () => {
    const [fired] = await waitForMessages("Alarm.Flap", 1);
    // Breaks at T, T+2 (two of five: pending only), then T+10, T+12, T+14: fires at T+14.
    expect(fired).toMatchObject({
      minute: iso(T + 14 * MIN),
      alarms: [expect.objectContaining({ event: "firing" })],
    });
    const { alarms } = (await api("GET", `/alarms?ruleId=${rules.flap}`)) as { alarms: Alarm[] };
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.firedAt).toBe(iso(T + 15 * MIN));
  });

  it("records a silenced alarm but sends nothing about it", async () => {
    await waitForClock(T + 6 * MIN);
    const { alarms } = (await api("GET", "/alarms?service=Alarm.Silence")) as { alarms: Alarm[] };
    expect(alarms.map((a) => [a.state, a.firedAt, a.resolvedAt, a.lastSentAt])).toEqual([
      ["resolved", iso(T + MIN), iso(T + 5 * MIN), null],
    ]);
    const { events } = (await api("GET", `/alarms/${alarms[0]?.id}`)) as { events: AlarmEvent[] };
    expect(events.map((e) => e.type)).toEqual(["firing", "suppressed", "resolved"]);
    expect(messagesOf("Alarm.Silence")).toEqual([]);
    const silences = JSON.parse(await msec(["alarm", "silences", "--json"]));
    expect(silences).toEqual([
      expect.objectContaining({
        matcher: { service: "Alarm.Silence" },
        reason: "drill",
        createdBy: "admin",
      }),
    ]);
  });

  it("stops repeating an alarm once acknowledged", async () => {
    const before = await waitForMessages("Alarm.Ack", 3);
    // One notice a minute (repeatMinutes 1): the firing, then repeats.
    expect(before.map((m) => m.alarms[0]?.event)).toEqual([
      "firing",
      ...before.slice(1).map(() => "repeat"),
    ]);
    expect(before.map((m) => m.minute).slice(0, 3)).toEqual([
      iso(T),
      iso(T + MIN),
      iso(T + 2 * MIN),
    ]);
    const [firing] = JSON.parse(
      await msec(["alarm", "list", "--firing", "--service", "Alarm.Ack", "--json"]),
    ) as Alarm[];
    expect(firing).toMatchObject({ state: "firing", ackedBy: null });
    await msec(["alarm", "ack", String(firing?.id), "--comment", "on it"]);
    // A repeat already on its way may still land; after that, silence while it still fires.
    await sleep(2 * TICK_MS);
    const settled = messagesOf("Alarm.Ack").length;
    await waitForClock((await clock()) + 8 * MIN);
    expect(messagesOf("Alarm.Ack")).toHaveLength(settled);
    const [after] = (await api("GET", "/alarms?service=Alarm.Ack")).alarms as Alarm[];
    expect(after).toMatchObject({ id: firing?.id, state: "firing", ackedBy: "admin" });
  });

  it("signs every webhook message", () => {
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.signed)).toBe(true);
  });

  it("lists rules and receivers through the CLI, with no secret", async () => {
    const list = JSON.parse(
      await msec(["alarm", "rule", "list", "Alarm.Group", "--json"]),
    ) as AlarmRule[];
    expect(list.map((r) => [r.attr, r.kind])).toEqual([
      ["errors", "max"],
      ["qps", "min"],
    ]);
    const text = await msec(["alarm", "rule", "list"]);
    expect(text).toMatch(
      /Alarm\.Fluct\s+logins\s+\*\s+±50% vs yesterday \(base ≥ 100\)\s+critical\s+hook/,
    );
    expect(await msec(["alarm", "rule", "disable", String(rules.small)])).toBe(
      `alarm rule #${rules.small} disabled\n`,
    );
    expect(((await api("GET", `/alarm-rules/${rules.small}`)) as AlarmRule).enabled).toBe(false);
    await msec(["alarm", "rule", "enable", String(rules.small)]);
    expect(((await api("GET", `/alarm-rules/${rules.small}`)) as AlarmRule).enabled).toBe(true);
    const receivers = await msec(["alarm", "receiver", "list", "--json"]);
    expect(JSON.parse(receivers)).toEqual([
      expect.objectContaining({ name: "hook", webhook: { url: hookUrl, hasSecret: true } }),
    ]);
    expect(receivers).not.toContain(SECRET);
  });
});
