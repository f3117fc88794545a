import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";

/** Headers for the UI's HTML: only our own scripts, never framed, no MIME sniffing. */
const HTML_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
} as const;

/**
 * A built bundle has Vite's manifest; the source folder (src/web, which is what
 * `dir` points at when the console runs from source) does not, and is not served.
 */
export function isBuiltWebUi(dir: string): boolean {
  return existsSync(join(dir, "index.html")) && existsSync(join(dir, ".vite", "manifest.json"));
}

/**
 * Serve the web UI's static bundle at `/`. Only the files present at start-up get
 * routes (no wildcard), so `/api/*` and unknown paths keep the API's JSON 404. The
 * routes are outside `/api`, so the access control leaves them public.
 */
export async function installWebUi(app: FastifyInstance, dir: string): Promise<void> {
  if (!isBuiltWebUi(dir)) {
    app.log.warn({ dir }, "web UI is not built; / answers 503 (run `npm run build`)");
    app.get("/", async (_req, reply) =>
      reply
        .status(503)
        .header("content-type", "text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .send("The msec web UI is not built. Run `npm run build`, then restart the console.\n"),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: "/",
    wildcard: false,
    index: ["index.html"],
    // The manifest and other dot-files are build metadata, not part of the UI.
    serveDotFiles: false,
    // Vite names assets by content hash, so they never change; index.html always may.
    cacheControl: false,
    setHeaders: (reply: FastifyReply, path: string) => {
      reply.header("x-content-type-options", "nosniff");
      if (path.endsWith(".html")) {
        reply.headers(HTML_HEADERS);
        reply.header("cache-control", "no-cache");
      } else if (/[/\\]assets[/\\]/.test(path)) {
        reply.header("cache-control", "public, max-age=31536000, immutable");
      } else {
        reply.header("cache-control", "public, max-age=3600");
      }
    },
  });
}
