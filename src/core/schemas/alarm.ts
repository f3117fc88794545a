/**
 * Alarms: rules over per-minute points, the receivers that hear about them, the alarms
 * they raise, and silences. Shared by the console (input validation), the CLI (answers)
 * and the web UI.
 *
 * ```ts
 * AlarmRuleInput.parse({ service: "Login.Auth", attr: "logins", kind: "fluctuation",
 *   fluctuation: { percent: 50, against: "yesterday", minBase: 100 }, receivers: ["ops"] });
 * ```
 */
import { z } from "zod";
import { Limit, Timestamp } from "./common.js";
import { AttrName, TOTAL } from "./monitor.js";
import { InstanceAddr, ServiceName } from "./naming.js";

export const Severity = z.enum(["info", "warning", "critical"]);
export type Severity = z.infer<typeof Severity>;

export const RuleKind = z.enum(["max", "min", "fluctuation", "nodata"]);
export type RuleKind = z.infer<typeof RuleKind>;

export const ReceiverName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    "must be 1-64 letters, digits, _, . or -, starting with a letter or digit",
  );

/** The service total (`*`), or one instance: `ip:port` or `host:pid`. */
export const RuleInstance = z.union([
  z.literal(TOTAL),
  InstanceAddr,
  z.string().regex(/^[A-Za-z0-9._-]{1,100}:\d{1,10}$/, "must be *, ip:port or host:pid"),
]);

export const FluctuationSpec = z.object({
  /** Absolute change in percent that fires: 50 fires on a fall to half and on a rise by half. */
  percent: z.number().positive().max(1_000_000),
  /** The base: the same minute yesterday, or the mean of the previous `meanMinutes` minutes. */
  against: z.enum(["yesterday", "mean"]),
  meanMinutes: z.number().int().min(1).max(1440).default(10),
  /** No fluctuation alarm while the base is below this (small numbers page no one). */
  minBase: z.number().nonnegative().finite().default(0),
});
export type FluctuationSpec = z.infer<typeof FluctuationSpec>;

/** Fire only when `n` of the last `m` minutes break the rule (1 of 1: at once). */
export const FlapSpec = z
  .object({ n: z.number().int().min(1).max(60), m: z.number().int().min(1).max(60) })
  .refine((f) => f.n <= f.m, { message: "n must not be greater than m", path: ["n"] });
export type FlapSpec = z.infer<typeof FlapSpec>;

const RuleCommon = z.object({
  service: ServiceName,
  attr: AttrName,
  instance: RuleInstance.default(TOTAL),
  severity: Severity.default("warning"),
  receivers: z.array(ReceiverName).max(20).default([]),
  flap: FlapSpec.default({ n: 1, m: 1 }),
  /** Minutes between repeats of a firing, un-acknowledged alarm; 0 = never repeat. */
  repeatMinutes: z
    .number()
    .int()
    .min(0)
    .max(7 * 1440)
    .default(30),
  enabled: z.boolean().default(true),
});

const MaxRule = RuleCommon.extend({ kind: z.literal("max"), threshold: z.number().finite() });
const MinRule = RuleCommon.extend({ kind: z.literal("min"), threshold: z.number().finite() });
const FluctuationRule = RuleCommon.extend({
  kind: z.literal("fluctuation"),
  fluctuation: FluctuationSpec,
});
const NodataRule = RuleCommon.extend({
  kind: z.literal("nodata"),
  nodataMinutes: z.number().int().min(1).max(1440).default(3),
});

/** A rule as people write it: what to watch (`kind` and its fields), and who hears of it. */
export const AlarmRuleInput = z.discriminatedUnion("kind", [
  MaxRule,
  MinRule,
  FluctuationRule,
  NodataRule,
]);
export type AlarmRuleInput = z.input<typeof AlarmRuleInput>;
export type AlarmRuleSpec = z.output<typeof AlarmRuleInput>;

/** What a rule is doing now: `ok` < `pending` (flap window not met yet) < `firing`; `resolved` ends an alarm. */
export const RuleState = z.enum(["ok", "pending", "firing", "resolved"]);
export type RuleState = z.infer<typeof RuleState>;

