import type { Generated, Insertable, Kysely, Selectable } from "kysely";

/**
 * Table types of the console's store. Both engines hold the same shapes:
 * timestamps are integer milliseconds since the epoch, booleans are 0/1,
 * free-form documents are JSON text.
 */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: string;
  must_change_password: number;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  /** sha256 of the cookie value: a stolen database does not yield live sessions. */
  id_hash: string;
  user_id: number;
  csrf_token: string;
  source_ip: string;
  created_at: number;
  expires_at: number;
}

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: string;
  role: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string;
  source_ip: string;
  outcome: string;
  details: string;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface Schema {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
  naming_services: NamingServicesTable;
  naming_instances: NamingInstancesTable;
  metric_points: MetricPointsTable;
  metric_recent: MetricRecentTable;
  metric_merge: MetricMergeTable;
  metric_attrs: MetricAttrsTable;
  metric_hours: MetricHoursTable;
  artifacts: ArtifactsTable;
  join_tokens: JoinTokensTable;
  machines: MachinesTable;
  deployments: DeploymentsTable;
  release_plans: ReleasePlansTable;
  release_steps: ReleaseStepsTable;
  leases: LeasesTable;
  alarm_receivers: AlarmReceiversTable;
  alarm_rules: AlarmRulesTable;
  alarm_states: AlarmStatesTable;
  alarms: AlarmsTable;
  alarm_events: AlarmEventsTable;
  alarm_silences: AlarmSilencesTable;
}

/** One attribute of one instance (or `*`, the service total) in one minute. */
export interface MetricPointsTable {
  service: string;
  attr: string;
  instance: string;
  minute: number;
  value: number;
  /** Histogram buckets as JSON (`{bounds, counts, sum}`), else null. */
  hist: string | null;
}

/**
 * The same rows as `metric_points`, keyed by minute first: where ingest writes (new
 * minutes append at the B-tree's right edge) until the merge moves them (0009).
 */
export type MetricRecentTable = MetricPointsTable;

/** One row (id 1): rows of minutes before `merged_before` may be in `metric_points`. */
export interface MetricMergeTable {
  id: number;
  merged_before: number;
}

export interface MetricAttrsTable {
  service: string;
  attr: string;
  kind: string;
  first_minute: number;
  last_minute: number;
}

/** A handle on the store's tables: the store itself or an open transaction. */
export type Db = Kysely<Schema>;

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type NamingServiceRow = Selectable<NamingServicesTable>;
export type NamingInstanceRow = Selectable<NamingInstancesTable>;

export interface NamingServicesTable {
  name: string;
  description: string;
  created_at: number;
  /** JSON array of eviction times (ms) inside the protection window. */
  recent_evictions: Generated<string>;
}

export interface NamingInstancesTable {
  service: string;
  addr: string;
  weight: number;
  weight_override: number | null;
  /** JSON object. */
  labels: string;
  health: string;
  disabled: number;
  ttl_ms: number;
  registered_at: number;
  last_seen: number;
}

/** One attribute of one instance (or `*`) in one hour older than the minute retention. */
export interface MetricHoursTable {
  service: string;
  attr: string;
  instance: string;
  hour: number;
  /** A counter's sum, a gauge's mean, a histogram's count over the hour. */
  value: number;
  /** Minutes that had a point. */
  samples: number;
  min: number;
  max: number;
  /** The value of the hour's last minute with a point. */
  last: number;
  /** Merged histogram buckets as JSON, else null. */
  hist: string | null;
}

// Alarms and leases (migration 0004-alarms); merged into Schema above.

/** Work that must run on one console replica at a time, held until `expires_at` (ms). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface AlarmReceiversTable {
  name: string;
  kind: string;
  /** JSON, secrets included. */
  config: string;
  created_at: number;
  updated_at: number;
}

export interface AlarmRulesTable {
  id: Generated<number>;
  service: string;
  attr: string;
  instance: string;
  kind: string;
  enabled: number;
  /** JSON: the rest of the rule. */
  spec: string;
  created_at: number;
  updated_at: number;
}

