import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ackAlarm, listAlarmEvents, listAlarms } from "../../src/console/alarm/alarm-repo.js";
import { createAlarmEvaluator } from "../../src/console/alarm/evaluator.js";
import { step } from "../../src/console/alarm/lifecycle.js";
import {
  insertReceiver,
  rulesUsing,
  toReceiverView,
} from "../../src/console/alarm/receiver-repo.js";
import {
  applyStep,
  deleteRule,
  getRule,
  insertRule,
  listRules,
  loadAlarmState,
  loadRuleState,
} from "../../src/console/alarm/repo.js";
import { insertSilence, listSilences } from "../../src/console/alarm/silence-repo.js";
import { acquireLease, readLease, releaseLease } from "../../src/console/lease/index.js";
import { writePoints } from "../../src/console/monitor/points.js";
import { openStore, type Store } from "../../src/console/store/index.js";
import { createLogger } from "../../src/core/log.js";
import { type AlarmMessage, AlarmRuleInput } from "../../src/core/schemas/alarm.js";
import { freshDatabase, TEST_ENGINES, type TestDatabase } from "../support/engines.js";

const MIN = 60_000;
// Tuesday 2026-03-10 12:00 UTC.
const M0 = Date.UTC(2026, 2, 10, 12, 0);
const log = createLogger({ level: "silent" });

async function stateOf(store: Store, ruleId: number) {
  const s = await loadRuleState(store.db, ruleId);
  if (!s) throw new Error(`rule #${ruleId} has no state`);
  return s;
}

