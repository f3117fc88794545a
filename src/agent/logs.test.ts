import { readFileSync, writeSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openLogFds, rotateIfLarger, tail } from "./logs.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "msec-logs-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("log files", () => {
  it("rotates by size: copy, truncate, keep N", async () => {
    const f = join(dir, "stdout.log");
    await writeFile(f, "small");
    expect(await rotateIfLarger(f, 10, 2)).toBe(false);
    for (const gen of ["first-generation", "second-generation", "third-generation"]) {
      await writeFile(f, gen);
      expect(await rotateIfLarger(f, 10, 2)).toBe(true);
    }
    expect(readFileSync(f, "utf8")).toBe("");
    expect(readFileSync(`${f}.1`, "utf8")).toBe("third-generation");
    expect(readFileSync(`${f}.2`, "utf8")).toBe("second-generation");
    expect((await readdir(dir)).sort()).toEqual(["stdout.log", "stdout.log.1", "stdout.log.2"]);
    expect(await rotateIfLarger(join(dir, "missing.log"), 10, 2)).toBe(false);
  });

  it("an appending writer keeps writing at the new end after a truncation", async () => {
    const fds = openLogFds(dir);
    try {
      writeSync(fds.out, "x".repeat(100));
      await rotateIfLarger(join(dir, "stdout.log"), 50, 3);
      writeSync(fds.out, "after");
      writeSync(fds.err, "err line\n");
    } finally {
      fds.close();
    }
    expect(readFileSync(join(dir, "stdout.log"), "utf8")).toBe("after");
    expect(readFileSync(join(dir, "stdout.log.1"), "utf8")).toBe("x".repeat(100));
    expect(await tail(join(dir, "stderr.log"), 4)).toBe("ine\n");
    expect(await tail(join(dir, "missing"))).toBe("");
  });
});
