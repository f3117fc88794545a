import { z } from "zod";

/** Timestamps cross the API as ISO-8601 strings in UTC. */
export const Timestamp = z.iso.datetime();

export const Health = z.object({
  status: z.literal("ok"),
  store: z.enum(["sqlite", "postgres"]),
  version: z.string(),
});
export type Health = z.infer<typeof Health>;

export const VersionInfo = z.object({
  version: z.string(),
  node: z.string(),
  schema: z.number().int(),
});
export type VersionInfo = z.infer<typeof VersionInfo>;

/** `?limit=` with a default and a ceiling, shared by every list endpoint. */
export const Limit = z.coerce.number().int().min(1).max(1000).default(100);
