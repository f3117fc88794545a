import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseInput } from "./validate.js";

const Body = z.object({
  name: z.string().min(2),
  nested: z.object({ n: z.number().int() }).optional(),
});

describe("parseInput", () => {
  it("returns the parsed value", () => {
    expect(parseInput(Body, { name: "ok" }, "body")).toEqual({ name: "ok" });
  });

  it("names the missing field with its part", () => {
    expect(() => parseInput(Body, {}, "body")).toThrow(
      expect.objectContaining({
        code: "invalid_argument",
        field: "body.name",
        message: "body.name: is required",
      }),
    );
  });

  it("names nested fields and keeps zod's reason", () => {
    try {
      parseInput(Body, { name: "ok", nested: { n: 1.5 } }, "body");
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ field: "body.nested.n" });
      expect((e as Error).message).toMatch(/^body\.nested\.n: .*int/i);
    }
  });

  it("treats an absent body as a missing body, and absent query as empty", () => {
    expect(() => parseInput(Body, undefined, "body")).toThrow(
      expect.objectContaining({ field: "body" }),
    );
    expect(parseInput(z.object({ q: z.string().optional() }), undefined, "query")).toEqual({});
  });

  it("says why a record key is bad, not just that it is", () => {
    const Labels = z.object({
      labels: z.record(z.string().regex(/^[a-z]+$/, "label names are lower-case"), z.string()),
    });
    expect(() => parseInput(Labels, { labels: { "Bad Name": "x" } }, "body")).toThrow(
      /^body\.labels.*: label names are lower-case$/,
    );
  });
});
