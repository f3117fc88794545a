import { z } from "zod";
import type { Logger } from "../core/log.js";
import { DesiredState, RunningVersions } from "../core/schemas/machine.js";
import { readJsonFile, SerialWriter } from "./fsutil.js";
import type { InstanceRecord } from "./supervisor.js";

/**
 * `<root>/.agent/state.json`: what the agent must remember across its own restarts:
 * the last desired state (so a restart during a console outage still knows it) and
 * every process it runs (so they are adopted, not restarted).
 */

const InstanceRecordSchema = z.object({
  service: z.string(),
  pid: z.number().int(),
  startTime: z.string(),
  port: z.number().int(),
  release: z.string(),
  configSet: z.string(),
  versions: RunningVersions,
  entry: z.string(),
  healthPath: z.string(),
  healthTimeoutMs: z.number().int(),
  controlKey: z.string(),
  weight: z.number().int(),
  restarts: z.number().int(),
  since: z.number(),
}) satisfies z.ZodType<InstanceRecord>;

const ServiceFileSchema = z.object({
  /** The process serving now. */
  current: InstanceRecordSchema.nullable(),
  /** Processes of a change in flight: a new one not yet serving, an old one draining. */
  others: z.array(InstanceRecordSchema).default([]),
  /** The last failed change; not retried until the desired revision moves past it. */
  failed: z
    .object({ revision: z.number().int(), versions: RunningVersions, error: z.string() })
    .nullable()
    .default(null),
});
export type ServiceFile = z.infer<typeof ServiceFileSchema>;

const AgentStateSchema = z.object({
  version: z.literal(1),
  desired: DesiredState.nullable(),
  appliedRevision: z.number().int().nonnegative(),
  services: z.record(z.string(), ServiceFileSchema),
});
export type AgentState = z.infer<typeof AgentStateSchema>;

export function emptyState(): AgentState {
  return { version: 1, desired: null, appliedRevision: 0, services: {} };
}

/** Read state.json; a missing or unreadable file is a fresh start (said in the log). */
export async function loadState(path: string, log: Logger): Promise<AgentState> {
  let raw: unknown;
  try {
    raw = await readJsonFile(path);
  } catch (e) {
    log.error({ path, err: (e as Error).message }, "state file unreadable: starting without it");
    return emptyState();
  }
  if (raw === undefined) return emptyState();
  const parsed = AgentStateSchema.safeParse(raw);
  if (!parsed.success) {
    log.error(
      { path, issue: parsed.error.issues[0]?.message },
      "state file invalid: starting without it",
    );
    return emptyState();
  }
  return parsed.data;
}

export class StateFile {
  private readonly writer: SerialWriter;
  constructor(path: string) {
    this.writer = new SerialWriter(path, 0o600);
  }
  save(render: () => AgentState): Promise<void> {
    return this.writer.write(() => `${JSON.stringify(render(), null, 1)}\n`);
  }
}
