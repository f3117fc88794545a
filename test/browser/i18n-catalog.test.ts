import { describe, expect, it } from "vitest";
import { en } from "../../src/web/i18n/en.js";
import { zhCN } from "../../src/web/i18n/zh-CN.js";

/** Strings that read the same in both languages (names, symbols). */
const SAME = new Set(["appName", "node", "condMax", "condMin", "upOfTotal", "batchPercent"]);

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("web UI catalogs", () => {
  it("have the same keys", () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it("leave no string untranslated", () => {
    const untranslated = Object.entries(en)
      .filter(([k, v]) => !SAME.has(k) && zhCN[k as keyof typeof zhCN] === v)
      .map(([k]) => k);
    expect(untranslated).toEqual([]);
  });

  it("fill the same placeholders", () => {
    const differ = Object.entries(en)
      .filter(
        ([k, v]) => placeholders(v).join() !== placeholders(zhCN[k as keyof typeof zhCN]).join(),
      )
      .map(([k]) => k);
    expect(differ).toEqual([]);
  });
});
