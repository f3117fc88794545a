import { describe, expect, it } from "vitest";
import { ERROR_CODES, errorFromBody, isMsecError, MsecError } from "./errors.js";

describe("MsecError", () => {
  it("knows its status and JSON shape", () => {
    const e = new MsecError("invalid_argument", "body.x: bad", { field: "body.x" });
    expect(e.status).toBe(400);
    expect(e.toJSON()).toEqual({
      error: { code: "invalid_argument", message: "body.x: bad", field: "body.x" },
    });
    expect(new MsecError("not_found", "gone").toJSON()).toEqual({
      error: { code: "not_found", message: "gone" },
    });
  });

  it("maps every code to an HTTP error status", () => {
    for (const status of Object.values(ERROR_CODES)) expect(status).toBeGreaterThanOrEqual(400);
    expect(errorFromBody(500, undefined).code).toBe("internal");
    expect(errorFromBody(409, undefined).code).toBe("already_exists");
  });

  it("is recognised by name, also across copies of the package", () => {
    expect(isMsecError(new MsecError("internal", "x"))).toBe(true);
    expect(isMsecError({ name: "MsecError", code: "internal", message: "x" })).toBe(true);
    expect(isMsecError(new Error("x"))).toBe(false);
    expect(isMsecError({ name: "MsecError", code: "made_up" })).toBe(false);
  });

  it("is rebuilt from an API error body, or from the status alone", () => {
    const e = errorFromBody(403, { error: { code: "permission_denied", message: "no" } });
    expect(e).toMatchObject({ code: "permission_denied", message: "no" });
    expect(errorFromBody(404, "<html>")).toMatchObject({ code: "not_found", message: "HTTP 404" });
    expect(errorFromBody(599, undefined).code).toBe("internal");
  });
});
