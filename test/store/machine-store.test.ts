import { describe, expect, it } from "vitest";
import { findMachineByCredential } from "../../src/console/machines/credential.js";
import { getDeployments, setDeployment } from "../../src/console/machines/deployments.js";
import {
  createJoinToken,
  deleteJoinToken,
  deleteMachine,
  deploymentsOf,
  desiredRevisionOf,
  enrollMachine,
  getMachineByName,
  listJoinTokens,
  listMachines,
  machineObservation,
  machinesWithLabels,
  recordStateReport,
  setMachineLabels,
  toJoinTokenView,
  toMachineView,
} from "../../src/console/machines/repo.js";
import type { Deployment, ServiceReport } from "../../src/core/schemas/machine.js";
import { TEST_ENGINES, useFreshStore } from "../support/engines.js";

const now = 1_700_000_000_000;
const SHA = "a".repeat(64);

const deployment = (service: string, version: number, weight = 100): Deployment => ({
  service,
  package: { version, sha256: SHA, signature: "sig", name: null },
  configs: [{ version: 2, sha256: SHA, signature: "sig", name: "app.json" }],
  libs: [],
  plugins: [],
  weight,
});

// Machines and join tokens, on every engine.
describe.each(TEST_ENGINES)("machine store [%s]", (engine) => {
  const fresh = useFreshStore(engine);

  const newToken = (labels: Record<string, string> = {}, ttlSeconds = 3600, at = now) =>
    fresh.store.transaction((tx) =>
      createJoinToken(tx, { createdBy: "admin", labels, ttlSeconds, note: "n" }, at),
    );
  const enroll = (joinToken: string, name: string, labels: Record<string, string> = {}, at = now) =>
    fresh.store.transaction((tx) =>
      enrollMachine(
        tx,
        { joinToken, name, hostname: `${name}.lan`, agentVersion: "1.0", labels },
        at,
      ),
    );

  it("enrolls with a join token, overlaying the token's labels, and stores only hashes", async () => {
    const { row, secret } = await newToken({ zone: "sz", role: "web" });
    expect(secret).toMatch(/^msecj_/);
    expect(row.token_hash).not.toContain(secret.slice(6));
    const r = await enroll(secret, "m-labels", { zone: "bj", rack: "r1" });
    expect(r.credential).toMatch(/^msecm_/);
    expect(r.tokenId).toBe(Number(row.id));
    expect(r.machine).toMatchObject({
      name: "m-labels",
      hostname: "m-labels.lan",
      agentVersion: "1.0",
      labels: { zone: "sz", role: "web", rack: "r1" },
      desiredRevision: 0,
      appliedRevision: 0,
      services: [],
    });
    expect(await findMachineByCredential(fresh.store.db, r.credential)).toEqual({
      id: r.machine.id,
      name: "m-labels",
    });
    const view = toJoinTokenView(
      (await listJoinTokens(fresh.store.db)).find((t) => t.id === row.id) ?? row,
    );
    expect(view).toMatchObject({ usedBy: "m-labels", labels: { zone: "sz", role: "web" } });
    expect(view.usedAt).not.toBeNull();
  });

  it("lets exactly one of two concurrent enrollments spend a join token", async () => {
    const { secret } = await newToken();
    const results = await Promise.allSettled([enroll(secret, "race-a"), enroll(secret, "race-b")]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: "unauthenticated" });
    const names = (await listMachines(fresh.store.db)).map((m) => m.name);
    expect(names.filter((n) => n.startsWith("race-"))).toHaveLength(1);
  });

  it("guards the spend itself when the second enrollment read the token before the first committed", async () => {
    const { secret } = await newToken();
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    // The first enrollment holds its transaction open after spending the token.
    const first = fresh.store.transaction(async (tx) => {
      const r = await enrollMachine(
        tx,
        { joinToken: secret, name: "slow-a", hostname: "", agentVersion: "", labels: {} },
        now,
      );
      await gate;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    const second = enroll(secret, "slow-b");
    await new Promise((r) => setTimeout(r, 200));
    release();
    await expect(first).resolves.toMatchObject({ machine: { name: "slow-a" } });
    // PostgreSQL: the second read the token unused and lost at the conditional update.
    // SQLite: one connection, so the second ran after the first and saw it used.
    await expect(second).rejects.toMatchObject({
      code: "unauthenticated",
      message: expect.stringMatching(engine === "postgres" ? /just used/ : /already used/),
    });
  });

  it("refuses unknown, used and expired tokens, and a taken name without spending the token", async () => {
    await expect(enroll("msecj_nope", "m-x")).rejects.toMatchObject({
      code: "unauthenticated",
      message: expect.stringMatching(/unknown join token/),
    });
    const used = await newToken();
    await enroll(used.secret, "m-used");
    await expect(enroll(used.secret, "m-used-2")).rejects.toMatchObject({
      code: "unauthenticated",
      message: expect.stringMatching(/already used/),
    });
    const old = await newToken({}, 60, now - 120_000);
    await expect(enroll(old.secret, "m-late")).rejects.toMatchObject({
      code: "unauthenticated",
      message: expect.stringMatching(/expired/),
    });
    const spare = await newToken();
    await expect(enroll(spare.secret, "m-used")).rejects.toMatchObject({
      code: "already_exists",
      message: expect.stringMatching(/msec machine rm m-used/),
    });
    // The clash rolled back: the token still works under another name.
    const again = await enroll(spare.secret, "m-other");
    expect(again.machine.name).toBe("m-other");
  });

  it("revokes only unused join tokens", async () => {
    const unused = await newToken();
    await fresh.store.transaction((tx) => deleteJoinToken(tx, Number(unused.row.id)));
    await expect(enroll(unused.secret, "m-revoked")).rejects.toMatchObject({
      code: "unauthenticated",
    });
    const used = await newToken();
    await enroll(used.secret, "m-keeps-token");
    await expect(deleteJoinToken(fresh.store.db, Number(used.row.id))).rejects.toMatchObject({
      code: "failed_precondition",
    });
    await expect(deleteJoinToken(fresh.store.db, 999_999)).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("filters machines by labels (all given labels equal)", async () => {
    for (const [name, labels] of [
      ["lbl-1", { zone: "sz", tier: "web" }],
      ["lbl-2", { zone: "sz", tier: "db" }],
      ["lbl-3", { zone: "bj", tier: "web" }],
    ] as const) {
      const { secret } = await newToken();
      await enroll(secret, name, { ...labels, suite: "labels" });
    }
    const names = async (labels: Record<string, string>) =>
      (await machinesWithLabels(fresh.store.db, { ...labels, suite: "labels" })).map((m) => m.name);
    expect(await names({ zone: "sz" })).toEqual(["lbl-1", "lbl-2"]);
    expect(await names({ zone: "sz", tier: "web" })).toEqual(["lbl-1"]);
    expect(await names({ tier: "web" })).toEqual(["lbl-1", "lbl-3"]);
    expect(await names({ zone: "gz" })).toEqual([]);
    expect(await names({})).toEqual(["lbl-1", "lbl-2", "lbl-3"]);

    const m = await getMachineByName(fresh.store.db, "lbl-3");
    await setMachineLabels(fresh.store.db, m.id, { zone: "sz", tier: "web", suite: "labels" });
    expect(await names({ zone: "sz", tier: "web" })).toEqual(["lbl-1", "lbl-3"]);
    await expect(getMachineByName(fresh.store.db, "nope")).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("bumps the desired revision with each deployment change, and removes them with the machine", async () => {
    const { secret } = await newToken();
    const { machine } = await enroll(secret, "m-deploy");
    const r1 = await fresh.store.transaction((tx) =>
      setDeployment(tx, machine.id, "Demo.Echo", deployment("Demo.Echo", 1), now),
    );
    const r2 = await fresh.store.transaction((tx) =>
      setDeployment(tx, machine.id, "Demo.Other", deployment("Demo.Other", 3, 10), now),
    );
    const r3 = await fresh.store.transaction((tx) =>
      setDeployment(tx, machine.id, "Demo.Echo", deployment("Demo.Echo", 2), now),
    );
    expect([r1, r2, r3]).toEqual([1, 2, 3]);
    expect(await desiredRevisionOf(fresh.store.db, machine.id)).toBe(3);
    expect(
      (await getDeployments(fresh.store.db, machine.id)).map((d) => d.package.version),
    ).toEqual([2, 3]);
    const byMachine = await deploymentsOf(fresh.store.db, [machine.id]);
    expect(byMachine.get(machine.id)?.map((d) => d.service)).toEqual(["Demo.Echo", "Demo.Other"]);

    const r4 = await fresh.store.transaction((tx) =>
      setDeployment(tx, machine.id, "Demo.Other", null, now),
    );
    expect(r4).toBe(4);
    expect((await getDeployments(fresh.store.db, machine.id)).map((d) => d.service)).toEqual([
      "Demo.Echo",
    ]);

    await fresh.store.transaction((tx) => deleteMachine(tx, machine.id));
    expect(await desiredRevisionOf(fresh.store.db, machine.id)).toBeUndefined();
    expect(await getDeployments(fresh.store.db, machine.id)).toEqual([]);
    expect(await findMachineByCredential(fresh.store.db, secret)).toBeUndefined();
  });

  it("maps the agent's report into observations and views", async () => {
    const { secret } = await newToken();
    const { machine } = await enroll(secret, "m-observed");
    await fresh.store.transaction((tx) =>
      setDeployment(tx, machine.id, "Demo.Echo", deployment("Demo.Echo", 1), now),
    );
    const services: ServiceReport[] = [
      {
        service: "Demo.Echo",
        running: {
          versions: { package: 1, configs: [2], libs: [], plugins: [] },
          state: "healthy",
          pid: 4242,
          addr: "10.0.0.7:8080",
          restarts: 0,
          since: new Date(now).toISOString(),
        },
        target: null,
      },
    ];
    const seen = now + 5000;
    await recordStateReport(
      fresh.store.db,
      machine.id,
      { appliedRevision: 1, hostname: "observed.lan", agentVersion: "1.1", services },
      seen,
    );
    const [obs, ...rest] = await machineObservation(fresh.store.db, [machine.id, 999_999]);
    expect(rest).toEqual([]);
    expect(obs).toEqual({
      id: machine.id,
      name: "m-observed",
      appliedRevision: 1,
      desiredRevision: 1,
      lastSeenAt: seen,
      services,
    });
    expect(await machineObservation(fresh.store.db, [])).toEqual([]);

    const m = await getMachineByName(fresh.store.db, "m-observed");
    expect(m).toMatchObject({ hostname: "observed.lan", agentVersion: "1.1" });
    const deployments = await getDeployments(fresh.store.db, m.id);
    const online = toMachineView(m, deployments, seen + 30_000);
    expect(online).toMatchObject({
      name: "m-observed",
      online: true,
      lastSeenAt: new Date(seen).toISOString(),
      desiredRevision: 1,
      appliedRevision: 1,
      services,
    });
    expect(online.deployments.map((d) => d.service)).toEqual(["Demo.Echo"]);
    expect(toMachineView(m, deployments, seen + 30_001).online).toBe(false);
  });
});
