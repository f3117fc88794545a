import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type RpcClient } from "../../src/runtime/index.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor } from "../support/http.js";
import { type ServiceProcess, startDemo } from "../support/service-process.js";
import { until } from "../support/wait.js";

const ADMIN_PW = "admin-password-1";

/**
 * Steady, bounded load: `perTick` NON-idempotent calls every 10 ms (so a failed call could
 * not be retried by the client), at most `maxInFlight` at once. Some calls take a few ms,
 * so calls are in flight whenever something happens.
 */
async function steadyLoad(client: RpcClient, ms: number, perTick: number, maxInFlight = 200) {
  const r = { ok: 0, failed: 0, errors: [] as string[], servedBy: new Map<string, number[]>() };
  const started = Date.now();
  let inFlight = 0;
  const all: Promise<void>[] = [];
  while (Date.now() - started < ms) {
    for (let i = 0; i < perTick && inFlight < maxInFlight; i++) {
      inFlight++;
      const at = Date.now() - started;
      all.push(
        client
          .call<{ servedBy: string }>("Echo", { text: "x", delayMs: i % 4 === 0 ? 5 : 0 })
          .then(
            (reply) => {
              r.ok++;
              const times = r.servedBy.get(reply.servedBy) ?? [];
              times.push(at);
              r.servedBy.set(reply.servedBy, times);
            },
            (e: Error) => {
              r.failed++;
              if (r.errors.length < 5) r.errors.push(`${at} ms: ${e.message}`);
            },
          )
          .finally(() => {
            inFlight--;
          }),
      );
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  await Promise.all(all);
  return { ...r, seconds: (Date.now() - started) / 1000 };
}

describe("zero-drop reload (the agent's order: deregister, wait, SIGTERM)", () => {
  let db: TestDatabase;
  let consoleProc: ConsoleProcess;
  let token: string;
  let cacheDir: string;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    consoleProc = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    token = await tokenFor(consoleProc.url, "admin", ADMIN_PW);
    cacheDir = mkdtempSync(join(tmpdir(), "msec-cache-"));
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop().catch(() => {})));
    await consoleProc?.stop();
    await db?.dispose();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("loses no call, not even a non-idempotent one, and the old process exits cleanly", async () => {
    // Managed: they do not register themselves; the test does, as the agent would.
    const [a, b] = await Promise.all([
      startDemo("echo", { MSEC_MANAGED: "1" }),
      startDemo("echo", { MSEC_MANAGED: "1" }),
    ]);
    procs.push(a as ServiceProcess, b as ServiceProcess);
    for (const p of [a, b] as ServiceProcess[]) {
      const r = await call(consoleProc.url, "POST", "/services/Demo.Echo/instances", {
        token,
        body: { addr: p.addr, weight: 100, ttlSeconds: 3600 },
      });
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    }
    const client = createClient("Demo.Echo", { console: consoleProc.url, token, cacheDir });
    await client.call("Echo", {}); // starts the client's watch of the name
    await until("both instances known", async () => client.endpoints.length === 2);
    const leaving = a as ServiceProcess;
    const exit = new Promise<number | null>((resolve) => leaving.proc.once("exit", resolve));
    let deregisteredAt = 0;
    let signalledAt = 0;
    const t0 = Date.now();
    setTimeout(async () => {
      deregisteredAt = Date.now() - t0;
      const r = await call(
        consoleProc.url,
        "DELETE",
        `/services/Demo.Echo/instances/${encodeURIComponent(leaving.addr)}`,
        { token },
      );
      expect(r.status).toBeLessThan(300);
      await new Promise((res) => setTimeout(res, 2000));
      signalledAt = Date.now() - t0;
      leaving.proc.kill("SIGTERM");
    }, 1500);

    const r = await steadyLoad(client, 6000, 8);
    client.close();
    const rate = r.ok / r.seconds;
    console.log(
      `zero-drop: ${r.ok} ok, ${r.failed} failed in ${r.seconds.toFixed(1)} s (${rate.toFixed(0)} calls/s); ` +
        `deregistered at ${deregisteredAt} ms, SIGTERM at ${signalledAt} ms; ` +
        `last call served by the leaving instance started at ${Math.max(...(r.servedBy.get(leaving.addr) ?? [0]))} ms`,
    );
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(rate).toBeGreaterThan(500);
    expect(await exit).toBe(0);
    // Both served; the leaving one stopped getting calls once clients learned it left.
    expect(r.servedBy.get(leaving.addr)?.length ?? 0).toBeGreaterThan(100);
    expect(Math.max(...(r.servedBy.get(leaving.addr) ?? [0]))).toBeLessThan(signalledAt);
    expect(r.servedBy.get((b as ServiceProcess).addr)?.length ?? 0).toBeGreaterThan(100);
  });

  it("a client that never learns (fixed addresses) still loses nothing: goaway, then refused calls retried elsewhere", async () => {
    const [a, b] = await Promise.all([
      startDemo("echo", { MSEC_MANAGED: "1" }),
      startDemo("echo", { MSEC_MANAGED: "1" }),
    ]);
    procs.push(a as ServiceProcess, b as ServiceProcess);
    const leaving = a as ServiceProcess;
    const client = createClient("Demo.Echo", {
      endpoints: [leaving.addr, (b as ServiceProcess).addr],
    });
    const exit = new Promise<number | null>((resolve) => leaving.proc.once("exit", resolve));
    setTimeout(() => leaving.proc.kill("SIGTERM"), 1500);
    const r = await steadyLoad(client, 4000, 8);
    client.close();
    console.log(
      `no deregistration: ${r.ok} ok, ${r.failed} failed in ${r.seconds.toFixed(1)} s (${(r.ok / r.seconds).toFixed(0)} calls/s)`,
    );
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(await exit).toBe(0);
    expect(r.servedBy.get(leaving.addr)?.length ?? 0).toBeGreaterThan(100);
  });
});
