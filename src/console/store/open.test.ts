import { describe, expect, it } from "vitest";
import { parseStoreUrl } from "./open.js";

describe("parseStoreUrl", () => {
  it("reads sqlite paths relative to the working directory", () => {
    expect(parseStoreUrl("sqlite:./x/msec.db")).toEqual({
      engine: "sqlite",
      path: `${process.cwd()}/x/msec.db`,
    });
    expect(parseStoreUrl("sqlite:/var/lib/msec.db")).toEqual({
      engine: "sqlite",
      path: "/var/lib/msec.db",
    });
    expect(parseStoreUrl("sqlite::memory:")).toEqual({ engine: "sqlite", path: ":memory:" });
  });

  it("takes the schema out of a PostgreSQL URL", () => {
    expect(parseStoreUrl("postgres://u@h:5432/db?schema=msec_a&sslmode=disable")).toEqual({
      engine: "postgres",
      url: "postgres://u@h:5432/db?sslmode=disable",
      schema: "msec_a",
    });
    expect(parseStoreUrl("postgresql://h/db")).toMatchObject({
      engine: "postgres",
      schema: undefined,
    });
  });

  it("refuses what it cannot use, naming the field and hiding the password", () => {
    expect(() => parseStoreUrl("sqlite:")).toThrow(/needs a file path/);
    expect(() => parseStoreUrl("mysql://u:pw@h/db")).toThrow(
      expect.objectContaining({ field: "db" }),
    );
    expect(() => parseStoreUrl("postgres://u:pw@h/db?schema=Bad-Name")).toThrow(
      /postgres:\/\/u:\*\*\*@h/,
    );
  });
});
