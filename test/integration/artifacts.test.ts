import { createHash, randomBytes, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyArtifact } from "../../src/agent/deploy/verify.js";
import { type ConsoleProcess, runCli, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, type Reply, tokenFor, userToken } from "../support/http.js";

const ADMIN_PW = "admin-password-1";
const ENV = { MSEC_ADMIN_PASSWORD: ADMIN_PW };

async function upload(
  base: string,
  path: string,
  bytes: Uint8Array,
  token: string,
): Promise<Reply> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body: bytes,
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

describe("artifact store over HTTP and the CLI", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  let admin: string;
  let operator: string;
  let viewer: string;
  let home: string;

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: ENV });
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    operator = await userToken(c.url, admin, "olga", "operator");
    viewer = await userToken(c.url, admin, "vera", "viewer");
    home = mkdtempSync(join(tmpdir(), "msec-home-"));
  });
  afterAll(async () => {
    await c?.stop();
    await db?.dispose();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("uploads numbered, signed versions and serves the bytes back", async () => {
    const bytes = randomBytes(3 * 1024 * 1024); // past the 1 MiB JSON body limit
    const sha = createHash("sha256").update(bytes).digest("hex");
    const r1 = await upload(c.url, "/artifacts/Demo.Echo/package?note=first", bytes, operator);
    expect(r1.status).toBe(201);
    expect(r1.body).toMatchObject({
      service: "Demo.Echo",
      kind: "package",
      version: 1,
      sha256: sha,
      size: bytes.length,
      uploadedBy: "olga",
      note: "first",
      name: null,
    });
    const r2 = await upload(c.url, "/artifacts/Demo.Echo/package", Buffer.from("v2"), operator);
    expect(r2.body.version).toBe(2);

    const key = await call(c.url, "GET", "/artifacts/signing-key", { token: viewer });
    expect(key.status).toBe(200);
    const message = Buffer.from(`msec-artifact-v1\n${sha}`, "utf8");
    expect(
      verify(null, message, key.body.publicKey, Buffer.from(r1.body.signature, "base64")),
    ).toBe(true);

    const res = await fetch(`${c.url}/api/v1/artifacts/Demo.Echo/package/1/content`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(res.status).toBe(200);
    const got = Buffer.from(await res.arrayBuffer());
    expect(Buffer.compare(got, bytes)).toBe(0);
    expect(res.headers.get("x-msec-sha256")).toBe(sha);
    expect(res.headers.get("x-msec-signature")).toBe(r1.body.signature);
    // What the agent will do with a download: its verifier accepts the console's signature,
    // and refuses the same signature on other bytes.
    const digest = { sha256: sha, signature: r1.body.signature as string };
    expect(verifyArtifact(got, digest, key.body.publicKey)).toEqual({ ok: true });
    expect(
      verifyArtifact(Buffer.concat([got, Buffer.from("x")]), digest, key.body.publicKey),
    ).toEqual({
      ok: false,
      reason: "hash_mismatch",
    });

    const meta = await call(c.url, "GET", "/artifacts/Demo.Echo/package/1", { token: viewer });
    expect(meta.body).toEqual(r1.body);
    const list = await call(c.url, "GET", "/artifacts/Demo.Echo?kind=package", { token: viewer });
    expect(list.body.artifacts.map((a: { version: number }) => a.version)).toEqual([2, 1]);
    const missing = await call(c.url, "GET", "/artifacts/Demo.Echo/package/9", { token: viewer });
    expect(missing.status).toBe(404);
  });

  it("refuses viewers, bad kinds and bad service names, naming the field", async () => {
    const denied = await upload(c.url, "/artifacts/Demo.Echo/package", Buffer.from("x"), viewer);
    expect(denied.status).toBe(403);
    const badKind = await upload(c.url, "/artifacts/Demo.Echo/binary", Buffer.from("x"), operator);
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.field).toBe("params.kind");
    expect(badKind.body.error.message).toMatch(/params\.kind/);
    const badName = await upload(c.url, "/artifacts/nodots/package", Buffer.from("x"), operator);
    expect(badName.status).toBe(400);
    expect(badName.body.error.field).toBe("params.service");
    const empty = await upload(c.url, "/artifacts/Demo.Echo/package", new Uint8Array(0), operator);
    expect(empty.status).toBe(400);
  });

  it("audits every upload", async () => {
    const audit = await call(c.url, "GET", "/audit", { token: admin });
    expect(audit.status).toBe(200);
    const uploads = audit.body.entries.filter(
      (e: { action: string }) => e.action === "artifact.upload",
    );
    expect(uploads.map((e: { target: string }) => e.target)).toContain(
      "artifact:Demo.Echo/package/1",
    );
    expect(uploads.find((e: { actor: string }) => e.actor === "olga")).toBeDefined();
  });

  it("pushes and lists with the CLI", async () => {
    const env = { MSEC_CONSOLE: c.url, MSEC_TOKEN: operator, MSEC_HOME: home };
    const file = join(home, "app.conf");
    writeFileSync(file, "listen = 8080\n");
    const sha = createHash("sha256").update("listen = 8080\n").digest("hex");
    const push = await runCli(
      ["artifact", "push", "Demo.Cli", file, "--kind", "config", "--note", "port"],
      { env },
    );
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    expect(push.stdout).toContain("version 1");
    expect(push.stdout).toContain(sha);

    const list = await runCli(["artifact", "list", "Demo.Cli", "--json"], { env });
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: "config", version: 1, name: "app.conf", note: "port" });

    const table = await runCli(["artifact", "list", "Demo.Cli", "--kind", "config"], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("app.conf");
  });
});
