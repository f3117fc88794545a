import { createPublicKey, verify } from "node:crypto";
import { sha256Hex } from "../../core/digest.js";
import { artifactSigningMessage } from "../../core/schemas/artifact.js";

/**
 * Artifact verification on the agent: every package, config file or library the
 * console hands out carries its sha256 (hex) and an ed25519 signature by the console.
 * The signature covers the UTF-8 text `msec-artifact-v1\n<sha256 hex, lower case>`
 * (see docs/agent-packages.md), so signing never needs the artifact bytes themselves.
 */
export type VerifyResult = { ok: true } | { ok: false; reason: "hash_mismatch" | "bad_signature" };

export interface ArtifactDigest {
  /** sha256 of the artifact bytes, hex. */
  sha256: string;
  /** ed25519 signature over {@link signedMessage}, base64. */
  signature: string;
}

/** The exact bytes the console signs for an artifact with this sha256 (one definition, in core). */
export function signedMessage(sha256Hex: string): Buffer {
  return Buffer.from(artifactSigningMessage(sha256Hex.toLowerCase()), "utf8");
}

/**
 * Checks the hash first, then the signature. Expected failures (tampered bytes,
 * wrong key, garbage signature) come back as `{ ok: false }`; only a public key that
 * cannot be parsed at all throws, since that is a configuration error of the agent.
 */
export function verifyArtifact(
  bytes: Buffer,
  expected: ArtifactDigest,
  publicKeyPem: string,
): VerifyResult {
  const actual = sha256Hex(bytes);
  if (!/^[0-9a-fA-F]{64}$/.test(expected.sha256) || actual !== expected.sha256.toLowerCase()) {
    return { ok: false, reason: "hash_mismatch" };
  }
  const key = createPublicKey(publicKeyPem);
  if (key.asymmetricKeyType !== "ed25519") return { ok: false, reason: "bad_signature" };
  const sig = Buffer.from(expected.signature, "base64");
  // ed25519 signatures are exactly 64 bytes; anything else is garbage, not a crash.
  if (sig.length !== 64) return { ok: false, reason: "bad_signature" };
  let good = false;
  try {
    good = verify(null, signedMessage(actual), key, sig);
  } catch {
    good = false;
  }
  return good ? { ok: true } : { ok: false, reason: "bad_signature" };
}
