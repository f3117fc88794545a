/**
 * The alarm evaluator: the stateful edge around the pure rule and lifecycle functions.
 * Once a minute (10 s after the boundary, so late points arrive) it evaluates every
 * enabled rule for the last complete minute, stores each result, groups the notices by
 * service and sends them. Only the holder of the store lease "alarm-evaluator" works,
 * and each rule's last evaluated minute is kept in the store: with several console
 * replicas every minute of every rule is evaluated exactly once, and a new holder after
 * a failover catches up on the minutes it missed (at most `catchUpMinutes`).
 *
 * ```ts
 * const alarms = createAlarmEvaluator({ store, log, now: Date.now });
 * await alarms.start();   // take the lease, then evaluate at each minute
 * await alarms.stop();    // before the store closes: finish sends, release the lease
 * ```
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../../core/log.js";
import { MINUTE_MS } from "../../core/schemas/monitor.js";
import { createLeaseKeeper, type LeaseKeeper, storeLeases } from "../lease/index.js";
import { readMinutes } from "../monitor/points.js";
import type { Store } from "../store/index.js";
import { toNotice } from "./alarm-repo.js";
import { createDispatcher, type NotifierFactory } from "./dispatch.js";
import { type AddressedNotice, groupNotices } from "./grouping.js";
import { step } from "./lifecycle.js";
import { type AlarmOptions, DEFAULT_ALARM_OPTIONS } from "./options.js";
import { receiverMap } from "./receiver-repo.js";
import { applyStep, listRules, loadAlarmState, type RuleRecord } from "./repo.js";
import { conditionOf, DAY_MS, measure, needs } from "./rules.js";
import { type SilenceSpec, silencing } from "./silence.js";
import { listSilences, toSilenceSpec } from "./silence-repo.js";

export const EVALUATOR_LEASE = "alarm-evaluator";

export interface AlarmEvaluator {
  /** Take the lease (or keep trying) and start evaluating on schedule. */
  start(): Promise<void>;
  /** Stop evaluating, let sends in flight finish (briefly), release the lease. */
  stop(): Promise<void>;
  /**
   * Evaluate every enabled rule up to `target` (a minute), from where each left off:
   * only while this replica holds the lease. Returns the number of rule-minutes evaluated.
   */
  evaluateUpTo(target: number): Promise<number>;
  readonly lease: LeaseKeeper;
  /** Resolves when the notices sent so far have been delivered or have failed. */
  idle(): Promise<void>;
}

export interface AlarmDeps {
  store: Store;
  log: Logger;
  now(): number;
  /** How notices reach receivers; default: the real notifiers. */
  notifierFor?: NotifierFactory;
  /** Lease holder id; default: host, pid and a random part. */
  holder?: string;
}

const SEND_GRACE_MS = 2000;

