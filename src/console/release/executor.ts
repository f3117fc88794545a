import type { Logger } from "../../core/log.js";
import type { DesiredStateEvents } from "../machines/deployments.js";
import type { Store } from "../store/index.js";

export interface ReleaseExecutorDeps {
  store: Store;
  log: Logger;
  now(): number;
  desired: DesiredStateEvents;
}

export interface ReleaseExecutor {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Moves running release plans forward, on one console replica at a time (a lease). */
export function createReleaseExecutor(_deps: ReleaseExecutorDeps): ReleaseExecutor {
  return { start: async () => {}, stop: async () => {} };
}
