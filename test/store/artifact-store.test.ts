import { randomBytes, verify } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  getArtifact,
  getArtifactContent,
  insertArtifact,
  listArtifacts,
} from "../../src/console/artifacts/repo.js";
import {
  loadOrCreateSigningKey,
  type SigningKey,
  verifyArtifactSignature,
} from "../../src/console/artifacts/signing.js";
import { openStore } from "../../src/console/store/index.js";
import { sha256Hex } from "../../src/core/digest.js";
import { TEST_ENGINES, useFreshStore } from "../support/engines.js";

const now = 1_700_000_000_000;

// The artifact store and its signing key, on every engine.
describe.each(TEST_ENGINES)("artifact store [%s]", (engine) => {
  const fresh = useFreshStore(engine);
  let key: SigningKey;

  beforeAll(async () => {
    key = await loadOrCreateSigningKey(fresh.store.db, now);
  });

  const upload = (service: string, kind: "package" | "config", content: Uint8Array, t = now) =>
    fresh.store.transaction((tx) =>
      insertArtifact(
        tx,
        key,
        { service, kind, content, uploadedBy: "alice", note: "n", name: null },
        t,
      ),
    );

  it("numbers versions 1, 2, 3 per (service, kind)", async () => {
    const a1 = await upload("Demo.Echo", "package", Buffer.from("one"));
    const a2 = await upload("Demo.Echo", "package", Buffer.from("two"), now + 1);
    const c1 = await upload("Demo.Echo", "config", Buffer.from("cfg"), now + 2);
    const o1 = await upload("Demo.Other", "package", Buffer.from("x"), now + 3);
    expect([a1.version, a2.version, c1.version, o1.version]).toEqual([1, 2, 1, 1]);
    const all = await listArtifacts(fresh.store.db, "Demo.Echo");
    expect(all.map((a) => `${a.kind}:${a.version}`)).toEqual([
      "config:1",
      "package:2",
      "package:1",
    ]);
    const pkgs = await listArtifacts(fresh.store.db, "Demo.Echo", "package");
    expect(pkgs.map((a) => a.version)).toEqual([2, 1]);
  });

  it("round-trips the bytes, with sha256 and size", async () => {
    const bytes = randomBytes(300_000);
    bytes[0] = 0;
    const m = await upload("Bin.Blob", "package", bytes);
    const got = await getArtifactContent(fresh.store.db, "Bin.Blob", "package", m.version);
    expect(Buffer.compare(got.content, bytes)).toBe(0);
    expect(got.meta.sha256).toBe(sha256Hex(bytes));
    expect(Number(got.meta.size)).toBe(bytes.length);
    const meta = await getArtifact(fresh.store.db, "Bin.Blob", "package", m.version);
    expect(meta.uploaded_by).toBe("alice");
    await expect(getArtifact(fresh.store.db, "Bin.Blob", "package", 99)).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("signs sha256 so that the public key verifies it", async () => {
    const m = await upload("Sig.Check", "package", Buffer.from("signed bytes"));
    const message = Buffer.from(`msec-artifact-v1\n${m.sha256}`, "utf8");
    expect(verify(null, message, key.publicKeyPem, Buffer.from(m.signature, "base64"))).toBe(true);
    expect(verifyArtifactSignature(key.publicKeyPem, m.sha256, m.signature)).toBe(true);
    expect(
      verifyArtifactSignature(key.publicKeyPem, sha256Hex(Buffer.from("x")), m.signature),
    ).toBe(false);
  });

  it("creates the key once and reuses it on a second open", async () => {
    const again = await loadOrCreateSigningKey(fresh.store.db, now + 10);
    expect(again.publicKeyPem).toBe(key.publicKeyPem);
    const second = await openStore(fresh.url);
    try {
      const [a, b] = await Promise.all([
        loadOrCreateSigningKey(second.db, now + 20),
        loadOrCreateSigningKey(second.db, now + 20),
      ]);
      expect(a.publicKeyPem).toBe(key.publicKeyPem);
      expect(b.publicKeyPem).toBe(key.publicKeyPem);
    } finally {
      await second.close();
    }
  });
});