const RuleView = {
  id: z.number().int(),
  state: RuleState,
  /** The open (or last) alarm of this rule. */
  alarmId: z.number().int().nullable(),
  /** The last minute the evaluator looked at, null before the first. */
  evaluatedMinute: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

/** A stored rule with what it is doing now. */
export const AlarmRule = z.discriminatedUnion("kind", [
  MaxRule.extend(RuleView),
  MinRule.extend(RuleView),
  FluctuationRule.extend(RuleView),
  NodataRule.extend(RuleView),
]);
export type AlarmRule = z.output<typeof AlarmRule>;

/** A stored rule as the body that would create it again (to edit it, or preview it unsaved). */
export function alarmRuleInput(r: AlarmRule): AlarmRuleInput {
  const {
    id: _id,
    state: _s,
    alarmId: _a,
    evaluatedMinute: _e,
    createdAt: _c,
    updatedAt: _u,
    ...spec
  } = r;
  return spec;
}

export const RuleQuery = z.object({ service: ServiceName.optional() });

// Receivers. Secrets (webhook signing keys, SMTP passwords) go in and never come out.

export const WebhookReceiverConfig = z.object({
  url: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
    .max(2000, "must be at most 2000 characters"),
  /** Signing key: each request carries `X-Msec-Signature: sha256=<hex HMAC-SHA256 of the body>`. */
  secret: z.string().min(8, "must be at least 8 characters").max(500).optional(),
});

export const CommandReceiverConfig = z.object({
  /** Program and arguments, run without a shell; the message arrives as JSON on stdin. */
  argv: z.array(z.string().min(1).max(4000)).min(1).max(100),
});

export const EmailReceiverConfig = z.object({
  smtp: z.object({
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).default(587),
    /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    user: z.string().max(255).optional(),
    password: z.string().max(500).optional(),
  }),
  from: z.string().min(3).max(320),
  to: z.array(z.string().min(3).max(320)).min(1).max(50),
});

export const ReceiverInput = z.discriminatedUnion("kind", [
  z.object({ name: ReceiverName, kind: z.literal("webhook"), webhook: WebhookReceiverConfig }),
  z.object({ name: ReceiverName, kind: z.literal("command"), command: CommandReceiverConfig }),
  z.object({ name: ReceiverName, kind: z.literal("email"), email: EmailReceiverConfig }),
]);
export type ReceiverInput = z.input<typeof ReceiverInput>;
export type ReceiverSpec = z.output<typeof ReceiverInput>;

