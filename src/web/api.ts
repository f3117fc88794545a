import type { ErrorCode } from "../core/errors.js";
import type {
  Alarm,
  AlarmEvent,
  AlarmRule,
  AlarmRuleInput,
  PreviewResult,
  Receiver,
  Silence,
  SilenceInput,
} from "../core/schemas/alarm.js";
import type { ArtifactView } from "../core/schemas/artifact.js";
import type {
  CreatedJoinToken,
  CreateJoinTokenRequest,
  JoinTokenView,
  MachineView,
} from "../core/schemas/machine.js";
import type {
  AttributeInfo,
  AttributesAnswer,
  CompareName,
  MetricService,
  MetricServicesAnswer,
  SeriesAnswer,
  SeriesStat,
  TopAnswer,
} from "../core/schemas/monitor.js";
import type { Instance, ServiceSummary, ServiceView } from "../core/schemas/naming.js";
import type {
  CreateReleaseRequest,
  ReleaseAction,
  ReleaseState,
  ReleaseView,
} from "../core/schemas/release.js";

/** A failed API call, carrying the API's `{"error":{"code","message","field"}}`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    /** The API's error code, or "network" when the console did not answer. */
    readonly code: ErrorCode | "network",
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const BASE = "api/v1";
const SAFE = new Set(["GET", "HEAD"]);

let csrfToken: string | undefined;
let onUnauthenticated: (() => void) | undefined;

/** The token every change must carry as X-CSRF-Token (from login or the session). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when a request fails with 401 because the session has ended. */
export function setUnauthenticatedHandler(handler: (() => void) | undefined): void {
  onUnauthenticated = handler;
}

export interface CallOptions {
  body?: unknown;
  /** Do not report a 401 as an ended session (login, the first session probe). */
  expect401?: boolean;
}

export async function api<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const res = await request(method, path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json().catch(() => undefined)) as T;
}

/** The fetch behind every call: CSRF header, and the API's error shape turned into an ApiError. */
async function request(method: string, path: string, opts: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (!SAFE.has(method) && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
    });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (res.ok) return res;
  const data: unknown = await res.json().catch(() => undefined);
  const err = (data as { error?: { code?: ErrorCode; message?: string; field?: string } })?.error;
  const apiError = new ApiError(
    res.status,
    err?.code ?? "internal",
    err?.message ?? `HTTP ${res.status} ${res.statusText}`,
    err?.field,
  );
  if (res.status === 401 && !opts.expect401) onUnauthenticated?.();
  throw apiError;
}

