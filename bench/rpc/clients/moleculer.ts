/** Moleculer client: a second broker in its own process calling `echo.echo` over TCP. */
import { TEXT } from "../lib/common.js";
import { runClient } from "../lib/harness.js";
import { createBroker } from "../lib/moleculer.js";

await runClient(async (cfg) => {
  const broker = createBroker("bench-client", cfg.molServerPort ?? 0, cfg.molClientPort ?? 0);
  await broker.start();
  await broker.waitForServices(["echo"], 15_000);
  const params = { text: TEXT };
  return {
    call: () => broker.call("echo.echo", params, { timeout: 5000 }),
    close: () => broker.stop(),
  };
});
