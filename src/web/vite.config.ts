import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// Run from the project root: `vite build --config src/web/vite.config.ts`.
const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs, so the console also works behind a proxy under a sub-path.
  base: "./",
  plugins: [preact()],
  // `vite --config src/web/vite.config.ts` for development, next to a console on its default port.
  server: { proxy: { "/api": process.env.MSEC_CONSOLE ?? "http://127.0.0.1:7700" } },
  build: {
    outDir: "../../dist/web",
    emptyOutDir: true,
    target: "es2022",
    // The console checks for the manifest to tell a built bundle from this source folder.
    manifest: true,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
