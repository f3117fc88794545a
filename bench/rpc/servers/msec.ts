/**
 * msec server: one port for the binary framing and for HTTP/1.1 Connect unary.
 * Serves `Bench.Echo/Echo` (JSON) and `msec.demo.v1.EchoService/Echo` (protobuf).
 */
import { dieWithParent, emit, readConfig, type ServerConfig } from "../lib/common.js";
import { loadMsec } from "../lib/msec.js";

const cfg = readConfig<ServerConfig>();
dieWithParent(cfg.maxLifetimeS);
const { runtime, createLogger, EchoService } = await loadMsec();

const server = runtime.createServer({
  service: "Bench.Echo",
  port: 0,
  naming: false,
  metrics: cfg.metrics !== false,
  log: createLogger({ level: "silent" }),
});
server.json("Echo", (req: { text: string }) => ({ text: req.text }));
server.proto(EchoService, { echo: (req) => ({ text: req.text }) });
await server.listen();
emit({ ready: true, port: server.port });
