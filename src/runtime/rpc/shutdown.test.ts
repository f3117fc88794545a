import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../core/log.js";
import {
  decodeFrame,
  encodeRequest,
  FLAG_JSON,
  FLAG_NOT_PROCESSED,
  type Frame,
  FrameKind,
  PREFACE,
} from "../../core/wire/frame.js";
import { MetricsRegistry } from "../metrics/registry.js";
import { createClient } from "./client.js";
import { createServer, type RpcServer } from "./server.js";

const log = createLogger({ level: "silent" });

async function echoServer(name: string): Promise<RpcServer> {
  const server = createServer({
    service: "Demo.Echo",
    port: 0,
    naming: false,
    managed: false,
    registry: new MetricsRegistry(),
    log,
  });
  server.json("Echo", async (req: { delayMs?: number }) => {
    if (req.delayMs) await sleep(req.delayMs);
    return { servedBy: name };
  });
  await server.listen();
  return server;
}

/** A raw binary client that ignores goaway (an old or misbehaving peer). */
function rawClient(port: number) {
  const frames: Frame[] = [];
  const socket = net.connect({ port, host: "127.0.0.1" });
  socket.write(PREFACE);
  let buf = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length - 4 >= buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      frames.push(decodeFrame(buf.subarray(4, 4 + len)));
      buf = buf.subarray(4 + len);
    }
  });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.on("error", () => {});
  const send = (id: number, body: unknown) =>
    socket.write(encodeRequest(id, FLAG_JSON, 5000, "Demo.Echo/Echo", "t", JSON.stringify(body)));
  return { frames, send, closed, socket };
}

describe("graceful close", () => {
  const servers: RpcServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("answers every call in flight, and the client moves new calls elsewhere (not idempotent)", async () => {
    const a = await echoServer("a");
    const b = await echoServer("b");
    servers.push(a, b);
    const client = createClient("Demo.Echo", {
      endpoints: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`],
      metrics: false,
      log,
    });
    const results: string[] = [];
    const errors: string[] = [];
    let stop = false;
    const workers = Array.from({ length: 20 }, async () => {
      while (!stop) {
        try {
          results.push((await client.call<{ servedBy: string }>("Echo", { delayMs: 20 })).servedBy);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    });
    await sleep(200);
    expect(a.callsInFlight).toBeGreaterThan(0);
    const closing = a.close();
    await sleep(300);
    stop = true;
    await Promise.all(workers);
    await closing;
    client.close();
    expect(errors).toEqual([]);
    expect(results.filter((r) => r === "a").length).toBeGreaterThan(20);
    expect(results.filter((r) => r === "b").length).toBeGreaterThan(20);
  });

  it("a peer that ignores goaway gets its late calls refused as not processed, then the close", async () => {
    const a = await echoServer("a");
    servers.push(a);
    const raw = rawClient(a.port);
    raw.send(1, { delayMs: 2500 });
    await sleep(50);
    const closing = a.close();
    await sleep(100);
    expect(raw.frames.map((f) => f.kind)).toEqual([FrameKind.goaway]);
    // Past the goaway grace (2 s), still sending: refused, unprocessed.
    await sleep(2100);
    raw.send(2, {});
    await raw.closed;
    await closing;
    const byKind = (k: number) => raw.frames.filter((f) => f.kind === k);
    const responses = byKind(FrameKind.response) as (Frame & { kind: 2 })[];
    expect(responses.find((f) => f.id === 1)?.code).toBeUndefined(); // the slow call was answered
    const refused = responses.find((f) => f.id === 2);
    expect(refused?.code).toBe("unavailable");
    expect((refused?.flags ?? 0) & FLAG_NOT_PROCESSED).toBe(FLAG_NOT_PROCESSED);
    const close = byKind(FrameKind.close)[0] as Frame & { kind: 3 };
    expect(close.flags & FLAG_NOT_PROCESSED).toBe(FLAG_NOT_PROCESSED);
  });

  it("close() twice waits for the same drain; an idle server closes at once", async () => {
    const a = await echoServer("a");
    const started = Date.now();
    await Promise.all([a.close(), a.close()]);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