/** What a rule is doing now, and the last minute evaluated. */
export interface AlarmStatesTable {
  rule_id: number;
  state: string;
  since: number | null;
  alarm_id: number | null;
  evaluated_minute: number | null;
  version: Generated<number>;
  updated_at: number;
}

export interface AlarmsTable {
  id: Generated<number>;
  rule_id: number;
  service: string;
  attr: string;
  instance: string;
  kind: string;
  severity: string;
  state: string;
  value: number | null;
  message: string;
  fired_at: number;
  resolved_at: number | null;
  last_sent_at: number | null;
  acked_by: string | null;
  acked_at: number | null;
}

export interface AlarmEventsTable {
  id: Generated<number>;
  alarm_id: number;
  at: number;
  type: string;
  /** JSON object. */
  details: string;
}

export interface AlarmSilencesTable {
  id: Generated<number>;
  service: string | null;
  attr: string | null;
  rule_id: number | null;
  until: number;
  reason: string;
  created_by: string;
  created_at: number;
}

export type AlarmRuleRow = Selectable<AlarmRulesTable>;
export type AlarmStateRow = Selectable<AlarmStatesTable>;
export type AlarmRow = Selectable<AlarmsTable>;
export type AlarmEventRow = Selectable<AlarmEventsTable>;
export type AlarmSilenceRow = Selectable<AlarmSilencesTable>;
export type AlarmReceiverRow = Selectable<AlarmReceiversTable>;

/** One immutable version of an artifact; `content` holds the bytes. */
export interface ArtifactsTable {
  id: Generated<number>;
  service: string;
  kind: string;
  version: number;
  sha256: string;
  size: number;
  /** base64 ed25519 signature over `msec-artifact-v1\n<sha256>`. */
  signature: string;
  uploaded_by: string;
  uploaded_at: number;
  note: string;
  name: string | null;
  content: Buffer | Uint8Array;
}

export type ArtifactRow = Selectable<ArtifactsTable>;

export interface JoinTokensTable {
  id: Generated<number>;
  /** sha256 of the secret. */
  token_hash: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** Name of the machine that enrolled with it. */
  used_by: string | null;
  /** JSON Labels. */
  labels: string;
  note: string;
}

export interface MachinesTable {
  id: Generated<number>;
  name: string;
  /** sha256 of the machine's credential. */
  credential_hash: string;
  hostname: string;
  agent_version: string;
  /** JSON Labels. */
  labels: string;
  enrolled_at: number;
  last_seen_at: number | null;
  desired_revision: Generated<number>;
  applied_revision: Generated<number>;
  /** JSON ServiceReport[]: the agent's last report. */
  report: Generated<string>;
  /** sha256 of the read-only credential the agent gives its service processes. */
  service_credential_hash: Generated<string | null>;
}

export interface DeploymentsTable {
  machine_id: number;
  service: string;
  /** JSON Deployment. */
  spec: string;
  updated_at: number;
}

export interface ReleasePlansTable {
  id: Generated<number>;
  service: string;
  type: string;
  state: string;
  paused_for: string | null;
  /** JSON CreateReleaseRequest. */
  spec: string;
  /** JSON: the executor's position. */
  progress: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
  error: string | null;
  note: string;
}

export interface ReleaseStepsTable {
  id: Generated<number>;
  plan_id: number;
  batch: number;
  machine_id: number;
  machine_name: string;
  action: string;
  state: string;
  /** JSON Deployment or null. */
  before: string | null;
  after: string | null;
  revision: number;
  started_at: number;
  ended_at: number | null;
  error: string | null;
}

export type MachineRow = Selectable<MachinesTable>;
export type JoinTokenRow = Selectable<JoinTokensTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
export type ReleasePlanRow = Selectable<ReleasePlansTable>;
export type ReleaseStepRow = Selectable<ReleaseStepsTable>;