describe.each(TEST_ENGINES)("alarm store [%s]", (engine) => {
  let database: TestDatabase;
  // Two connections to one database: two console replicas.
  let a: Store;
  let b: Store;

  beforeAll(async () => {
    database = await freshDatabase(engine);
    a = await openStore(database.url);
    b = await openStore(database.url);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.dispose();
  });

  it("runs the alarm migration", async () => {
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(a.db);
    expect(applied.rows.map((r) => r.name)).toContain("0004-alarms");
  });

  describe("lease", () => {
    it("is held by one holder until it expires or is released", async () => {
      expect(await acquireLease(a.db, "l1", "a", 1000, 30_000)).toBe(true);
      expect(await acquireLease(b.db, "l1", "b", 2000, 30_000)).toBe(false);
      // The holder renews; the expiry moves.
      expect(await acquireLease(a.db, "l1", "a", 10_000, 30_000)).toBe(true);
      expect(await readLease(a.db, "l1")).toEqual({ holder: "a", expiresAt: 40_000 });
      expect(await acquireLease(b.db, "l1", "b", 39_999, 30_000)).toBe(false);
      expect(await acquireLease(b.db, "l1", "b", 40_000, 30_000)).toBe(true);
      // The old holder cannot renew, nor release what is no longer its own.
      expect(await acquireLease(a.db, "l1", "a", 40_001, 30_000)).toBe(false);
      expect(await releaseLease(a.db, "l1", "a")).toBe(false);
      expect(await releaseLease(b.db, "l1", "b")).toBe(true);
      expect(await acquireLease(a.db, "l1", "a", 40_002, 30_000)).toBe(true);
    });

    it("never goes to two holders racing for it", async () => {
      let t = 1_000_000;
      const winners: string[] = [];
      for (let round = 0; round < 30; round++) {
        // Each round starts with the lease free (expired), and both ask at once on their own connections.
        const [ga, gb] = await Promise.all([
          acquireLease(a.db, "race", "a", t, 1000),
          acquireLease(b.db, "race", "b", t, 1000),
        ]);
        expect(Number(ga) + Number(gb)).toBe(1);
        const holder = (await readLease(a.db, "race"))?.holder;
        expect(holder).toBe(ga ? "a" : "b");
        winners.push(holder ?? "");
        t += 1000;
      }
      expect(winners).toHaveLength(30);
    });
  });

  describe("rules and their state", () => {
    it("stores a rule with its state, and removes the state with it", async () => {
      const spec = AlarmRuleInput.parse({
        service: "Store.Rules",
        attr: "logins",
        kind: "fluctuation",
        fluctuation: { percent: 50, against: "mean", minBase: 100 },
        flap: { n: 2, m: 3 },
      });
      const r = await insertRule(a.db, spec, M0);
      const got = await getRule(a.db, r.id);
      expect(got.rule.spec).toEqual(spec);
      expect(got.state).toMatchObject({ state: "ok", evaluatedMinute: null, alarmId: null });
      await deleteRule(a.db, r.id);
      expect(await loadRuleState(a.db, r.id)).toBeUndefined();
      await expect(getRule(a.db, r.id)).rejects.toThrow(/no alarm rule/);
    });

    it("refuses a step written over a newer state (an ack came first)", async () => {
      const rule = await insertRule(
        a.db,
        AlarmRuleInput.parse({
          service: "Store.Cas",
          attr: "errors",
          kind: "max",
          threshold: 10,
          repeatMinutes: 1,
        }),
        M0,
      );
      const breach = {
        outcome: "breach" as const,
        minute: M0,
        value: 50,
        message: "errors = 50 > max 10",
      };
      const prev = await stateOf(a, rule.id);
      const s = step({
        rule: rule.spec,
        previous: { state: "ok" },
        at: M0 + MIN,
        window: [breach],
        silenced: false,
      });
      const w = await applyStep(a, {
        rule,
        prev,
        alarm: undefined,
        minute: M0,
        at: M0 + MIN,
        step: s,
        measurement: breach,
        silencedBy: [],
      });
      const alarm = w?.alarm;
      expect(alarm).toMatchObject({ state: "firing", value: 50, last_sent_at: M0 + MIN });

      // The evaluator reads the state for the next minute ...
      const read = await stateOf(a, rule.id);
      const { state, alarm: open } = await loadAlarmState(a.db, read);
      const next = { ...breach, minute: M0 + MIN };
      const repeat = step({
        rule: rule.spec,
        previous: state,
        at: M0 + 2 * MIN,
        window: [next],
        silenced: false,
      });
      expect(repeat.notice).toBe("repeat");
      // ... an operator acknowledges meanwhile ...
      await ackAlarm(b.db, Number(alarm?.id), "olga", M0 + 90_000);
      // ... so the evaluator's write is refused, and stepping again sends nothing.
      const stale = await applyStep(a, {
        rule,
        prev: read,
        alarm: open,
        minute: M0 + MIN,
        at: M0 + 2 * MIN,
        step: repeat,
        measurement: next,
        silencedBy: [],
      });
      expect(stale).toBeNull();
      const fresh = await stateOf(a, rule.id);
      const again = step({
        rule: rule.spec,
        previous: (await loadAlarmState(a.db, fresh)).state,
        at: M0 + 2 * MIN,
        window: [next],
        silenced: false,
      });
      expect(again.notice).toBeNull();
      expect(
        await applyStep(a, {
          rule,
          prev: fresh,
          alarm: open,
          minute: M0 + MIN,
          at: M0 + 2 * MIN,
          step: again,
          measurement: next,
          silencedBy: [],
        }),
      ).not.toBeNull();
      const events = await listAlarmEvents(a.db, Number(alarm?.id));
      expect(events.map((e) => e.type)).toEqual(["firing", "acked"]);
      expect(events[1]?.details).toEqual({ by: "olga" });
      await expect(ackAlarm(a.db, 999_999, "olga", M0)).rejects.toThrow(/no alarm #999999/);
    });
  });

  it("keeps receiver secrets out of views and knows which rules use a receiver", async () => {
    const row = await insertReceiver(
      a.db,
      {
        name: "hook",
        kind: "webhook",
        webhook: { url: "http://127.0.0.1:9/x", secret: "signing-key-1" },
      },
      M0,
    );
    const view = toReceiverView(row);
    expect(view).toMatchObject({
      name: "hook",
      kind: "webhook",
      webhook: { url: "http://127.0.0.1:9/x", hasSecret: true },
    });
    expect(JSON.stringify(view)).not.toContain("signing-key-1");
    const r = await insertRule(
      a.db,
      AlarmRuleInput.parse({
        service: "Store.Recv",
        attr: "x",
        kind: "nodata",
        receivers: ["hook"],
      }),
      M0,
    );
    expect(await rulesUsing(a.db, "hook")).toEqual([r.id]);
    await deleteRule(a.db, r.id);
  });

  it("lists silences in force", async () => {
    await insertSilence(
      a.db,
      { service: "Store.Sil", until: M0 + MIN, reason: "deploy", createdBy: "olga" },
      M0,
    );
    expect((await listSilences(a.db, M0)).map((s) => s.service)).toContain("Store.Sil");
    expect((await listSilences(a.db, M0 + MIN)).map((s) => s.service)).not.toContain("Store.Sil");
  });

  it("records a failed notice in the alarm's history and goes on", async () => {
    const SVC = "Store.Fail";
    await insertReceiver(
      a.db,
      { name: "down", kind: "command", command: { argv: ["/nonexistent"] } },
      M0,
    );
    const rule = await insertRule(
      a.db,
      AlarmRuleInput.parse({
        service: SVC,
        attr: "errors",
        kind: "max",
        threshold: 1,
        receivers: ["down"],
      }),
      M0,
    );
    await writePoints(a, SVC, "10.0.0.9:8080", [
      { minute: M0, points: [{ attr: "errors", kind: "counter", value: 5 }] },
    ]);
    let t = M0 + 70_000;
    const ev = createAlarmEvaluator({
      store: a,
      log,
      now: () => t,
      holder: "fail",
      notifierFor: () => ({
        send: async () => {
          throw new Error("gateway down");
        },
      }),
    });
    await ev.lease.renew();
    expect(await ev.evaluateUpTo(M0)).toBeGreaterThanOrEqual(1);
    await ev.idle();
    const [alarm] = await listAlarms(a.db, { service: SVC, limit: 1 });
    expect(alarm).toMatchObject({ rule_id: rule.id, state: "firing", last_sent_at: M0 + MIN });
    const events = await listAlarmEvents(a.db, Number(alarm?.id));
    expect(events.map((e) => [e.type, e.details.error])).toEqual([
      ["firing", undefined],
      ["notify_failed", "gateway down"],
    ]);
    t += MIN;
    await ev.stop();
    await deleteRule(a.db, rule.id);
  });

  describe("evaluator on two replicas", () => {
    const SVC = "Store.Eval";
    const sent: { by: string; message: AlarmMessage }[] = [];
    let t = M0;
    const capture = (by: string) => () => ({
      send: async (message: AlarmMessage) => {
        sent.push({ by, message });
      },
    });
    const evaluators = () =>
      [
        createAlarmEvaluator({
          store: a,
          log,
          now: () => t,
          notifierFor: capture("a"),
          holder: "replica-a",
        }),
        createAlarmEvaluator({
          store: b,
          log,
          now: () => t,
          notifierFor: capture("b"),
          holder: "replica-b",
        }),
      ] as const;

    beforeAll(async () => {
      await insertReceiver(
        a.db,
        { name: "ops", kind: "webhook", webhook: { url: "http://127.0.0.1:9/ops" } },
        M0,
      );
      // Everything except the store-eval rules is disabled here, so only ours evaluate.
      for (const { rule } of await listRules(a.db)) await deleteRule(a.db, rule.id);
      await insertRule(
        a.db,
        AlarmRuleInput.parse({
          service: SVC,
          attr: "errors",
          kind: "max",
          threshold: 10,
          receivers: ["ops"],
          repeatMinutes: 0,
        }),
        M0,
      );
      await insertRule(
        a.db,
        AlarmRuleInput.parse({
          service: SVC,
          attr: "qps",
          kind: "min",
          threshold: 100,
          receivers: ["ops"],
          repeatMinutes: 0,
        }),
        M0,
      );
      const minutes = Array.from({ length: 60 }, (_, i) => ({
        minute: M0 + i * MIN,
        points: [
          { attr: "errors", kind: "counter" as const, value: i === 5 ? 50 : 0 },
          { attr: "qps", kind: "gauge" as const, value: i === 5 ? 20 : 500 },
        ],
      }));
      await writePoints(a, SVC, "10.0.0.1:8080", minutes);
    });

    it("evaluates each minute once, on the lease holder, and groups one service's alarms", async () => {
      const [ea, eb] = evaluators();
      t = M0 + 70_000;
      expect(await ea.lease.renew()).toBe(true);
      expect(await eb.lease.renew()).toBe(false);
      let total = 0;
      for (let k = 0; k < 10; k++) {
        t = M0 + (k + 1) * MIN + 10_000;
        // The fake clock jumps a minute, past the lease's 30 s: a renews first, as it would have.
        await ea.lease.renew();
        expect(await eb.lease.renew()).toBe(false);
        const counts = await Promise.all([
          ea.evaluateUpTo(M0 + k * MIN),
          eb.evaluateUpTo(M0 + k * MIN),
        ]);
        expect(counts[1]).toBe(0);
        total += counts[0];
        // Asked again for the same minute: nothing left to do.
        expect(await ea.evaluateUpTo(M0 + k * MIN)).toBe(0);
      }
      await ea.idle();
      expect(total).toBe(20);
      expect(
        sent.map((s) => [s.by, s.message.minute, s.message.alarms.map((x) => [x.attr, x.event])]),
      ).toEqual([
        [
          "a",
          new Date(M0 + 5 * MIN).toISOString(),
          [
            ["errors", "firing"],
            ["qps", "firing"],
          ],
        ],
        [
          "a",
          new Date(M0 + 6 * MIN).toISOString(),
          [
            ["errors", "resolved"],
            ["qps", "resolved"],
          ],
        ],
      ]);
      const alarms = await listAlarms(a.db, { service: SVC, limit: 10 });
      expect(alarms.map((x) => [x.attr, x.state, x.fired_at, x.resolved_at])).toEqual([
        ["qps", "resolved", M0 + 6 * MIN, M0 + 7 * MIN],
        ["errors", "resolved", M0 + 6 * MIN, M0 + 7 * MIN],
      ]);
      const events = await listAlarmEvents(a.db, Number(alarms[0]?.id));
      expect(events.map((e) => e.type)).toEqual(["firing", "notified", "resolved", "notified"]);

      // Failover: a stops (and releases); b takes over and goes on from where a left off.
      await ea.stop();
      t = M0 + 15 * MIN + 10_000;
      expect(await eb.lease.renew()).toBe(true);
      expect(await eb.evaluateUpTo(M0 + 14 * MIN)).toBe(10); // minutes 10..14 of both rules
      for (const { state } of await listRules(a.db, { service: SVC })) {
        expect(state.evaluatedMinute).toBe(M0 + 14 * MIN);
      }
      // Far behind: at most the last 10 minutes are caught up.
      t = M0 + 41 * MIN + 10_000;
      await eb.lease.renew();
      expect(await eb.evaluateUpTo(M0 + 40 * MIN)).toBe(20);
      await eb.stop();
      expect(await readLease(a.db, "alarm-evaluator")).toBeUndefined();
      expect(sent).toHaveLength(2);
    });
  });
});