/** The message to show for a failed call. */
export function errorText(e: unknown, networkMessage: string): string {
  if (e instanceof ApiError) return e.code === "network" ? networkMessage : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** `?a=1&b=x` from the defined values, or "". */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

const seg = encodeURIComponent;

// Answers of the monitor's read API: their schemas are in src/core/schemas/monitor.ts.
export type { AttributeInfo, CompareName, MetricService, SeriesAnswer, TopAnswer };
export type Stat = SeriesStat;

export interface SeriesQuery {
  attr: string;
  instance: string;
  from: number;
  to: number;
  compare: readonly CompareName[];
  stat: Stat;
  /** At least this step, e.g. "1m". */
  step?: string;
}

export type ServiceDetail = ServiceView & { description: string; createdAt: string };

/** Every API call the web UI makes, typed. */
export const API = {
  services: () => api<{ services: ServiceSummary[] }>("GET", "/services"),
  service: (name: string) => api<ServiceDetail>("GET", `/services/${seg(name)}`),
  setWeight: (service: string, addr: string, weight: number) =>
    api<Instance>("PUT", `/services/${seg(service)}/instances/${seg(addr)}/weight`, {
      body: { weight },
    }),
  setDisabled: (service: string, addr: string, disabled: boolean) =>
    api<Instance>(
      "POST",
      `/services/${seg(service)}/instances/${seg(addr)}/${disabled ? "disable" : "enable"}`,
    ),

  artifacts: (service: string) =>
    api<{ artifacts: ArtifactView[] }>("GET", `/artifacts/${seg(service)}`),

  metricServices: () => api<MetricServicesAnswer>("GET", "/metrics/services"),
  attributes: (service: string) =>
    api<AttributesAnswer>("GET", `/metrics/${seg(service)}/attributes`),
  series: (service: string, q: SeriesQuery) =>
    api<SeriesAnswer>(
      "GET",
      `/metrics/${seg(service)}/series${query({
        attr: q.attr,
        instance: q.instance,
        from: q.from,
        to: q.to,
        compare: q.compare.length > 0 ? q.compare.join(",") : undefined,
        stat: q.stat,
        step: q.step,
      })}`,
    ),
  top: (service: string, q: { attr: string; from: number; to: number; limit?: number }) =>
    api<TopAnswer>("GET", `/metrics/${seg(service)}/top${query(q)}`),

  rules: (service?: string) =>
    api<{ rules: AlarmRule[] }>("GET", `/alarm-rules${query({ service })}`),
  rule: (id: number) => api<AlarmRule>("GET", `/alarm-rules/${id}`),
  createRule: (rule: AlarmRuleInput) => api<AlarmRule>("POST", "/alarm-rules", { body: rule }),
  updateRule: (id: number, rule: AlarmRuleInput) =>
    api<AlarmRule>("PUT", `/alarm-rules/${id}`, { body: rule }),
  deleteRule: (id: number) => api<void>("DELETE", `/alarm-rules/${id}`),
  previewRule: (id: number) => api<PreviewResult>("POST", `/alarm-rules/${id}/preview`),
  /** How a rule not saved yet would have fired (operator). */
  previewRuleInput: (rule: AlarmRuleInput) =>
    api<PreviewResult>("POST", "/alarm-rules/preview", { body: rule }),
  receivers: () => api<{ receivers: Receiver[] }>("GET", "/alarm-receivers"),

  alarms: (q: {
    state?: "firing" | "resolved";
    service?: string;
    ruleId?: number;
    before?: number;
    limit?: number;
  }) => api<{ alarms: Alarm[] }>("GET", `/alarms${query(q)}`),
  alarm: (id: number) => api<{ alarm: Alarm; events: AlarmEvent[] }>("GET", `/alarms/${id}`),
  ack: (id: number, comment?: string) =>
    api<Alarm>("POST", `/alarms/${id}/ack`, { body: comment ? { comment } : {} }),

  machines: () => api<{ machines: MachineView[] }>("GET", "/machines"),
  setMachineLabels: (name: string, labels: Record<string, string | null>) =>
    api<MachineView>("PATCH", `/machines/${seg(name)}/labels`, { body: { labels } }),
  removeMachine: (name: string) => api<void>("DELETE", `/machines/${seg(name)}`),
  joinTokens: () => api<{ tokens: JoinTokenView[] }>("GET", "/machines/tokens"),
  createJoinToken: (req: Partial<CreateJoinTokenRequest>) =>
    api<CreatedJoinToken>("POST", "/machines/tokens", { body: req }),
  revokeJoinToken: (id: number) => api<void>("DELETE", `/machines/tokens/${id}`),

  releases: (q: {
    service?: string | undefined;
    state?: ReleaseState | undefined;
    limit?: number;
  }) => api<{ releases: ReleaseView[] }>("GET", `/releases${query(q)}`),
  release: (id: number) => api<ReleaseView>("GET", `/releases/${id}`),
  createRelease: (req: CreateReleaseRequest) =>
    api<ReleaseView>("POST", "/releases", { body: req }),
  releaseAction: (id: number, action: ReleaseAction) =>
    api<ReleaseView>("POST", `/releases/${id}/${action}`),

  silences: (all: boolean) =>
    api<{ silences: Silence[] }>("GET", `/silences${query({ all: all || undefined })}`),
  createSilence: (s: SilenceInput) => api<Silence>("POST", "/silences", { body: s }),
  deleteSilence: (id: number) => api<void>("DELETE", `/silences/${id}`),
};
