import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MetricsRelay,
  type MetricsRelayOptions,
  postToConsole,
} from "../../src/agent/metrics/relay.js";
import { createLogger } from "../../src/core/log.js";
import { createClient } from "../../src/runtime/index.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { freshDatabase, type TestDatabase } from "../support/engines.js";
import { call, tokenFor } from "../support/http.js";
import { type ServiceProcess, startDemo } from "../support/service-process.js";
import { until } from "../support/wait.js";

const ADMIN_PW = "admin-password-1";

describe("metrics through the agent's relay", () => {
  let db: TestDatabase;
  let consoleProc: ConsoleProcess;
  let consolePort: number;
  let token: string;
  let spoolDir: string;
  let echo: ServiceProcess | undefined;
  let relayUrl = "";
  const RELAY_KEY = "relay-key-for-tests";
  const relays: MetricsRelay[] = [];

  /** A real HTTP post to the console, as the agent makes it (here with an admin token). */
  const send: MetricsRelayOptions["send"] = (body) => postToConsole(consoleProc.url, token)(body);
  const newRelay = (port?: number) => {
    const relay = new MetricsRelay({
      send,
      spoolDir,
      intervalMs: 1000,
      // Two in memory, so that a 5 s outage spills to disk.
      maxMemoryBatches: 2,
      log: createLogger({ level: "silent" }),
      key: RELAY_KEY,
      ...(port ? { port } : {}),
    });
    relays.push(relay);
    return relay;
  };
  /** The console's own answer: the sum of `echoes` over the last hour (total or one instance). */
  const echoes = async (instance = "*") => {
    const r = await call(
      consoleProc.url,
      "GET",
      `/metrics/Demo.Echo/series?attr=echoes&instance=${encodeURIComponent(instance)}`,
      { token },
    );
    if (r.status === 404) return 0;
    const values = (r.body.series?.[0]?.values ?? []) as (number | null)[];
    return values.reduce<number>((a, v) => a + (v ?? 0), 0);
  };
  const echoN = async (n: number) => {
    const client = createClient("Demo.Echo", {
      endpoints: [(echo as ServiceProcess).addr],
      metrics: false,
    });
    for (let i = 0; i < n; i++) await client.call("Echo", { text: "x" });
    client.close();
  };
  const spoolFiles = () => readdirSync(spoolDir).filter((n) => n.endsWith(".jsonl"));

  beforeAll(async () => {
    db = await freshDatabase("sqlite");
    consoleProc = await startConsoleProcess({ db: db.url, env: { MSEC_ADMIN_PASSWORD: ADMIN_PW } });
    consolePort = Number(new URL(consoleProc.url).port);
    token = await tokenFor(consoleProc.url, "admin", ADMIN_PW);
    spoolDir = mkdtempSync(join(tmpdir(), "msec-spool-"));
  });
  afterAll(async () => {
    await echo?.stop();
    for (const r of relays) await r.stop().catch(() => {});
    await consoleProc?.stop();
    await db?.dispose();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it("a managed process's counter reaches the console through the relay", async () => {
    const relay = newRelay();
    const { url } = await relay.start();
    relayUrl = url;
    echo = await startDemo("echo", {
      MSEC_MANAGED: "1",
      MSEC_METRICS_URL: url,
      MSEC_METRICS_KEY: RELAY_KEY,
      MSEC_METRICS_INTERVAL_MS: "1000",
    });
    // Loopback is shared by every user of the machine: no key, no entry.
    const stranger = await fetch(`${url}/api/v1/metrics/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ batches: [] }),
    });
    expect(stranger.status).toBe(401);
    await echoN(10);
    await until("10 echoes in the console", async () => (await echoes()) === 10, 15_000);
    expect(await echoes(echo.addr)).toBe(10);
  });

  it("loses no point while the console is down: spools to disk, sends when it is back", async () => {
    await consoleProc.kill();
    await echoN(25);
    await new Promise((r) => setTimeout(r, 5000));
    const relay = relays[0] as MetricsRelay;
    expect(relay.stats.files).toBeGreaterThan(0);
    expect(spoolFiles().length).toBeGreaterThan(0);
    consoleProc = await startConsoleProcess({ db: db.url, port: consolePort });
    await until(
      "the 25 echoes made while the console was down",
      async () => (await echoes()) === 35,
      40_000,
    );
    await until("the spool to empty", async () => spoolFiles().length === 0, 10_000);
    expect(relay.stats).toMatchObject({ files: 0, dropped: 0 });
  });

  it("a relay stopped while the console is down keeps its batches on disk; the next one sends them", async () => {
    const first = relays[0] as MetricsRelay;
    const port = Number(new URL(relayUrl).port);
    await consoleProc.kill();
    await echoN(5);
    // The process ships every second; the relay merges each second.
    await new Promise((r) => setTimeout(r, 2500));
    await first.stop();
    expect(spoolFiles().length).toBeGreaterThan(0);
    // Same port: the process keeps shipping where it was told to.
    const second = newRelay(port);
    await second.start();
    consoleProc = await startConsoleProcess({ db: db.url, port: consolePort });
    await until("the 5 echoes kept on disk", async () => (await echoes()) === 40, 40_000);
    expect(await echoes((echo as ServiceProcess).addr)).toBe(40);
  });
});
