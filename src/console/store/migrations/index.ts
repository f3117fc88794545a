import type { Migration } from "kysely";
import type { Engine } from "../engine.js";
import { foundation } from "./0001-foundation.js";
import { naming } from "./0002-naming.js";
import { monitor } from "./0003-monitor.js";
import { alarms } from "./0004-alarms.js";
import { rollups } from "./0005-rollups.js";
import { artifacts } from "./0006-artifacts.js";
import { machinesAndReleases } from "./0007-machines-releases.js";
import { metricIngest } from "./0008-metric-ingest.js";
import { metricRecent } from "./0009-metric-recent.js";
import { serviceCredentials } from "./0010-service-credentials.js";

/**
 * Every schema version the code knows, oldest first. Names sort in order and are
 * never renamed or removed once released: a database that holds a name missing
 * here was written by a newer msec, and the store refuses to open it.
 */
export function migrations(engine: Engine): Record<string, Migration> {
  return {
    "0001-foundation": foundation(engine),
    "0002-naming": naming(engine),
    "0003-monitor": monitor(engine),
    "0004-alarms": alarms(engine),
    "0005-rollups": rollups(engine),
    "0006-artifacts": artifacts(engine),
    "0007-machines-releases": machinesAndReleases(engine),
    "0008-metric-ingest": metricIngest(engine),
    "0009-metric-recent": metricRecent(engine),
    "0010-service-credentials": serviceCredentials(engine),
  };
}
