import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setDeployment } from "../../src/console/machines/deployments.js";
import { getMachineByName } from "../../src/console/machines/repo.js";
import { openStore, type Store } from "../../src/console/store/index.js";
import type { Deployment, StateReport } from "../../src/core/schemas/machine.js";
import { type ConsoleProcess, runCli, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor, userToken } from "../support/http.js";

const ADMIN_PW = "admin-password-1";
const ENV = { MSEC_ADMIN_PASSWORD: ADMIN_PW };
const SHA = "d".repeat(64);

const deployment = (version: number): Deployment => ({
  service: "Demo.Echo",
  package: { version, sha256: SHA, signature: "sig", name: null },
  configs: [],
  libs: [],
  plugins: [],
  weight: 100,
});

describe("machines over HTTP and the CLI", () => {
  let db: TestDatabase;
  let c: ConsoleProcess;
  /** The console's store, opened beside it: writes here act like another replica's. */
  let store: Store;
  let admin: string;
  let operator: string;
  let viewer: string;
  let home: string;
  let credential: string;
  let cli: (args: string[], token?: string) => ReturnType<typeof runCli>;

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    c = await startConsoleProcess({ db: db.url, env: ENV });
    store = await openStore(db.url);
    admin = await tokenFor(c.url, "admin", ADMIN_PW);
    operator = await userToken(c.url, admin, "olga", "operator");
    viewer = await userToken(c.url, admin, "vera", "viewer");
    home = mkdtempSync(join(tmpdir(), "msec-home-"));
    cli = (args, token = admin) =>
      runCli(args, { env: { MSEC_CONSOLE: c.url, MSEC_TOKEN: token, MSEC_HOME: home } });
  });
  afterAll(async () => {
    await store?.close();
    await c?.stop();
    await db?.dispose();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("makes a join token with the CLI, and only for admins", async () => {
    const denied = await call(c.url, "POST", "/machines/tokens", { token: viewer, body: {} });
    expect(denied.status).toBe(403);
    const byOperator = await call(c.url, "POST", "/machines/tokens", { token: operator, body: {} });
    expect(byOperator.status).toBe(403);
    const bad = await call(c.url, "POST", "/machines/tokens", {
      token: admin,
      body: { ttlSeconds: 5 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("body.ttlSeconds");

    const r = await cli([
      "machine",
      "token",
      "--label",
      "zone=sz",
      "--ttl",
      "1h",
      "--note",
      "rack 4",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const secret = r.stdout.split("\n")[0] ?? "";
    expect(secret).toMatch(/^msecj_/);
    expect(r.stdout).toContain(`msec agent --console ${c.url} --token ${secret} --root /srv/msec`);

    const enrolled = await call(c.url, "POST", "/machines/enroll", {
      body: {
        joinToken: secret,
        name: "web-1",
        hostname: "web-1.lan",
        agentVersion: "0.1.0",
        labels: { zone: "bj", rack: "r4" },
      },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body.machine).toBe("web-1");
    expect(enrolled.body.credential).toMatch(/^msecm_/);
    credential = enrolled.body.credential;
    const key = await call(c.url, "GET", "/artifacts/signing-key", { token: viewer });
    expect(enrolled.body.signingKey).toBe(key.body.publicKey);

    // A join token works once.
    const again = await call(c.url, "POST", "/machines/enroll", {
      body: { joinToken: secret, name: "web-2" },
    });
    expect(again.status).toBe(401);
    expect(again.body.error.message).toMatch(/already used/);

    const tokens = await cli(["machine", "tokens", "--json"]);
    expect(JSON.parse(tokens.stdout)[0]).toMatchObject({
      usedBy: "web-1",
      labels: { zone: "sz" },
      note: "rack 4",
      createdBy: "admin",
    });
  });

  it("refuses a second machine of the same name", async () => {
    const t = await call(c.url, "POST", "/machines/tokens", { token: admin, body: {} });
    const r = await call(c.url, "POST", "/machines/enroll", {
      body: { joinToken: t.body.token, name: "web-1" },
    });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/msec machine rm web-1/);
    // The refused enrollment did not spend the token: it can be revoked as unused.
    const revoked = await cli(["machine", "revoke-token", String(t.body.id)]);
    expect(revoked.code).toBe(0);
    const gone = await call(c.url, "POST", "/machines/enroll", {
      body: { joinToken: t.body.token, name: "web-9" },
    });
    expect(gone.status).toBe(401);
  });

  it("lets the machine credential call the agent routes and nothing of a user's", async () => {
    const auth = { token: credential };
    const d = await call(c.url, "GET", "/machines/self/desired?waitMs=0", auth);
    expect(d.status).toBe(200);
    expect(d.body).toEqual({ machine: "web-1", revision: 0, deployments: [] });

    const report: StateReport = {
      appliedRevision: 0,
      hostname: "web-1.lan",
      agentVersion: "0.1.1",
      services: [],
    };
    const s = await call(c.url, "PUT", "/machines/self/state", { ...auth, body: report });
    expect(s.status).toBe(204);
    const badReport = await call(c.url, "PUT", "/machines/self/state", {
      ...auth,
      body: { ...report, appliedRevision: -1 },
    });
    expect(badReport.status).toBe(400);
    expect(badReport.body.error.field).toBe("body.appliedRevision");

    expect((await call(c.url, "GET", "/users", auth)).status).toBe(403);
    expect((await call(c.url, "GET", "/machines", auth)).status).toBe(403);
    const create = await call(c.url, "POST", "/services", { ...auth, body: { name: "Demo.X" } });
    expect(create.status).toBe(403);
    // Service reads are open to machines: processes resolve names with this credential.
    expect((await call(c.url, "GET", "/services", auth)).status).toBe(200);

    // A user token on an agent route: not a machine.
    const asUser = await call(c.url, "GET", "/machines/self/desired?waitMs=0", { token: admin });
    expect(asUser.status).toBe(401);
    const noAuth = await call(c.url, "PUT", "/machines/self/state", { body: report });
    expect(noAuth.status).toBe(401);
  });

  it("gives the agent a read-only credential for its service processes", async () => {
    const made = await call(c.url, "POST", "/machines/self/service-credential", {
      token: credential,
    });
    expect(made.status).toBe(201);
    const services = { token: made.body.credential as string };
    expect(services.token).toMatch(/^msecs_/);

    // Reads: names, watches (what a service's clients need).
    expect((await call(c.url, "GET", "/services", services)).status).toBe(200);
    // Nothing of the agent's, and no writes, even on routes open to machines.
    expect((await call(c.url, "GET", "/machines/self/desired?waitMs=0", services)).status).toBe(
      403,
    );
    const state = await call(c.url, "PUT", "/machines/self/state", {
      ...services,
      body: { appliedRevision: 0, services: [] },
    });
    expect(state.status).toBe(403);
    const register = await call(c.url, "POST", "/services/Demo.X/instances", {
      ...services,
      body: { addr: "127.0.0.1:9999" },
    });
    expect(register.status).toBe(403);
    expect(register.body.error.message).toMatch(/may only read/);
    const again = await call(c.url, "POST", "/machines/self/service-credential", services);
    expect(again.status).toBe(403);
    expect((await call(c.url, "GET", "/users", services)).status).toBe(403);
  });

  it("answers a waiting long-poll soon after the deployment changes", async () => {
    const t0 = performance.now();
    const pending = call(c.url, "GET", "/machines/self/desired?after=0&waitMs=20000", {
      token: credential,
    });
    await new Promise((r) => setTimeout(r, 200));
    const m = await getMachineByName(store.db, "web-1");
    // Written from outside the console process, as another replica would: no wake-up event,
    // so the poll's periodic re-read has to find it.
    await store.transaction((tx) =>
      setDeployment(tx, m.id, "Demo.Echo", deployment(3), Date.now()),
    );
    const r = await pending;
    expect(r.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(r.body).toEqual({ machine: "web-1", revision: 1, deployments: [deployment(3)] });
  });

  it("lists, shows and labels machines with the CLI", async () => {
    await call(c.url, "PUT", "/machines/self/state", {
      token: credential,
      body: {
        appliedRevision: 1,
        hostname: "web-1.lan",
        agentVersion: "0.1.1",
        services: [
          {
            service: "Demo.Echo",
            running: {
              versions: { package: 3, configs: [], libs: [], plugins: [] },
              state: "healthy",
              pid: 4321,
              addr: "127.0.0.1:9100",
              restarts: 0,
              since: new Date().toISOString(),
            },
            target: null,
          },
        ],
      },
    });
    const list = await cli(["machine", "list"], viewer);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/web-1\s+online\s+web-1\.lan/);
    const json = JSON.parse((await cli(["machine", "list", "--json"], viewer)).stdout);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({
      name: "web-1",
      online: true,
      labels: { zone: "sz", rack: "r4" },
      desiredRevision: 1,
      appliedRevision: 1,
      agentVersion: "0.1.1",
    });

    const show = await cli(["machine", "show", "web-1"], viewer);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("labels:    rack=r4,zone=sz");
    expect(show.stdout).toContain("Demo.Echo\n  desired: 3, weight 100");
    expect(show.stdout).toContain("running: 3, healthy, pid 4321, 127.0.0.1:9100");
    const missing = await cli(["machine", "show", "nope"], viewer);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no machine named nope [not_found]");

    const deniedLabel = await cli(["machine", "label", "web-1", "tier=web"], viewer);
    expect(deniedLabel.code).toBe(1);
    expect(deniedLabel.stderr).toContain("[permission_denied]");
    const label = await cli(["machine", "label", "web-1", "tier=web", "rack="], operator);
    expect(label.stderr).toBe("");
    expect(label.stdout).toContain("labels of web-1: tier=web,zone=sz");
    const badName = await cli(["machine", "label", "web-1", "Tier=web"], operator);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain("body.labels.Tier: label names are lower-case");
    const usage = await cli(["machine", "label", "web-1", "tier"], operator);
    expect(usage.code).toBe(2);
  });

  it("removes a machine, revoking its credential, and audits it all", async () => {
    expect((await cli(["machine", "rm", "web-1"], operator)).code).toBe(1);
    const rm = await cli(["machine", "rm", "web-1"]);
    expect(rm.stderr).toBe("");
    expect(rm.stdout).toContain("removed machine web-1");
    const after = await call(c.url, "GET", "/machines/self/desired?waitMs=0", {
      token: credential,
    });
    expect(after.status).toBe(401);
    expect((await call(c.url, "GET", "/machines/web-1", { token: viewer })).status).toBe(404);
    expect((await call(c.url, "GET", "/machines", { token: viewer })).body).toEqual({
      machines: [],
    });

    const audit = await call(c.url, "GET", "/audit?limit=1000", { token: admin });
    const entries = audit.body.entries as { action: string; actor: string; target: string }[];
    const pick = (action: string) => entries.filter((e) => e.action === action);
    expect(pick("machine.enroll").find((e) => e.actor === "machine:web-1")?.target).toBe(
      "machine:web-1",
    );
    expect(pick("machine.token.create").length).toBeGreaterThanOrEqual(2);
    expect(pick("machine.token.revoke")).toHaveLength(1);
    expect(pick("machine.labels")[0]?.actor).toBe("olga");
    expect(pick("machine.remove")[0]?.actor).toBe("admin");
  });
});
