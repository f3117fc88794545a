import { z } from "zod";
import { Timestamp } from "./common.js";

/** Two-level service names, as in MSEC: `Login.Auth`, `Demo.Echo`. */
export const ServiceName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,63}\.[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    "must be two levels L1.L2 of letters, digits, _ or -, each starting with a letter (e.g. Login.Auth)",
  );
export type ServiceName = z.infer<typeof ServiceName>;

/** `ip:port`: IPv4 `10.0.0.7:8080` or IPv6 `[::1]:8080`. */
export const InstanceAddr = z
  .string()
  .max(64)
  .regex(
    /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/,
    "must be ip:port, e.g. 10.0.0.7:8080 or [::1]:8080",
  )
  .refine((a) => {
    const port = Number(a.slice(a.lastIndexOf(":") + 1));
    return port >= 1 && port <= 65535;
  }, "port must be 1-65535");

export const Labels = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, "label names are lower-case, e.g. version, zone"),
    z.string().max(128),
  )
  .refine((l) => Object.keys(l).length <= 32, "at most 32 labels");
export type Labels = z.infer<typeof Labels>;

export const Weight = z.number().int().min(0).max(10_000);
export const DEFAULT_WEIGHT = 100;

/** What an instance says of itself: serving, or draining before it stops. */
export const InstanceHealth = z.enum(["healthy", "unhealthy", "draining"]);
export type InstanceHealth = z.infer<typeof InstanceHealth>;

export const Instance = z.object({
  service: ServiceName,
  addr: InstanceAddr,
  /** Weight in effect: the registered one, or the operator's override. */
  weight: Weight,
  labels: Labels,
  health: InstanceHealth,
  /** Drained by an operator (`msec instance disable`): kept listed, sent no traffic. */
  disabled: z.boolean(),
  registeredAt: Timestamp,
  lastSeenAt: Timestamp,
  /** Its TTL ran out, but eviction would break the protection threshold: kept, flagged. */
  protected: z.boolean(),
});
export type Instance = z.infer<typeof Instance>;

export const ServiceView = z.object({
  name: ServiceName,
  /** Grows with every change of the instance list; watchers compare revisions. */
  revision: z.number().int(),
  /** True when at least one listed instance is kept only by the protection threshold. */
  protected: z.boolean(),
  instances: z.array(Instance),
});
export type ServiceView = z.infer<typeof ServiceView>;

export const ServiceSummary = z.object({
  name: ServiceName,
  description: z.string(),
  createdAt: Timestamp,
  instances: z.number().int(),
  healthy: z.number().int(),
  /**
   * Calls the service's instances served in the latest complete minute (`rpc.server.calls`
   * of the service total, every method); absent when it sent no RPC metrics lately.
   */
  callsPerMinute: z.number().optional(),
  /** Those of the calls that ended with a code other than `ok`; absent with callsPerMinute. */
  errorsPerMinute: z.number().optional(),
  /** How many of the service's alarms fire now. */
  firingAlarms: z.number().int().optional(),
});
export type ServiceSummary = z.infer<typeof ServiceSummary>;

export const CreateServiceRequest = z.object({
  name: ServiceName,
  description: z.string().max(500).default(""),
});

export const RegisterInstanceRequest = z.object({
  addr: InstanceAddr,
  weight: Weight.default(DEFAULT_WEIGHT),
  labels: Labels.default({}),
  /** Seconds without a heartbeat before the instance may be evicted. */
  ttlSeconds: z.number().int().min(2).max(3600).default(15),
});
export type RegisterInstanceRequest = z.infer<typeof RegisterInstanceRequest>;

/** Many instances in one call: an agent beats for every instance on its machine at once. */
export const HeartbeatRequest = z.object({
  beats: z
    .array(
      z.object({
        service: ServiceName,
        addr: InstanceAddr,
        health: InstanceHealth.default("healthy"),
      }),
    )
    .min(1)
    .max(10_000),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

export const HeartbeatResponse = z.object({
  /** Beats for instances the console does not know (evicted, or never registered): re-register them. */
  unknown: z.array(z.object({ service: ServiceName, addr: InstanceAddr })),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

export const SetWeightRequest = z.object({ weight: Weight });
