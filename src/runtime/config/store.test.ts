import { describe, expect, it } from "vitest";
import { sameSecret } from "./control.js";
import { type ConfigFs, ConfigStore, diff } from "./store.js";

/** A folder in memory; counts reads so caching shows. */
function memoryFs(files: Record<string, string>) {
  const state = { files: { ...files }, reads: 0 };
  const fs: ConfigFs = {
    read(path) {
      state.reads++;
      return state.files[path.slice("/cfg/".length)];
    },
    list: () => Object.keys(state.files),
  };
  return { fs, state };
}

const quiet = { info() {}, error() {} } as unknown as NonNullable<
  ConstructorParameters<typeof ConfigStore>[0]
>["log"];

describe("ConfigStore", () => {
  it("reads a file once and caches it, missing files included", () => {
    const { fs, state } = memoryFs({ "db.json": '{"pool":4}', "motd.txt": "hello" });
    const store = new ConfigStore({ dir: "/cfg", fs, log: quiet });
    expect(store.get("motd.txt")).toBe("hello");
    expect(store.json<{ pool: number }>("db.json")).toEqual({ pool: 4 });
    expect(store.get("missing")).toBeUndefined();
    const reads = state.reads;
    expect(store.get("motd.txt")).toBe("hello");
    expect(store.get("missing")).toBeUndefined();
    expect(store.json("db.json")).toEqual({ pool: 4 });
    expect(state.reads).toBe(reads);
  });

  it("refuses names that are not plain file names", () => {
    const store = new ConfigStore({ dir: "/cfg", fs: memoryFs({}).fs, log: quiet });
    for (const bad of ["../etc/passwd", "a/b", ".hidden", "", "..", "x".repeat(256), "a\nb"])
      expect(() => store.get(bad), bad).toThrow(/plain file name/);
    expect(store.get("ok-name_1.yaml")).toBeUndefined();
  });

  it("names the file when its JSON does not parse", () => {
    const store = new ConfigStore({ dir: "/cfg", fs: memoryFs({ "x.json": "{oops" }).fs });
    expect(() => store.json("x.json")).toThrow(
      expect.objectContaining({
        code: "invalid_argument",
        message: expect.stringMatching(/x\.json/),
      }),
    );
  });

  it("no folder (not run by an agent): every file is missing", () => {
    const store = new ConfigStore({ fs: memoryFs({ a: "1" }).fs, log: quiet });
    const saved = process.env.MSEC_CONFIG_DIR;
    delete process.env.MSEC_CONFIG_DIR;
    try {
      expect(store.get("a")).toBeUndefined();
    } finally {
      if (saved !== undefined) process.env.MSEC_CONFIG_DIR = saved;
    }
  });

  it("on reload: drops the cache, tells listeners which files changed, awaits them in turn", async () => {
    const { fs, state } = memoryFs({ "a.json": "1", "b.txt": "same", "c.txt": "gone soon" });
    const store = new ConfigStore({ dir: "/cfg", fs, log: quiet });
    expect(store.json("a.json")).toBe(1);
    const calls: string[][] = [];
    const order: string[] = [];
    store.onChange(async (names) => {
      await new Promise((r) => setTimeout(r, 10));
      calls.push(names);
      order.push("first");
    });
    const off = store.onChange(() => {
      order.push("second");
    });
    state.files["a.json"] = "2";
    delete state.files["c.txt"];
    state.files["d.txt"] = "new";
    const r = await store.reload();
    expect(r).toEqual({ listeners: 2, changed: ["a.json", "c.txt", "d.txt"], failed: 0 });
    expect(calls).toEqual([["a.json", "c.txt", "d.txt"]]);
    expect(order).toEqual(["first", "second"]);
    expect(store.json("a.json")).toBe(2);
    expect(store.get("c.txt")).toBeUndefined();

    // Nothing changed: listeners are not called.
    off();
    expect(await store.reload()).toEqual({ listeners: 1, changed: [], failed: 0 });
    expect(calls).toHaveLength(1);
  });

  it("counts a failing listener and still calls the others", async () => {
    const { fs, state } = memoryFs({ a: "1" });
    const store = new ConfigStore({ dir: "/cfg", fs, log: quiet });
    let called = false;
    store.onChange(() => {
      throw new Error("boom");
    });
    store.onChange(() => {
      called = true;
    });
    state.files.a = "2";
    expect(await store.reload()).toEqual({ listeners: 2, changed: ["a"], failed: 1 });
    expect(called).toBe(true);
  });

  it("runs concurrent reloads one after the other", async () => {
    const { fs, state } = memoryFs({ a: "1" });
    const store = new ConfigStore({ dir: "/cfg", fs, log: quiet });
    let running = 0;
    let most = 0;
    store.onChange(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      // Changed again while the first reload runs: the second one sees it.
      state.files.a = "3";
      running--;
    });
    state.files.a = "2";
    const first = store.reload();
    const second = store.reload();
    expect((await first).changed).toEqual(["a"]);
    expect((await second).changed).toEqual(["a"]);
    expect(most).toBe(1);
    expect(store.get("a")).toBe("3");
  });
});

describe("config helpers", () => {
  it("diff: added, removed and changed names, sorted", () => {
    const before = new Map([
      ["b", "h1"],
      ["a", "h2"],
      ["c", "h3"],
    ]);
    const after = new Map([
      ["a", "h2"],
      ["b", "h9"],
      ["d", "h4"],
    ]);
    expect(diff(before, after)).toEqual(["b", "c", "d"]);
  });

  it("sameSecret compares whatever the lengths", () => {
    expect(sameSecret("k", "k")).toBe(true);
    expect(sameSecret("k", "kk")).toBe(false);
    expect(sameSecret("", "k")).toBe(false);
  });
});