/** A receiver as the API shows it: secrets replaced by whether one is set. */
export const Receiver = z.discriminatedUnion("kind", [
  z.object({
    name: z.string(),
    kind: z.literal("webhook"),
    webhook: z.object({ url: z.string(), hasSecret: z.boolean() }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  }),
  z.object({
    name: z.string(),
    kind: z.literal("command"),
    command: z.object({ argv: z.array(z.string()) }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  }),
  z.object({
    name: z.string(),
    kind: z.literal("email"),
    email: z.object({
      smtp: z.object({
        host: z.string(),
        port: z.number().int(),
        secure: z.boolean(),
        user: z.string().optional(),
        hasPassword: z.boolean(),
      }),
      from: z.string(),
      to: z.array(z.string()),
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  }),
]);
export type Receiver = z.infer<typeof Receiver>;

// Alarms and their history.

export const AlarmState = z.enum(["firing", "resolved"]);
export type AlarmState = z.infer<typeof AlarmState>;

/** One episode of a rule breaking: from firing to resolved. */
export const Alarm = z.object({
  id: z.number().int(),
  ruleId: z.number().int(),
  service: z.string(),
  attr: z.string(),
  instance: z.string(),
  kind: RuleKind,
  severity: Severity,
  state: AlarmState,
  /** The observed value of the latest evaluated minute (null when there was none). */
  value: z.number().nullable(),
  message: z.string(),
  firedAt: Timestamp,
  resolvedAt: Timestamp.nullable(),
  lastSentAt: Timestamp.nullable(),
  ackedBy: z.string().nullable(),
  ackedAt: Timestamp.nullable(),
});
export type Alarm = z.infer<typeof Alarm>;

export const AlarmEventType = z.enum([
  "firing",
  "repeat",
  "resolved",
  "acked",
  "suppressed",
  "notified",
  "notify_failed",
]);
export type AlarmEventType = z.infer<typeof AlarmEventType>;

export const AlarmEvent = z.object({
  id: z.number().int(),
  alarmId: z.number().int(),
  at: Timestamp,
  type: AlarmEventType,
  details: z.record(z.string(), z.unknown()),
});
export type AlarmEvent = z.infer<typeof AlarmEvent>;

export const AlarmQuery = z.object({
  state: AlarmState.optional(),
  service: ServiceName.optional(),
  ruleId: z.coerce.number().int().positive().optional(),
  /** Only alarms with a smaller id (the next page). */
  before: z.coerce.number().int().positive().optional(),
  limit: Limit,
});
export type AlarmQuery = z.infer<typeof AlarmQuery>;

export const AckRequest = z.object({ comment: z.string().max(500).optional() }).default({});

// Silences.

export const SilenceMatcher = z
  .object({
    service: ServiceName.optional(),
    attr: AttrName.optional(),
    ruleId: z.number().int().positive().optional(),
  })
  .refine((m) => m.service !== undefined || m.attr !== undefined || m.ruleId !== undefined, {
    message: "needs at least one of service, attr, ruleId",
  });
export type SilenceMatcher = z.infer<typeof SilenceMatcher>;

export const SilenceInput = z.object({
  matcher: SilenceMatcher,
  until: Timestamp,
  reason: z.string().max(500).default(""),
});
export type SilenceInput = z.input<typeof SilenceInput>;

export const Silence = z.object({
  id: z.number().int(),
  matcher: z.object({
    service: z.string().optional(),
    attr: z.string().optional(),
    ruleId: z.number().int().optional(),
  }),
  until: Timestamp,
  reason: z.string(),
  createdBy: z.string(),
  createdAt: Timestamp,
});
export type Silence = z.infer<typeof Silence>;

export const SilenceQuery = z.object({
  /** Also list silences that have run out. */
  all: z
    .enum(["true", "false"])
    .optional()
    .transform((v) => v === "true"),
});

// What receivers get.

export const NoticeEvent = z.enum(["firing", "repeat", "resolved"]);
export type NoticeEvent = z.infer<typeof NoticeEvent>;

export const AlarmNotice = z.object({
  alarmId: z.number().int(),
  ruleId: z.number().int(),
  event: NoticeEvent,
  service: z.string(),
  attr: z.string(),
  instance: z.string(),
  kind: RuleKind,
  severity: Severity,
  value: z.number().nullable(),
  message: z.string(),
  firedAt: Timestamp,
  resolvedAt: Timestamp.nullable(),
});
export type AlarmNotice = z.infer<typeof AlarmNotice>;

/** One message to one receiver: every notice of one service from one evaluated minute. */
export const AlarmMessage = z.object({
  receiver: z.string(),
  service: z.string(),
  minute: Timestamp,
  /** One line for people (SMS, e-mail subject). */
  summary: z.string(),
  alarms: z.array(AlarmNotice).min(1),
});
export type AlarmMessage = z.infer<typeof AlarmMessage>;

// Preview: how a rule would have fired over stored history.

export const PreviewRequest = z
  .object({ from: Timestamp.optional(), to: Timestamp.optional() })
  .default({});

export const PreviewResult = z.object({
  from: Timestamp,
  to: Timestamp,
  /** Minutes in which the alarm would have been firing. */
  firing: z.array(
    z.object({ minute: Timestamp, value: z.number().nullable(), message: z.string() }),
  ),
  /** The alarms it would have raised: when each fired and resolved (null: still firing at `to`). */
  alarms: z.array(z.object({ firedAt: Timestamp, resolvedAt: Timestamp.nullable() })),
});
export type PreviewResult = z.infer<typeof PreviewResult>;
