import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { installWebUi } from "../../src/console/http/web.js";

describe("installWebUi", () => {
  const root = mkdtempSync(join(tmpdir(), "msec-web-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function appFor(dir: string) {
    const app = Fastify();
    app.get("/api/v1/ping", async () => ({ ok: true }));
    await installWebUi(app, dir);
    await app.ready();
    return app;
  }

  it("answers 503 in plain text when the bundle is not built", async () => {
    const app = await appFor(join(root, "missing"));
    const res = await app.inject("/");
    expect(res.statusCode).toBe(503);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/npm run build/);
    await app.close();
  });

  it("does not serve a source folder (no Vite manifest) as the UI", async () => {
    const src = join(root, "src");
    mkdirSync(src);
    writeFileSync(join(src, "index.html"), "<script src=./main.tsx></script>");
    writeFileSync(join(src, "main.tsx"), "export {}");
    const app = await appFor(src);
    expect((await app.inject("/")).statusCode).toBe(503);
    expect((await app.inject("/main.tsx")).statusCode).toBe(404);
    await app.close();
  });

  it("serves the built bundle at / with security and cache headers, not swallowing /api", async () => {
    const dist = join(root, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    mkdirSync(join(dist, ".vite"));
    writeFileSync(join(dist, "index.html"), "<!doctype html><title>msec</title>");
    writeFileSync(join(dist, "assets", "index-abc.js"), "console.log(1)");
    writeFileSync(join(dist, ".vite", "manifest.json"), "{}");
    const app = await appFor(dist);

    const index = await app.inject("/");
    expect(index.statusCode).toBe(200);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect(index.headers["content-security-policy"]).toBe(
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(index.headers["x-frame-options"]).toBe("DENY");
    expect(index.headers["referrer-policy"]).toBe("same-origin");
    expect(index.headers["x-content-type-options"]).toBe("nosniff");
    expect(index.headers["cache-control"]).toBe("no-cache");

    const js = await app.inject("/assets/index-abc.js");
    expect(js.statusCode).toBe(200);
    expect(js.headers["cache-control"]).toMatch(/immutable/);
    expect(js.headers["x-content-type-options"]).toBe("nosniff");

    expect((await app.inject("/api/v1/ping")).json()).toEqual({ ok: true });
    expect((await app.inject("/api/v1/other")).statusCode).toBe(404);
    expect((await app.inject("/.vite/manifest.json")).statusCode).toBe(404);
    expect((await app.inject("/assets/nope.js")).statusCode).toBe(404);
    await app.close();
  });
});
