import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { artifactSigningMessage } from "../../core/schemas/artifact.js";
import type { Db } from "../store/schema.js";

/** The settings row holding the console's artifact signing key pair (JSON of two PEMs). */
export const SIGNING_KEY_SETTING = "artifact_signing_key";

/** The console's ed25519 key pair that signs every artifact. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key: what agents pin. */
  publicKeyPem: string;
}

/**
 * Load the signing key from the store, creating it the first time. Two replicas that
 * start together both try to insert; the insert does nothing when a key exists, and
 * both then use the one stored (both PEMs sit in one row, so a pair is never mixed).
 */
export async function loadOrCreateSigningKey(db: Db, now: number): Promise<SigningKey> {
  const existing = await readSigningKey(db);
  if (existing) return existing;
  const pair = generateKeyPairSync("ed25519");
  const value = JSON.stringify({
    privateKey: pair.privateKey.export({ type: "pkcs8", format: "pem" }),
    publicKey: pair.publicKey.export({ type: "spki", format: "pem" }),
  });
  await db
    .insertInto("settings")
    .values({ key: SIGNING_KEY_SETTING, value, updated_at: now })
    .onConflict((oc) => oc.column("key").doNothing())
    .execute();
  const stored = await readSigningKey(db);
  if (!stored) throw new Error("the artifact signing key could not be stored");
  return stored;
}

async function readSigningKey(db: Db): Promise<SigningKey | undefined> {
  const row = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", SIGNING_KEY_SETTING)
    .executeTakeFirst();
  if (!row) return undefined;
  const { privateKey, publicKey } = JSON.parse(row.value) as {
    privateKey: string;
    publicKey: string;
  };
  return {
    privateKey: createPrivateKey(privateKey),
    publicKey: createPublicKey(publicKey),
    publicKeyPem: publicKey,
  };
}

/** base64 ed25519 signature over the UTF-8 message `msec-artifact-v1\n<sha256 hex>`. */
export function signArtifact(key: SigningKey, sha256: string): string {
  return sign(null, Buffer.from(artifactSigningMessage(sha256), "utf8"), key.privateKey).toString(
    "base64",
  );
}

/** Check a signature made by signArtifact against a public key (PEM or KeyObject). */
export function verifyArtifactSignature(
  publicKey: string | KeyObject,
  sha256: string,
  signature: string,
): boolean {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  return verify(
    null,
    Buffer.from(artifactSigningMessage(sha256), "utf8"),
    key,
    Buffer.from(signature, "base64"),
  );
}
