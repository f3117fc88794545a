/**
 * msec runtime: what a service imports.
 *
 *   import { createServer, createClient, metrics } from "msec";
 *
 *   const server = createServer({ service: "Demo.Echo", port: 7801 });
 *   server.json("Echo", (req: { text: string }) => ({ text: req.text }));
 *   await server.listen();   // registers with the console in MSEC_CONSOLE
 *
 *   const echo = createClient("Demo.Echo");
 *   await echo.call("Echo", { text: "hi" }, { idempotent: true, timeoutMs: 500 });
 *
 *   const limits = config.json<{ rps: number }>("limits.json");   // <MSEC_CONFIG_DIR>/limits.json
 *   config.onChange((changed) => { ... });
 */
export { type ErrorCode, isMsecError, MsecError } from "../core/errors.js";
export type { BalancerMode, Endpoint } from "./balancer/index.js";
export {
  type ConfigFs,
  type ConfigListener,
  ConfigStore,
  type ConfigStoreOptions,
  config,
  type ReloadResult,
} from "./config/store.js";
export { MetricsRegistry, metrics, renderPrometheus } from "./metrics/index.js";
export { MetricsShipper, type ShipperOptions } from "./metrics/shipper.js";
export {
  type CallOptions,
  type ClientOptions,
  createClient,
  type ProtoClient,
  RpcClient,
} from "./rpc/client.js";
export { type CallContext, currentCall } from "./rpc/context.js";
export type { JsonHandler, ProtoImpl } from "./rpc/routes.js";
export { createServer, RpcServer, type ServerOptions } from "./rpc/server.js";
