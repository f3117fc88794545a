import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/digest.js";
import { signedMessage, verifyArtifact } from "./verify.js";

function keys() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

describe("verifyArtifact", () => {
  const console1 = keys();
  const bytes = Buffer.from("a package, honestly");
  const sha256 = sha256Hex(bytes);
  const signature = sign(null, signedMessage(sha256), console1.privateKey).toString("base64");

  it("signs the documented message", () => {
    expect(signedMessage(sha256).toString("utf8")).toBe(`msec-artifact-v1\n${sha256}`);
  });

  it("accepts a good artifact", () => {
    expect(verifyArtifact(bytes, { sha256, signature }, console1.publicPem)).toEqual({ ok: true });
  });

  it("refuses tampered bytes", () => {
    const tampered = Buffer.from(bytes);
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    expect(verifyArtifact(tampered, { sha256, signature }, console1.publicPem)).toEqual({
      ok: false,
      reason: "hash_mismatch",
    });
  });

  it("refuses a signature by another key", () => {
    const other = keys();
    expect(verifyArtifact(bytes, { sha256, signature }, other.publicPem)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("refuses a garbage signature without throwing", () => {
    for (const sig of ["", "not base64 at all!!", Buffer.alloc(64, 7).toString("base64")]) {
      expect(verifyArtifact(bytes, { sha256, signature: sig }, console1.publicPem)).toEqual({
        ok: false,
        reason: "bad_signature",
      });
    }
  });

  it("refuses a signature over another hash (re-signed bytes swapped)", () => {
    const other = Buffer.from("another package");
    expect(
      verifyArtifact(other, { sha256: sha256Hex(other), signature }, console1.publicPem),
    ).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });
});
