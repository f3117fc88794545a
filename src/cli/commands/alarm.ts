import { type Command, InvalidArgumentError, Option } from "commander";
import { z } from "zod";
import {
  Alarm,
  AlarmEvent,
  AlarmRule,
  type AlarmRuleInput,
  alarmRuleInput,
  PreviewResult,
  Severity,
  Silence,
} from "../../core/schemas/alarm.js";
import { collect, intArg } from "../args.js";
import { apiClient, globals } from "../context.js";
import { UsageError } from "../errors.js";
import { printJson, printTable } from "../output.js";
import { registerReceiverCommands } from "./alarm-receivers.js";

const idArg = intArg(1, Number.MAX_SAFE_INTEGER);

function numArg(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new InvalidArgumentError("must be a number.");
  return n;
}

function flapArg(value: string): { n: number; m: number } {
  const m = /^(\d{1,2})\/(\d{1,2})$/.exec(value);
  const n = Number(m?.[1]);
  const of = Number(m?.[2]);
  if (!m || n < 1 || of < 1 || n > of || of > 60) {
    throw new InvalidArgumentError(
      "must be N/M with 1 ≤ N ≤ M ≤ 60, e.g. 3/5 (3 of the last 5 minutes).",
    );
  }
  return { n, m: of };
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `2h`, `1d` → milliseconds. */
export function durationArg(value: string): number {
  const m = /^(\d+)([smhd])$/.exec(value);
  const ms = m ? Number(m[1]) * (UNITS[m[2] ?? ""] ?? 0) : 0;
  if (!m || ms <= 0) throw new InvalidArgumentError("must be a duration like 90s, 30m, 2h or 1d.");
  return ms;
}

/** The rule's condition in a few words: `> 1000`, `±50% vs yesterday (base ≥ 100)`, `no data 3 min`. */
export function describeRule(r: AlarmRule): string {
  switch (r.kind) {
    case "max":
      return `> ${r.threshold}`;
    case "min":
      return `< ${r.threshold}`;
    case "fluctuation": {
      const f = r.fluctuation;
      const vs = f.against === "yesterday" ? "yesterday" : `mean of ${f.meanMinutes} min`;
      return `±${f.percent}% vs ${vs}${f.minBase > 0 ? ` (base ≥ ${f.minBase})` : ""}`;
    }
    case "nodata":
      return `no data ${r.nodataMinutes} min`;
  }
}

function printRules(rules: readonly AlarmRule[]): void {
  printTable(
    rules.map((r) => ({
      ...r,
      condition: describeRule(r),
      flap: `${r.flap.n}/${r.flap.m}`,
      receivers: r.receivers.join(",") || "-",
      enabled: r.enabled ? "yes" : "no",
    })),
    [
      "id",
      "service",
      "attr",
      "instance",
      "condition",
      "severity",
      "receivers",
      "flap",
      "state",
      "enabled",
    ],
  );
}

const Rules = z.object({ rules: z.array(AlarmRule) });

interface RuleFlags {
  max?: number;
  min?: number;
  fluctuation?: number;
  against?: "yesterday" | "mean";
  meanMinutes?: number;
  minBase?: number;
  nodata?: number;
  instance?: string;
  severity?: string;
  receiver?: string[];
  flap?: { n: number; m: number };
  repeat?: number;
  disabled?: boolean;
}

function ruleBody(service: string, attr: string, f: RuleFlags): AlarmRuleInput {
  const kinds = (["max", "min", "fluctuation", "nodata"] as const).filter(
    (k) => f[k] !== undefined,
  );
  if (kinds.length !== 1) {
    throw new UsageError("give exactly one of --max, --min, --fluctuation, --nodata");
  }
  const common = {
    service,
    attr,
    ...(f.instance !== undefined ? { instance: f.instance } : {}),
    ...(f.severity !== undefined ? { severity: f.severity as Severity } : {}),
    ...(f.receiver !== undefined ? { receivers: f.receiver } : {}),
    ...(f.flap !== undefined ? { flap: f.flap } : {}),
    ...(f.repeat !== undefined ? { repeatMinutes: f.repeat } : {}),
    enabled: !f.disabled,
  };
  const kind = kinds[0];
  if (
    kind !== "fluctuation" &&
    (f.against !== undefined || f.minBase !== undefined || f.meanMinutes !== undefined)
  ) {
    throw new UsageError("--against, --min-base and --mean-minutes go with --fluctuation");
  }
  switch (kind) {
    case "max":
    case "min":
      return { ...common, kind, threshold: f[kind] as number };
    case "nodata":
      return { ...common, kind, nodataMinutes: f.nodata as number };
    default:
      if (f.against === undefined)
        throw new UsageError("--fluctuation needs --against yesterday|mean");
      return {
        ...common,
        kind: "fluctuation",
        fluctuation: {
          percent: f.fluctuation as number,
          against: f.against,
          ...(f.meanMinutes !== undefined ? { meanMinutes: f.meanMinutes } : {}),
          ...(f.minBase !== undefined ? { minBase: f.minBase } : {}),
        },
      };
  }
}

/** `msec alarm …`: rules, alarms, silences and receivers. */
export function registerAlarmCommands(program: Command): void {
  const alarm = program
    .command("alarm")
    .description("alarm rules, firing alarms and their history, silences, receivers");

  const rule = alarm
    .command("rule")
    .description("alarm rules (operator to change, viewer to read)");

  rule
    .command("add")
    .description("add a rule: exactly one of --max, --min, --fluctuation, --nodata")
    .argument("<service>", "service name, L1.L2")
    .argument("<attr>", "attribute, as the service names it")
    .option("--max <n>", "fire when the value is above n", numArg)
    .option("--min <n>", "fire when the value is below n", numArg)
    .option(
      "--fluctuation <percent>",
      "fire when the value changes by at least this percent",
      numArg,
    )
    .addOption(new Option("--against <base>", "fluctuation base").choices(["yesterday", "mean"]))
    .option(
      "--mean-minutes <n>",
      "minutes in the mean (with --against mean; default 10)",
      intArg(1, 1440),
    )
    .option("--min-base <n>", "no fluctuation alarm while the base is below n", numArg)
    .option(
      "--nodata <minutes>",
      "fire when there is no point for this many minutes",
      intArg(1, 1440),
    )
    .option("--instance <addr>", "one instance (ip:port) instead of the service total")
    .addOption(new Option("--severity <s>", "severity (default warning)").choices(Severity.options))
    .option("--receiver <name>", "who hears of it (repeat for several)", collect)
    .option("--flap <n/m>", "fire only when n of the last m minutes break the rule", flapArg)
    .option(
      "--repeat <minutes>",
      "repeat a firing alarm every so many minutes (0: never; default 30)",
      intArg(0, 10_080),
    )
    .option("--disabled", "add it switched off")
    .action(async (service: string, attr: string, flags: RuleFlags, cmd: Command) => {
      const body = ruleBody(service, attr, flags);
      const r = await (await apiClient(cmd)).post("/alarm-rules", body, AlarmRule);
      if (globals(cmd).json) printJson(r);
      else
        process.stdout.write(
          `added alarm rule #${r.id}: ${r.service} ${r.attr} ${describeRule(r)}\n`,
        );
    });

  rule
    .command("list")
    .description("list rules with what each is doing now")
    .argument("[service]", "only this service's rules")
    .action(async (service: string | undefined, _f: unknown, cmd: Command) => {
      const q = service ? `?service=${encodeURIComponent(service)}` : "";
      const { rules } = await (await apiClient(cmd)).get(`/alarm-rules${q}`, Rules);
      if (globals(cmd).json) printJson(rules);
      else printRules(rules);
    });

  rule
    .command("rm")
    .description("remove a rule (its alarms stay in the history)")
    .argument("<id>", "rule id", idArg)
    .action(async (id: number, _f: unknown, cmd: Command) => {
      await (await apiClient(cmd)).delete(`/alarm-rules/${id}`);
      process.stdout.write(`removed alarm rule #${id}\n`);
    });

  for (const [verb, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    rule
      .command(verb)
      .description(
        enabled ? "switch a rule on" : "switch a rule off (resolves its alarm without a notice)",
      )
      .argument("<id>", "rule id", idArg)
      .action(async (id: number, _f: unknown, cmd: Command) => {
        const client = await apiClient(cmd);
        const r = await client.get(`/alarm-rules/${id}`, AlarmRule);
        await client.call(
          "PUT",
          `/alarm-rules/${id}`,
          { ...alarmRuleInput(r), enabled },
          AlarmRule,
        );
        process.stdout.write(`alarm rule #${id} ${enabled ? "enabled" : "disabled"}\n`);
      });
  }

  rule
    .command("preview")
    .description("how a rule would have fired over the last day of stored points")
    .argument("<id>", "rule id", idArg)
    .action(async (id: number, _f: unknown, cmd: Command) => {
      const p = await (await apiClient(cmd)).post(`/alarm-rules/${id}/preview`, {}, PreviewResult);
      if (globals(cmd).json) {
        printJson(p);
        return;
      }
      process.stdout.write(
        `${p.from} – ${p.to}: ${p.alarms.length} alarm(s), ${p.firing.length} firing minute(s)\n`,
      );
      printTable(p.alarms, ["firedAt", "resolvedAt"]);
    });

  alarm
    .command("list")
    .description("alarms, newest first: firing ones and the history")
    .option("--firing", "only alarms firing now")
    .option("--service <name>", "only this service")
    .option("--limit <n>", "how many (1-1000)", intArg(1, 1000), 100)
    .action(async (flags: { firing?: boolean; service?: string; limit: number }, cmd: Command) => {
      const q = new URLSearchParams({ limit: String(flags.limit) });
      if (flags.firing) q.set("state", "firing");
      if (flags.service) q.set("service", flags.service);
      const { alarms } = await (await apiClient(cmd)).get(
        `/alarms?${q}`,
        z.object({ alarms: z.array(Alarm) }),
      );
      if (globals(cmd).json) printJson(alarms);
      else
        printTable(alarms, [
          "id",
          "state",
          "severity",
          "service",
          "attr",
          "instance",
          "firedAt",
          "resolvedAt",
          "ackedBy",
          "message",
        ]);
    });

  alarm
    .command("show")
    .description("one alarm and its history")
    .argument("<id>", "alarm id", idArg)
    .action(async (id: number, _f: unknown, cmd: Command) => {
      const r = await (await apiClient(cmd)).get(
        `/alarms/${id}`,
        z.object({ alarm: Alarm, events: z.array(AlarmEvent) }),
      );
      if (globals(cmd).json) {
        printJson(r);
        return;
      }
      const a = r.alarm;
      process.stdout.write(
        `alarm #${a.id} (rule #${a.ruleId}) ${a.state} ${a.severity}: ${a.service} ${a.attr} ${a.instance}\n${a.message}\n\n`,
      );
      printTable(r.events, ["at", "type", "details"]);
    });

  alarm
    .command("ack")
    .description("acknowledge a firing alarm: no more repeats until it resolves (operator)")
    .argument("<id>", "alarm id", idArg)
    .option("--comment <text>", "a note for the history")
    .action(async (id: number, flags: { comment?: string }, cmd: Command) => {
      const a = await (await apiClient(cmd)).post(
        `/alarms/${id}/ack`,
        flags.comment ? { comment: flags.comment } : {},
        Alarm,
      );
      process.stdout.write(`alarm #${a.id} acknowledged by ${a.ackedBy}\n`);
    });

  alarm
    .command("silence")
    .description(
      "send no notices for matching alarms until a time (they still fire and are recorded)",
    )
    .option("--service <name>", "alarms of this service")
    .option("--attr <attr>", "alarms on this attribute")
    .option("--rule <id>", "alarms of this rule", idArg)
    .option("--for <duration>", "from now, e.g. 30m, 2h, 1d", durationArg)
    .option("--until <time>", "until this ISO-8601 time")
    .option("--reason <text>", "why (kept with the silence)")
    .action(
      async (
        flags: {
          service?: string;
          attr?: string;
          rule?: number;
          for?: number;
          until?: string;
          reason?: string;
        },
        cmd: Command,
      ) => {
        if (flags.service === undefined && flags.attr === undefined && flags.rule === undefined) {
          throw new UsageError("say what to silence: --service, --attr and/or --rule");
        }
        if ((flags.for === undefined) === (flags.until === undefined)) {
          throw new UsageError("give one of --for and --until");
        }
        let until: string;
        if (flags.for !== undefined) until = new Date(Date.now() + flags.for).toISOString();
        else {
          const t = Date.parse(flags.until ?? "");
          if (Number.isNaN(t))
            throw new UsageError(`--until: "${flags.until}" is not an ISO-8601 time`);
          until = new Date(t).toISOString();
        }
        const s = await (await apiClient(cmd)).post(
          "/silences",
          {
            matcher: {
              ...(flags.service !== undefined ? { service: flags.service } : {}),
              ...(flags.attr !== undefined ? { attr: flags.attr } : {}),
              ...(flags.rule !== undefined ? { ruleId: flags.rule } : {}),
            },
            until,
            ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
          },
          Silence,
        );
        if (globals(cmd).json) printJson(s);
        else process.stdout.write(`silence #${s.id} until ${s.until}\n`);
      },
    );

  alarm
    .command("silences")
    .description("list silences in force")
    .option("--all", "also those that ran out")
    .action(async (flags: { all?: boolean }, cmd: Command) => {
      const { silences } = await (await apiClient(cmd)).get(
        `/silences${flags.all ? "?all=true" : ""}`,
        z.object({ silences: z.array(Silence) }),
      );
      if (globals(cmd).json) printJson(silences);
      else printTable(silences, ["id", "matcher", "until", "reason", "createdBy", "createdAt"]);
    });

  alarm
    .command("unsilence")
    .description("end a silence now")
    .argument("<id>", "silence id", idArg)
    .action(async (id: number, _f: unknown, cmd: Command) => {
      await (await apiClient(cmd)).delete(`/silences/${id}`);
      process.stdout.write(`removed silence #${id}\n`);
    });

  registerReceiverCommands(alarm);
}
