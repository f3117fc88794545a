import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../core/digest.js";
import { MsecError } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import type { ArtifactRef } from "../core/schemas/machine.js";
import { ArtifactSource } from "./artifacts.js";
import { signedMessage } from "./deploy/verify.js";

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const PEM = publicKey.export({ type: "spki", format: "pem" }).toString();

function refOf(bytes: Buffer, version = 1): ArtifactRef {
  const sha256 = sha256Hex(bytes);
  return {
    version,
    sha256,
    signature: sign(null, signedMessage(sha256), privateKey).toString("base64"),
    name: null,
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "msec-art-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function source(serve: () => Buffer) {
  let downloads = 0;
  const src = new ArtifactSource({
    cacheDir: dir,
    signingKey: PEM,
    log: createLogger({ level: "silent" }),
    retryForMs: 1000,
    retryDelayMs: 10,
    api: {
      download: async () => {
        downloads++;
        return serve();
      },
    },
  });
  return { src, downloads: () => downloads };
}

describe("artifact source", () => {
  it("verifies, caches, and serves the cache (checked again) next time", async () => {
    const bytes = Buffer.from("package bytes");
    const s = source(() => bytes);
    expect((await s.src.get("A.B", "package", refOf(bytes))).equals(bytes)).toBe(true);
    expect((await s.src.get("A.B", "package", refOf(bytes))).equals(bytes)).toBe(true);
    expect(s.downloads()).toBe(1);
    // A cache file that was tampered with is fetched again.
    const [cached] = await readdir(join(dir, "A.B"));
    await writeFile(join(dir, "A.B", cached as string), "evil");
    expect((await s.src.get("A.B", "package", refOf(bytes))).equals(bytes)).toBe(true);
    expect(s.downloads()).toBe(2);
  });

  it("refuses bytes that do not match the desired state's sha256, and caches nothing", async () => {
    const good = Buffer.from("good");
    const s = source(() => Buffer.from("tampered"));
    await expect(s.src.get("A.B", "package", refOf(good, 3))).rejects.toThrow(
      /A\.B package version 3 refused: its bytes hash to .* the desired state says .*nothing was unpacked/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("tries a download again while the console is unreachable; a 4xx is final", async () => {
    const bytes = Buffer.from("pkg");
    let n = 0;
    const flaky = source(() => {
      n++;
      if (n < 3) throw new MsecError("unavailable", "console unreachable: ECONNRESET");
      return bytes;
    });
    expect((await flaky.src.get("A.B", "package", refOf(bytes))).equals(bytes)).toBe(true);
    expect(flaky.downloads()).toBe(3);
    const gone = source(() => {
      throw new MsecError("not_found", "no such artifact");
    });
    await expect(gone.src.get("A.C", "package", refOf(bytes))).rejects.toThrow(/no such artifact/);
    expect(gone.downloads()).toBe(1);
    const down = source(() => {
      throw new MsecError("unavailable", "console unreachable");
    });
    await expect(down.src.get("A.D", "package", refOf(bytes))).rejects.toThrow(/unreachable/);
    expect(down.downloads()).toBeGreaterThan(2);
  });

  it("refuses a signature that is not the console's", async () => {
    const bytes = Buffer.from("x");
    const other = generateKeyPairSync("ed25519").privateKey;
    const sha256 = sha256Hex(bytes);
    const forged = {
      ...refOf(bytes),
      signature: sign(null, signedMessage(sha256), other).toString("base64"),
    };
    const s = source(() => bytes);
    await expect(s.src.get("A.B", "lib", forged)).rejects.toThrow(/signature is not the console's/);
  });
});
