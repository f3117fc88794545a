/**
 * Moleculer 0.14 with its TCP transporter: this broker serves `echo.echo`; the client
 * is another broker in another process. Static URLs, no UDP discovery, loopback only.
 */
import { dieWithParent, emit, readConfig, type ServerConfig } from "../lib/common.js";
import { createBroker } from "../lib/moleculer.js";

const cfg = readConfig<ServerConfig>();
dieWithParent(cfg.maxLifetimeS);

const broker = createBroker("bench-server", cfg.molServerPort ?? 0, cfg.molClientPort ?? 0);
broker.createService({
  name: "echo",
  actions: {
    echo(ctx) {
      return { text: (ctx.params as { text: string }).text };
    },
  },
});
await broker.start();
emit({ ready: true, port: cfg.molServerPort });
