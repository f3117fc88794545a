/** msec client: JSON (`client.call`) or protobuf (`client.proto(EchoService).echo`) over the binary framing. */
import { HOST, TEXT } from "../lib/common.js";
import { runClient } from "../lib/harness.js";
import { loadMsec } from "../lib/msec.js";

await runClient(async (cfg) => {
  const { runtime, createLogger, EchoService } = await loadMsec();
  const client = runtime.createClient("Bench.Echo", {
    endpoints: [`${HOST}:${cfg.port}`],
    metrics: cfg.metrics !== false,
    timeoutMs: 5000,
    log: createLogger({ level: "silent" }),
  });
  const request = { text: TEXT };
  if (cfg.proto) {
    const echo = client.proto(EchoService);
    return { call: () => echo.echo(request), close: () => client.close() };
  }
  return { call: () => client.call("Echo", request), close: () => client.close() };
});
