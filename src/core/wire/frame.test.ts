import { describe, expect, it } from "vitest";
import {
  decodeFrame,
  encodeClose,
  encodeError,
  encodeGoaway,
  encodeRequest,
  encodeResponse,
  FLAG_COLOR,
  FLAG_JSON,
  FLAG_NOT_PROCESSED,
  type Frame,
  FrameError,
  FrameReader,
} from "./frame.js";

const strip = (b: Buffer) => b.subarray(4);

describe("binary frames", () => {
  it("round-trips a request with method, trace id, deadline and flags", () => {
    const body = Buffer.from('{"text":"hé"}');
    const f = decodeFrame(
      strip(encodeRequest(7, FLAG_COLOR | FLAG_JSON, 250, "Demo.Echo/Echo", "trace-1", body)),
    );
    expect(f).toEqual({
      kind: 1,
      id: 7,
      flags: 3,
      timeoutMs: 250,
      method: "Demo.Echo/Echo",
      traceId: "trace-1",
      body,
    });
  });

  it("round-trips success and error responses and close frames", () => {
    expect(decodeFrame(strip(encodeResponse(9, FLAG_JSON, undefined, Buffer.from("ok"))))).toEqual({
      kind: 2,
      id: 9,
      flags: 2,
      code: undefined,
      body: Buffer.from("ok"),
    });
    const err = decodeFrame(strip(encodeError(9, "deadline_exceeded", "too slow"))) as Frame & {
      kind: 2;
    };
    expect(err.code).toBe("deadline_exceeded");
    expect(err.body.toString()).toBe("too slow");
    expect(decodeFrame(strip(encodeClose("invalid_argument", "bad frame")))).toEqual({
      kind: 3,
      flags: 0,
      code: "invalid_argument",
      message: "bad frame",
    });
    expect(
      decodeFrame(strip(encodeClose("unavailable", "shutting down", FLAG_NOT_PROCESSED))),
    ).toEqual({ kind: 3, flags: 4, code: "unavailable", message: "shutting down" });
    expect(decodeFrame(strip(encodeGoaway("draining")))).toEqual({
      kind: 4,
      flags: 0,
      code: "unavailable",
      message: "draining",
    });
    const refused = decodeFrame(
      strip(encodeError(5, "unavailable", "shutting down", FLAG_NOT_PROCESSED)),
    ) as Frame & { kind: 2 };
    expect(refused.flags & FLAG_NOT_PROCESSED).toBe(FLAG_NOT_PROCESSED);
  });

  it("refuses malformed frames with a FrameError", () => {
    expect(() => decodeFrame(Buffer.from([9, 0, 0, 0, 0, 1]))).toThrow(FrameError);
    expect(() => decodeFrame(Buffer.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 200, 65]))).toThrow(
      /bad method length/,
    );
    expect(() => decodeFrame(Buffer.from([2, 0, 0, 0, 0, 1, 250]))).toThrow(/unknown status code/);
    expect(() => decodeFrame(Buffer.from([1]))).toThrow(/shorter than its header/);
  });

  it("reassembles frames split across chunks and several frames in one chunk", () => {
    const got: Frame[] = [];
    const reader = new FrameReader((f) => got.push(f));
    const a = encodeRequest(1, 0, 0, "M/a", "", Buffer.from("first"));
    const b = encodeRequest(2, 0, 0, "M/b", "", Buffer.alloc(1000, 7));
    const all = Buffer.concat([a, b]);
    for (let i = 0; i < all.length; i += 3) reader.push(all.subarray(i, i + 3));
    reader.push(Buffer.concat([a, a]));
    expect(got.map((f) => (f.kind === 1 ? f.id : -1))).toEqual([1, 2, 1, 1]);
    expect((got[1] as Frame & { kind: 1 }).body.length).toBe(1000);
  });

  it("refuses a frame over the size limit before buffering it", () => {
    const reader = new FrameReader(() => {}, 1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(10_000_000);
    expect(() => reader.push(header)).toThrow(/over the limit of 1024/);
  });
});

describe("string bodies", () => {
  it("writes a JSON string body into the frame as UTF-8, same bytes as a buffer body", () => {
    const text = '{"text":"héllo 你好"}';
    const a = encodeRequest(3, FLAG_JSON, 0, "M/x", "t", text);
    const b = encodeRequest(3, FLAG_JSON, 0, "M/x", "t", Buffer.from(text));
    expect(a.equals(b)).toBe(true);
    expect(
      encodeResponse(3, FLAG_JSON, undefined, text).equals(
        encodeResponse(3, FLAG_JSON, undefined, Buffer.from(text)),
      ),
    ).toBe(true);
  });
});
