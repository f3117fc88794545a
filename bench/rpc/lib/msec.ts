/**
 * Loads msec from the COMPILED output in dist/ (what users run), while taking its
 * types from src/ so that type-checking the benchmark does not need a build.
 */
import type { createLogger as CreateLogger } from "../../../src/core/log.js";
import type { EchoService as EchoServiceT } from "../../../src/gen/msec/demo/v1/demo_pb.js";
import type * as Runtime from "../../../src/runtime/index.js";

export interface Msec {
  runtime: typeof Runtime;
  createLogger: typeof CreateLogger;
  EchoService: typeof EchoServiceT;
}

const dist = new URL("../../../dist/", import.meta.url);

export async function loadMsec(): Promise<Msec> {
  try {
    const runtime = (await import(new URL("runtime/index.js", dist).href)) as typeof Runtime;
    const log = (await import(new URL("core/log.js", dist).href)) as {
      createLogger: typeof CreateLogger;
    };
    const demo = (await import(new URL("gen/msec/demo/v1/demo_pb.js", dist).href)) as {
      EchoService: typeof EchoServiceT;
    };
    return { runtime, createLogger: log.createLogger, EchoService: demo.EchoService };
  } catch (e) {
    throw new Error(
      `cannot load msec from ${dist.pathname} (run \`npm run build\` first): ${(e as Error).message}`,
    );
  }
}
