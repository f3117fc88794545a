import { z } from "zod";
import { Timestamp } from "./common.js";
import { Labels, ServiceName, Weight } from "./naming.js";

/**
 * Machines and their agents: enrollment, the desired state the console hands an
 * agent, and the actual state the agent reports back. The agent reconciles the one
 * into the other; the release executor reads the reports to decide its gates.
 */

/** A machine's name in the console (default: its host name); unique. */
export const MachineName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
  );
export type MachineName = z.infer<typeof MachineName>;

/** Join tokens and machine credentials start with these, so a leaked one is easy to spot. */
export const JOIN_TOKEN_PREFIX = "msecj_";
export const MACHINE_CREDENTIAL_PREFIX = "msecm_";
/**
 * The credential an agent hands the service processes it runs: it only reads (services,
 * watches, artifacts), so a service's code cannot act as the machine's agent.
 */
export const SERVICE_CREDENTIAL_PREFIX = "msecs_";

export const ServiceCredentialResponse = z.object({ credential: z.string() });

export const CreateJoinTokenRequest = z.object({
  /** Labels every machine enrolled with this token starts with. */
  labels: Labels.default({}),
  /** Seconds the token stays usable (default one day, at most 30 days). */
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400),
  note: z.string().max(500).default(""),
});
export type CreateJoinTokenRequest = z.infer<typeof CreateJoinTokenRequest>;

export const JoinTokenView = z.object({
  id: z.number().int(),
  createdBy: z.string(),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  /** Set once a machine enrolled with it: a join token works exactly once. */
  usedAt: Timestamp.nullable(),
  usedBy: z.string().nullable(),
  labels: Labels,
  note: z.string(),
});
export type JoinTokenView = z.infer<typeof JoinTokenView>;

/** The only time the secret is shown. */
export const CreatedJoinToken = JoinTokenView.extend({ token: z.string() });
export type CreatedJoinToken = z.infer<typeof CreatedJoinToken>;

export const EnrollRequest = z.object({
  joinToken: z.string().min(1).max(200),
  name: MachineName,
  hostname: z.string().max(255).default(""),
  agentVersion: z.string().max(64).default(""),
  /** Extra labels the agent was started with; the token's labels win on a clash. */
  labels: Labels.default({}),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollResponse = z.object({
  machine: MachineName,
  /** The machine's own credential (`msecm_...`); the agent keeps it, nobody else sees it. */
  credential: z.string(),
  /** PEM public key the console signs artifacts with; the agent pins it. */
  signingKey: z.string(),
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/** A pointer to one signed artifact version, carried in the desired state. */
export const ArtifactRef = z.object({
  version: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  signature: z.string(),
  /** Config files: the file name the service reads it by. Archives: null. */
  name: z.string().nullable(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** One service as it should run on one machine. */
export const Deployment = z.object({
  service: ServiceName,
  package: ArtifactRef,
  configs: z.array(ArtifactRef).default([]),
  libs: z.array(ArtifactRef).default([]),
  plugins: z.array(ArtifactRef).default([]),
  /** Name-service weight of this machine's instance (a canary may get less). */
  weight: Weight.default(100),
});
export type Deployment = z.infer<typeof Deployment>;

/** What the console wants on a machine. The revision grows with every change. */
export const DesiredState = z.object({
  machine: MachineName,
  revision: z.number().int().nonnegative(),
  deployments: z.array(Deployment),
});
export type DesiredState = z.infer<typeof DesiredState>;

/** The versions a process runs (or is being brought to). */
export const RunningVersions = z.object({
  package: z.number().int().positive(),
  configs: z.array(z.number().int().positive()),
  libs: z.array(z.number().int().positive()),
  plugins: z.array(z.number().int().positive()),
});
export type RunningVersions = z.infer<typeof RunningVersions>;

export const InstanceState = z.enum(["starting", "healthy", "unhealthy", "crashed", "stopped"]);
export type InstanceState = z.infer<typeof InstanceState>;

/** One service on one machine, as the agent sees it. */
export const ServiceReport = z.object({
  service: ServiceName,
  /** The process serving now; null when none runs. */
  running: z
    .object({
      versions: RunningVersions,
      state: InstanceState,
      pid: z.number().int().nullable(),
      addr: z.string().nullable(),
      restarts: z.number().int().nonnegative(),
      since: Timestamp,
    })
    .nullable(),
  /**
   * A change in progress (new versions being deployed), or the last one that failed.
   * Null once the desired versions run healthy.
   */
  target: z
    .object({
      versions: RunningVersions,
      phase: z.enum(["deploying", "failed"]),
      error: z.string().nullable(),
    })
    .nullable(),
});
export type ServiceReport = z.infer<typeof ServiceReport>;

export const StateReport = z.object({
  /** The desired revision this report reflects (fully applied or failed). */
  appliedRevision: z.number().int().nonnegative(),
  hostname: z.string().max(255).default(""),
  agentVersion: z.string().max(64).default(""),
  services: z.array(ServiceReport).max(1000),
});
export type StateReport = z.infer<typeof StateReport>;

export const MachineView = z.object({
  name: MachineName,
  hostname: z.string(),
  labels: Labels,
  agentVersion: z.string(),
  enrolledAt: Timestamp,
  lastSeenAt: Timestamp.nullable(),
  /** Seen within the last 30 s. */
  online: z.boolean(),
  desiredRevision: z.number().int(),
  appliedRevision: z.number().int(),
  deployments: z.array(Deployment),
  services: z.array(ServiceReport),
});
export type MachineView = z.infer<typeof MachineView>;

export const SetMachineLabelsRequest = z.object({
  /** Labels to set; a null value removes that label. */
  labels: z.record(z.string(), z.string().max(128).nullable()),
});
