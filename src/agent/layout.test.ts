import { existsSync, readFileSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readlink, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SerialWriter, writeFileAtomic } from "./fsutil.js";
import {
  configSetName,
  Layout,
  linkTarget,
  msecPackageRoot,
  prune,
  releaseName,
  switchConfig,
  switchCurrent,
} from "./layout.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "msec-layout-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("layout", () => {
  it("names releases and config sets", () => {
    expect(releaseName({ package: 7, libs: [], plugins: [] })).toBe("7");
    expect(releaseName({ package: 7, libs: [3], plugins: [2, 5] })).toBe("7-l3-p2.5");
    expect(releaseName({ package: 7, libs: [], plugins: [1] })).toBe("7-p1");
    expect(configSetName([])).toBe("none");
    expect(configSetName([3, 5])).toBe("3.5");
  });

  it("puts a service under <root>/<L1>/<L2>", () => {
    const p = new Layout(root).service("Demo.Echo");
    expect(p.dir).toBe(join(root, "Demo", "Echo"));
    expect(p.release("7")).toBe(join(root, "Demo", "Echo", "releases", "7"));
    expect(p.config).toBe(join(root, "Demo", "Echo", "config"));
    expect(() => new Layout(root).service("nodot")).toThrow(/L1\.L2/);
  });

  it("switches the current and config links (relative), replacing the old ones", async () => {
    const p = new Layout(root).service("Demo.Echo");
    await mkdir(p.release("1"), { recursive: true });
    await mkdir(p.release("2"), { recursive: true });
    await mkdir(p.configSet("none"), { recursive: true });
    await writeFile(join(p.release("2"), "x"), "two");
    expect(await linkTarget(p.current)).toBeUndefined();
    await switchCurrent(p, "1");
    await switchCurrent(p, "2");
    await switchConfig(p, "none");
    expect(await readlink(p.current)).toBe("releases/2");
    expect(await linkTarget(p.current)).toBe("2");
    expect(readFileSync(join(p.current, "x"), "utf8")).toBe("two");
    expect(await linkTarget(p.config)).toBe("none");
    // No temporary links left behind.
    expect((await readdir(p.dir)).sort()).toEqual(["config", "configs", "current", "releases"]);
  });

  it("prunes all but the newest, never one in use, and build leftovers", async () => {
    const dir = join(root, "releases");
    await mkdir(dir);
    for (const [i, name] of ["1", "2", "3", "4", "5"].entries()) {
      await mkdir(join(dir, name));
      const t = new Date(Date.UTC(2024, 0, 1 + i));
      await utimes(join(dir, name), t, t);
    }
    await mkdir(join(dir, ".build-abc"));
    await mkdir(join(dir, "6.tmp-123"));
    const removed = await prune(dir, 3, new Set(["1"]));
    expect(removed.sort()).toEqual([".build-abc", "2", "6.tmp-123"]);
    expect((await readdir(dir)).sort()).toEqual(["1", "3", "4", "5"]);
    expect(await prune(join(root, "missing"), 3, new Set())).toEqual([]);
  });

  it("finds the msec package root (the one the agent links into releases)", () => {
    const dir = msecPackageRoot();
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name).toBe("msec");
  });

  it("writes files atomically with their mode, and serializes writes", async () => {
    const f = join(root, "a", "state.json");
    await writeFileAtomic(f, "one", 0o600);
    expect(readFileSync(f, "utf8")).toBe("one");
    expect((await lstat(f)).mode & 0o777).toBe(0o600);
    const w = new SerialWriter(f);
    let renders = 0;
    const writes = [1, 2, 3, 4].map((n) =>
      w.write(() => {
        renders++;
        return `n=${n}`;
      }),
    );
    await Promise.all(writes);
    expect(readFileSync(f, "utf8")).toBe("n=4");
    // Queued writes collapse: not one file write per call.
    expect(renders).toBeLessThan(4);
    expect(existsSync(join(root, "a"))).toBe(true);
    expect((await readdir(join(root, "a"))).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});
