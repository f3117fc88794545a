import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";

/** The demo services `msec up` deploys through its agent, as real code packages. */
export const DEMO_SERVICES = [
  { service: "Demo.Echo", module: "echo" },
  { service: "Demo.Login", module: "login" },
] as const;

/**
 * A code package (`.tar.gz` with `msec.json`) for one demo service. The package is a
 * one-line entry that imports the demo code shipped with msec itself; the agent links
 * `node_modules/msec` in the release folder to the runtime it runs with.
 */
export async function demoPackage(module: "echo" | "login", port: number): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), `msec-demo-${module}-`));
  try {
    const manifest = {
      entry: "main.js",
      healthCheck: { path: "/health", timeoutMs: 20_000 },
      ...(port > 0 ? { port } : {}),
    };
    await writeFile(join(dir, "msec.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(join(dir, "main.js"), `import "msec/examples/demo/${module}.js";\n`);
    const chunks: Buffer[] = [];
    // Fixed mtimes and owner: the same demo gives the same bytes, so `msec up` can
    // tell it has already uploaded this version.
    const stream = tar.c({ gzip: true, cwd: dir, portable: true, mtime: new Date(0) }, [
      "msec.json",
      "main.js",
    ]);
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