export function createAlarmEvaluator(
  deps: AlarmDeps,
  options: Partial<AlarmOptions> = {},
): AlarmEvaluator {
  const opts: AlarmOptions = { ...DEFAULT_ALARM_OPTIONS, ...options };
  const { store, now } = deps;
  const db = store.db;
  const log = deps.log.child({ part: "alarm" });
  const lease = createLeaseKeeper(storeLeases(db), {
    name: EVALUATOR_LEASE,
    holder: deps.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    now,
    ttlMs: opts.leaseTtlMs,
    renewMs: opts.leaseRenewMs,
    onChange: (held) =>
      log.info(
        { holder: lease.holder },
        held
          ? "holding the alarm-evaluator lease: evaluating alarms"
          : "not holding the alarm-evaluator lease",
      ),
    onError: (err) => log.warn({ err }, "could not renew the alarm-evaluator lease"),
  });
  const dispatcher = createDispatcher({
    store,
    log,
    now,
    ...(deps.notifierFor ? { notifierFor: deps.notifierFor } : {}),
    notifierOptions: {
      webhook: { retries: opts.webhookRetries, backoffMs: opts.webhookBackoffMs },
    },
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<unknown> | undefined;

  /** The last complete minute, waiting `delayMs` after each boundary. */
  const lastCompleteMinute = () =>
    Math.floor((now() - opts.delayMs) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;

  function run(target: number): void {
    if (stopped || running || !lease.holds()) return;
    running = evaluateUpTo(target)
      .catch((err) => log.error({ err }, "alarm evaluation failed"))
      .finally(() => {
        running = undefined;
      });
  }

  function scheduleMinute(): void {
    if (stopped) return;
    const t = now();
    const next = (Math.floor((t - opts.delayMs) / MINUTE_MS) + 1) * MINUTE_MS + opts.delayMs;
    timer = setTimeout(
      () => {
        run(lastCompleteMinute());
        scheduleMinute();
      },
      Math.max(0, next - t),
    );
    timer.unref();
  }

  async function readSeries(rule: RuleRecord, minute: number): Promise<Map<number, number>> {
    const s = rule.spec;
    const need = needs(conditionOf(s));
    const back = (s.flap.m - 1 + need.before) * MINUTE_MS;
    const q = { service: s.service, attr: s.attr, instance: s.instance };
    const series = new Map<number, number>();
    for (const p of await readMinutes(db, { ...q, from: minute - back, to: minute }))
      series.set(p.minute, p.value);
    if (need.yesterday) {
      const y = minute - DAY_MS;
      const points = await readMinutes(db, { ...q, from: y - (s.flap.m - 1) * MINUTE_MS, to: y });
      for (const p of points) series.set(p.minute, p.value);
    }
    return series;
  }

  /** One rule, one minute; the notice to send, if any. Safe to run twice (it skips a done minute). */
  async function evaluateRule(
    ruleId: number,
    minute: number,
    silences: readonly SilenceSpec[],
  ): Promise<AddressedNotice | null> {
    const at = minute + MINUTE_MS;
    for (let attempt = 0; attempt < 3; attempt++) {
      const [found] = await listRules(db, { id: ruleId });
      if (!found?.rule.spec.enabled) return null;
      const { rule, state: prev } = found;
      if (prev.evaluatedMinute !== null && prev.evaluatedMinute >= minute) return null;
      const c = conditionOf(rule.spec);
      const series = await readSeries(rule, minute);
      const window = [];
      for (let i = rule.spec.flap.m - 1; i >= 0; i--)
        window.push(measure(c, minute - i * MINUTE_MS, series));
      const silencedBy = silencing(
        silences,
        { id: rule.id, service: rule.spec.service, attr: rule.spec.attr },
        at,
      );
      const { state, alarm } = await loadAlarmState(db, prev);
      const s = step({
        rule: rule.spec,
        previous: state,
        at,
        window,
        silenced: silencedBy.length > 0,
      });
      const current = window[window.length - 1];
      if (!current) return null;
      const written = await applyStep(store, {
        rule,
        prev,
        alarm,
        minute,
        at,
        step: s,
        measurement: current,
        silencedBy,
      });
      if (written === null) continue; // an ack, an edit or another evaluator came first: look again
      if (s.transition) {
        log.info(
          {
            ruleId: rule.id,
            service: rule.spec.service,
            attr: rule.spec.attr,
            minute: new Date(minute).toISOString(),
            silenced: silencedBy.length > 0,
          },
          `rule #${rule.id} ${s.transition}: ${current.message}`,
        );
      }
      if (s.notice && written.alarm)
        return { receivers: rule.spec.receivers, notice: toNotice(written.alarm, s.notice) };
      return null;
    }
    log.warn(
      { ruleId, minute },
      "rule state kept changing under the evaluator; trying again next minute",
    );
    return null;
  }

  async function evaluateUpTo(target: number): Promise<number> {
    if (!lease.holds()) return 0;
    const rules = await listRules(db, { enabledOnly: true });
    const earliest = target - (opts.catchUpMinutes - 1) * MINUTE_MS;
    const plan = new Map<number, number[]>();
    for (const { rule, state } of rules) {
      const cursor = state.evaluatedMinute;
      if (cursor !== null && cursor >= target) continue;
      let from = cursor === null ? target : cursor + MINUTE_MS;
      if (from < earliest) {
        log.warn(
          { ruleId: rule.id, skipped: (earliest - from) / MINUTE_MS },
          `rule #${rule.id} fell behind; skipping ${(earliest - from) / MINUTE_MS} minute(s) older than ${opts.catchUpMinutes}`,
        );
        from = earliest;
      }
      for (let m = from; m <= target; m += MINUTE_MS) {
        const list = plan.get(m) ?? [];
        list.push(rule.id);
        plan.set(m, list);
      }
    }
    if (plan.size === 0) return 0;
    const minutes = [...plan.keys()].sort((a, b) => a - b);
    const receivers = await receiverMap(db);
    const silences = (await listSilences(db, (minutes[0] ?? target) + MINUTE_MS)).map(
      toSilenceSpec,
    );
    const failed = new Set<number>();
    let count = 0;
    for (const minute of minutes) {
      const notices: AddressedNotice[] = [];
      for (const ruleId of plan.get(minute) ?? []) {
        if (failed.has(ruleId)) continue;
        if (stopped || !lease.holds()) {
          log.warn(
            "lost the alarm-evaluator lease mid-evaluation; the next holder goes on from here",
          );
          return count;
        }
        try {
          const n = await evaluateRule(ruleId, minute, silences);
          count++;
          if (n) notices.push(n);
        } catch (err) {
          // Later minutes of this rule wait, so none is skipped.
          failed.add(ruleId);
          log.error(
            { err, ruleId, minute: new Date(minute).toISOString() },
            `could not evaluate rule #${ruleId}`,
          );
        }
      }
      if (notices.length > 0) dispatcher.dispatch(groupNotices(notices, minute), receivers);
    }
    return count;
  }

  return {
    lease,
    evaluateUpTo,
    idle: () => dispatcher.idle(),

    async start() {
      stopped = false;
      await lease.start();
      if (opts.tickMs !== null) {
        let minute = opts.startMinute ?? lastCompleteMinute();
        timer = setInterval(() => {
          // The clock moves on each tick, whether or not this replica does the work.
          const target = minute;
          minute += MINUTE_MS;
          run(target);
        }, opts.tickMs);
        timer.unref();
        log.warn(
          { tickMs: opts.tickMs, from: new Date(minute).toISOString() },
          "alarm test clock: one minute per tick",
        );
      } else {
        run(lastCompleteMinute());
        scheduleMinute();
      }
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) {
        clearTimeout(timer);
        clearInterval(timer);
      }
      await running;
      await dispatcher.drain(SEND_GRACE_MS);
      await lease.stop();
    },
  };
}
