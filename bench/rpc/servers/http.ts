/** The HTTP/JSON reference: a bare node:http server that parses and re-serializes the JSON. */
import http from "node:http";
import type net from "node:net";
import { dieWithParent, emit, HOST, readConfig, type ServerConfig } from "../lib/common.js";

const cfg = readConfig<ServerConfig>();
dieWithParent(cfg.maxLifetimeS);

const server = http.createServer({ keepAlive: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let reply: string;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { text: string };
      reply = JSON.stringify({ text: body.text });
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(reply),
    });
    res.end(reply);
  });
});
server.listen(0, HOST, () => {
  emit({ ready: true, port: (server.address() as net.AddressInfo).port });
});
