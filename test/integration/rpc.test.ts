import { spawnSync } from "node:child_process";
import net from "node:net";
import { createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRequest, PREFACE } from "../../src/core/wire/frame.js";
import { EchoService } from "../../src/gen/msec/demo/v1/demo_pb.js";
import { createClient } from "../../src/runtime/index.js";
import { type ServiceProcess, startDemo } from "../support/service-process.js";
import { load } from "../support/wait.js";

describe("one port, two protocols", () => {
  let echo: ServiceProcess;
  beforeAll(async () => {
    echo = await startDemo("echo");
  });
  afterAll(async () => {
    await echo?.stop();
  });

  it("answers curl-style JSON over HTTP in the Connect protocol", async () => {
    const res = await fetch(`http://${echo.addr}/msec.demo.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "from curl" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ text: "from curl", servedBy: echo.addr });
    const plain = await fetch(`http://${echo.addr}/Demo.Echo/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"text":"plain"}',
    });
    expect(((await plain.json()) as { text: string }).text).toBe("plain");
  });

  it("answers a stock Connect client (connect-node, Connect protocol over HTTP/1.1), binary and JSON", async () => {
    for (const useBinaryFormat of [true, false]) {
      const transport = createConnectTransport({
        baseUrl: `http://${echo.addr}`,
        httpVersion: "1.1",
        useBinaryFormat,
      });
      const client = createConnectClient(EchoService, transport);
      const reply = await client.echo({ text: `connect ${useBinaryFormat}` });
      expect(reply.text).toBe(`connect ${useBinaryFormat}`);
      await expect(
        client.echo({ text: "slow", delayMs: 500 }, { timeoutMs: 100 }),
      ).rejects.toMatchObject({
        code: 4, // Connect's Code.DeadlineExceeded
      });
    }
  });

  it("returns Connect errors as JSON with the right status", async () => {
    const missing = await fetch(`http://${echo.addr}/msec.demo.v1.EchoService/Nope`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe("unimplemented");
    const bad = await fetch(`http://${echo.addr}/msec.demo.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "invalid_argument" });
  });

  it("speaks the binary protocol on the same port, with deadlines as a clear error code", async () => {
    const client = createClient("Demo.Echo", { endpoints: [echo.addr] });
    try {
      expect(await client.call("Echo", { text: "bin" })).toEqual({
        text: "bin",
        servedBy: echo.addr,
      });
      expect((await client.proto(EchoService).echo({ text: "typed" })).text).toBe("typed");
      await expect(
        client.call("Echo", { text: "slow", delayMs: 500 }, { timeoutMs: 100 }),
      ).rejects.toMatchObject({
        code: "deadline_exceeded",
      });
      await expect(client.call("Missing", {})).rejects.toMatchObject({ code: "unimplemented" });
    } finally {
      client.close();
    }
  });

  it("refuses a malformed frame with a close frame, and keeps serving others", async () => {
    const reply = await rawExchange(
      echo.port,
      Buffer.concat([PREFACE, Buffer.from([0, 0, 0, 6, 9, 0, 0, 0, 0, 1])]),
    );
    expect(reply.toString("latin1")).toMatch(/bad frame: unknown frame kind 9/);
    expect(reply[4]).toBe(3); // a close frame
    const client = createClient("Demo.Echo", { endpoints: [echo.addr] });
    expect(await client.call("Echo", { text: "still here" })).toMatchObject({ text: "still here" });
    client.close();
  });

  it("refuses an oversized frame before reading it", async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024);
    const reply = await rawExchange(echo.port, Buffer.concat([PREFACE, header]));
    expect(reply.toString("latin1")).toMatch(/over the limit/);
    // A request frame whose method length points past its end is refused too.
    const broken = encodeRequest(1, 0, 0, "Demo.Echo/Echo", "", Buffer.alloc(0));
    broken[14] = 200;
    expect(
      (await rawExchange(echo.port, Buffer.concat([PREFACE, broken]))).toString("latin1"),
    ).toMatch(/bad method length/);
  });

  it("exposes automatic RPC metrics in Prometheus format on the service port", async () => {
    const text = await (await fetch(`http://${echo.addr}/metrics`)).text();
    expect(text).toMatch(
      /msec_rpc_server_calls_total\{service="Demo.Echo",method="msec.demo.v1.EchoService\/Echo",peer="127.0.0.1",code="ok"\} \d+/,
    );
    expect(text).toMatch(/msec_rpc_server_calls_total\{[^}]*code="deadline_exceeded"\} \d+/);
    expect(text).toMatch(/msec_rpc_server_latency_seconds_bucket\{[^}]*le="\+Inf"\} \d+/);
    // An existing Prometheus takes it as it is: promtool (lint included) is clean.
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});

/** Send raw bytes, collect what comes back until the server closes. */
function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write(bytes));
    s.on("data", (c) => chunks.push(c));
    s.on("close", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
    setTimeout(() => s.destroy(new Error("server did not close the connection")), 5000);
  });
}

