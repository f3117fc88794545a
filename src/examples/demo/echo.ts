/**
 * Demo.Echo: answers with the text it gets. Serves the protobuf EchoService and a
 * plain JSON `Echo` method on one port.
 *
 *   MSEC_PORT=7801 MSEC_CONSOLE=http://127.0.0.1:7700 MSEC_TOKEN=msec_… node dist/examples/demo/echo.js
 */
import { setTimeout as sleep } from "node:timers/promises";
import { EchoService } from "../../gen/msec/demo/v1/demo_pb.js";
import { createServer, metrics } from "../../runtime/index.js";
import { runUntilSignal } from "./run.js";

const server = createServer({
  service: "Demo.Echo",
  port: Number(process.env.MSEC_PORT ?? 0),
  host: process.env.MSEC_HOST ?? "127.0.0.1",
});

const echoes = metrics.counter("echoes");
// Make this instance slow on purpose (to watch clients move traffic away from it).
const extraDelayMs = Number(process.env.DEMO_ECHO_DELAY_MS ?? 0);

server.proto(EchoService, {
  async echo(req, ctx) {
    const delay = req.delayMs + extraDelayMs;
    if (delay > 0) await sleep(delay, undefined, { signal: ctx.signal }).catch(() => {});
    echoes.inc();
    return { text: req.text, servedBy: server.addr };
  },
});

server.json("Echo", async (req: { text?: string; delayMs?: number }) => {
  const delay = (req.delayMs ?? 0) + extraDelayMs;
  if (delay > 0) await sleep(delay);
  echoes.inc();
  return { text: req.text ?? "", servedBy: server.addr };
});

await runUntilSignal(server);
