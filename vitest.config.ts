import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "dist/**", "src/web/**"],
    // Integration tests start real consoles and hash real passwords on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most files wait on real processes and sockets, not the CPU: three at a time on two
    // cores halves the suite's wall time (Vitest's default here would be one).
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    reporters: ["verbose"],
  },
});
