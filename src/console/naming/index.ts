/**
 * The console's name service: which instances serve which service, kept live by
 * heartbeats, bounded by eviction protection, pushed to watchers.
 *
 * ```ts
 * const naming = createNamingService({ store, log, now }, namingOptionsFromEnv(process.env));
 * await naming.start();
 * namingRoutes(api, { ...ctx, naming });
 * await naming.stop(); // before the HTTP server closes, and before the store does
 * ```
 */
export { DEFAULT_NAMING_OPTIONS, type NamingOptions, namingOptionsFromEnv } from "./options.js";
export { DEFAULT_PROTECTION, type ProtectionPolicy } from "./registry.js";
export { namingRoutes } from "./routes.js";
export { createNamingService, type NamingService } from "./service.js";