describe("balancing across real instances", () => {
  const procs: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop().catch(() => {})));
  });

  it("loses no idempotent call when an instance is killed with SIGKILL", async () => {
    const instances = await Promise.all([startDemo("echo"), startDemo("echo"), startDemo("echo")]);
    procs.push(...instances);
    const client = createClient("Demo.Echo", { endpoints: instances.map((i) => i.addr) });
    const victim = instances[0] as ServiceProcess;
    setTimeout(() => void victim.kill(), 700);
    const r = await load(2000, 20, () =>
      client.call("Echo", { text: "x" }, { idempotent: true, timeoutMs: 2000 }),
    );
    client.close();
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.ok).toBeGreaterThan(500);
  });

  it("moves traffic away from a slow instance", async () => {
    const fast = await Promise.all([startDemo("echo"), startDemo("echo")]);
    const slow = await startDemo("echo", { DEMO_ECHO_DELAY_MS: "25" });
    procs.push(...fast, slow);
    const client = createClient("Demo.Echo", { endpoints: [...fast, slow].map((i) => i.addr) });
    const served = new Map<string, number>();
    let counting = false;
    const call = async () => {
      const reply = await client.call<{ servedBy: string }>("Echo", { text: "x" });
      if (counting) served.set(reply.servedBy, (served.get(reply.servedBy) ?? 0) + 1);
    };
    await load(1500, 8, call); // learn
    counting = true;
    await load(1500, 8, call);
    client.close();
    const total = [...served.values()].reduce((a, b) => a + b, 0);
    const slowShare = (served.get(slow.addr) ?? 0) / total;
    expect(total).toBeGreaterThan(500);
    expect(slowShare).toBeLessThan(0.1); // an even split would give it a third
  });

  it("master/slave: all traffic to the master, to the slave when it dies, back when it returns", async () => {
    const a = await startDemo("echo");
    const b = await startDemo("echo");
    procs.push(a, b);
    const client = createClient("Demo.Echo", {
      endpoints: [a.addr, b.addr],
      mode: { kind: "master-slave" },
      balancer: { ejectionBaseMs: 1500, recoveryWindowMs: 0 },
    });
    const servedBy = async () =>
      (await client.call<{ servedBy: string }>("Echo", {}, { idempotent: true })).servedBy;
    const first = new Set<string>();
    for (let i = 0; i < 50; i++) first.add(await servedBy());
    expect(first.size).toBe(1);
    const masterAddr = [...first][0] as string;
    const [master, slave] = masterAddr === a.addr ? [a, b] : [b, a];

    await master.kill();
    const during = new Set<string>();
    for (let i = 0; i < 50; i++) during.add(await servedBy());
    expect([...during]).toEqual([slave.addr]);

    const back = await startDemo("echo", { MSEC_PORT: String(master.port) });
    procs.push(back);
    await new Promise((r) => setTimeout(r, 1600)); // the ejection ends
    const after: string[] = [];
    for (let i = 0; i < 50; i++) after.push(await servedBy());
    client.close();
    expect(after.slice(-20)).toEqual(Array(20).fill(master.addr));
  });
});
