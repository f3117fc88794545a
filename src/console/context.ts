import type { Logger } from "../core/log.js";
import type { ThrottleState } from "./auth/throttle.js";
import type { DesiredStateEvents } from "./machines/deployments.js";
import type { NamingService } from "./naming/index.js";
import type { Store } from "./store/index.js";

/** What the console's handlers share: passed in at start, never imported as globals. */
export interface ConsoleContext {
  store: Store;
  log: Logger;
  /** Milliseconds since the epoch; tests may pass a fake clock. */
  now(): number;
  loginThrottle: ThrottleState;
  /** The name service: registry of services and instances, watches. */
  naming: NamingService;
  /** Wakes agents long-polling for their desired state when it changes. */
  desired: DesiredStateEvents;
}
