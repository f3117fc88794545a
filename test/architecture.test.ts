import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The dependency rules of DESIGN.md, checked over the real import graph: which part
 * (top folder under src/) may import which. `bin` is the composition root.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  runtime: ["core", "gen"],
  agent: ["core", "runtime"],
  console: ["core", "runtime"],
  cli: ["core"],
  web: ["core"],
  gen: [],
  examples: ["core", "runtime", "gen"],
  bin: ["core", "cli", "console", "agent", "runtime"],
};

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(p);
    return /\.(ts|tsx)$/.test(e.name) ? [p] : [];
  });
}

// Static imports and re-exports (`import ... from "x"`, `export ... from "x"`, `import "x"`)
// and dynamic `import("x")`: enough for our own sources, which Biome keeps formatted.
const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|(?:^|\n)\s*import\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

function partOf(file: string): string {
  return relative(SRC, file).split("/")[0] ?? "";
}

describe("architecture", () => {
  const files = sourceFiles(SRC);

  it("finds the parts", () => {
    expect(files.length).toBeGreaterThan(10);
    for (const part of new Set(files.map(partOf))) expect(Object.keys(ALLOWED)).toContain(part);
  });

  it("keeps dependencies between parts one way", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = partOf(file);
      for (const spec of importsOf(file)) {
        if (!spec.startsWith(".")) continue;
        const to = partOf(resolve(dirname(file), spec));
        if (to !== from && !ALLOWED[from]?.includes(to)) {
          violations.push(`${relative(SRC, file)} imports ${spec} (${from} → ${to})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("the rule checker sees imports (so the test above can fail)", () => {
    const file = join(SRC, "console/http/app.ts");
    expect(importsOf(file)).toContain("../auth/routes.js");
  });
});
