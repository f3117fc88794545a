import { z } from "zod";
import { Timestamp } from "./common.js";
import { ServiceName } from "./naming.js";

/** What an artifact is: a code package, a config file, a library or a plugin. */
export const ArtifactKind = z.enum(["package", "config", "lib", "plugin"]);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

/** Largest artifact the console accepts in one upload (bytes). */
export const MAX_ARTIFACT_BYTES = 200 * 1024 * 1024;

/** The message the console signs for an artifact; agents verify against exactly this. */
export function artifactSigningMessage(sha256: string): string {
  return `msec-artifact-v1\n${sha256}`;
}

export const ArtifactNote = z.string().max(1000);
/** A config file's name: one path segment, no `..`. */
export const ArtifactFileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\.\.?$)[A-Za-z0-9._-]+$/, "must be a plain file name of letters, digits, . _ or -");

/** One immutable, numbered version of an artifact (metadata only). */
export const ArtifactView = z.object({
  service: ServiceName,
  kind: ArtifactKind,
  version: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  /** base64 ed25519 signature over `msec-artifact-v1\n<sha256>`. */
  signature: z.string(),
  uploadedBy: z.string(),
  uploadedAt: Timestamp,
  note: z.string(),
  name: z.string().nullable(),
});
export type ArtifactView = z.infer<typeof ArtifactView>;

export const ArtifactList = z.object({ artifacts: z.array(ArtifactView) });
export type ArtifactList = z.infer<typeof ArtifactList>;

export const SigningKeyView = z.object({ algorithm: z.literal("ed25519"), publicKey: z.string() });
export type SigningKeyView = z.infer<typeof SigningKeyView>;
