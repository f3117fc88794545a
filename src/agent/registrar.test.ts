import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../core/log.js";
import { ConsoleApi } from "../runtime/naming/console-api.js";
import { InstancesRegistrar } from "./registrar.js";

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: unknown;
}

/** A fake name service: records calls; heartbeats answer with `unknown`. */
let server: http.Server;
let url: string;
let seen: Seen[];
let unknown: { service: string; addr: string }[];
let failRegistrations: number;

beforeEach(async () => {
  seen = [];
  unknown = [];
  failRegistrations = 0;
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString();
    });
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        auth: req.headers.authorization,
        body: text ? JSON.parse(text) : undefined,
      });
      res.setHeader("content-type", "application/json");
      if (req.method === "POST" && req.url?.endsWith("/instances") && failRegistrations-- > 0) {
        res.statusCode = 503;
        res.end(JSON.stringify({ error: { code: "unavailable", message: "busy" } }));
      } else if (req.url === "/api/v1/naming/heartbeats") {
        res.end(JSON.stringify({ unknown: unknown.splice(0) }));
      } else if (req.method === "DELETE") {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { code: "not_found", message: "no such instance" } }));
      } else {
        res.statusCode = 201;
        res.end("{}");
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
});

function registrar() {
  return new InstancesRegistrar({
    api: new ConsoleApi(url, "msecm_test"),
    log: createLogger({ level: "silent" }),
    ttlSeconds: 15,
  });
}

describe("instances registrar", () => {
  it("registers with weight, labels and TTL, retrying a busy console", async () => {
    failRegistrations = 2;
    const r = registrar();
    await r.add("A.B", "127.0.0.1:7001", 30, { version: "3", machine: "m1" });
    const posts = seen.filter((s) => s.method === "POST");
    expect(posts).toHaveLength(3);
    expect(posts[2]).toEqual({
      method: "POST",
      url: "/api/v1/services/A.B/instances",
      auth: "Bearer msecm_test",
      body: {
        addr: "127.0.0.1:7001",
        weight: 30,
        labels: { version: "3", machine: "m1" },
        ttlSeconds: 15,
      },
    });
  });

  it("beats for every instance in one call and re-registers the unknown ones", async () => {
    const r = registrar();
    await r.add("A.B", "127.0.0.1:7001", 100, {});
    r.keep("C.D", "127.0.0.1:7002", 50, { version: "1" }, "healthy");
    r.setHealth("C.D", "127.0.0.1:7002", "unhealthy");
    seen = [];
    unknown = [{ service: "C.D", addr: "127.0.0.1:7002" }];
    await r.beat();
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "POST /api/v1/naming/heartbeats",
      "POST /api/v1/services/C.D/instances",
    ]);
    expect(seen[0]?.body).toEqual({
      beats: [
        { service: "A.B", addr: "127.0.0.1:7001", health: "healthy" },
        { service: "C.D", addr: "127.0.0.1:7002", health: "unhealthy" },
      ],
    });
    expect(seen[1]?.body).toMatchObject({ weight: 50 });
  });

  it("changes a weight by registering again; deregisters (an unknown one is fine)", async () => {
    const r = registrar();
    await r.add("A.B", "127.0.0.1:7001", 100, {});
    await r.setWeight("A.B", "127.0.0.1:7001", 5);
    expect(seen.at(-1)?.body).toMatchObject({ weight: 5 });
    await r.remove("A.B", "127.0.0.1:7001");
    expect(seen.at(-1)?.method).toBe("DELETE");
    expect(seen.at(-1)?.url).toBe("/api/v1/services/A.B/instances/127.0.0.1%3A7001");
    expect(r.has("A.B", "127.0.0.1:7001")).toBe(false);
    seen = [];
    await r.beat();
    expect(seen).toEqual([]);
  });
});
