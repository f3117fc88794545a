/**
 * A minimal, fair client for the bare node:net echo: frames of u32 length + u32 id +
 * the 100-byte message, a promise per call resolved by id, writes of one tick corked
 * into one packet (as msec's client does).
 */
import net from "node:net";
import { HOST, TEXT } from "../lib/common.js";
import { runClient } from "../lib/harness.js";

const payload = Buffer.from(TEXT, "latin1");

await runClient(async (cfg) => {
  const socket = net.connect({ host: HOST, port: cfg.port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const pending = new Map<number, { resolve(b: Buffer): void; reject(e: Error): void }>();
  let nextId = 1;
  let corked = false;
  let rest: Buffer | undefined;
  socket.on("data", (chunk: Buffer) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (buf.length - at - 4 < len) break;
      const id = buf.readUInt32BE(at + 4);
      const p = pending.get(id);
      if (p) {
        pending.delete(id);
        p.resolve(buf.subarray(at + 8, at + 4 + len));
      }
      at += 4 + len;
    }
    rest = at === buf.length ? undefined : buf.subarray(at);
  });
  const fail = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("connection closed")));
  return {
    call: () =>
      new Promise<Buffer>((resolve, reject) => {
        const id = nextId;
        nextId = nextId >= 0x7fffffff ? 1 : nextId + 1;
        const frame = Buffer.allocUnsafe(8 + payload.length);
        frame.writeUInt32BE(4 + payload.length, 0);
        frame.writeUInt32BE(id, 4);
        payload.copy(frame, 8);
        pending.set(id, { resolve, reject });
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(() => {
            corked = false;
            socket.uncork();
          });
        }
        socket.write(frame);
      }),
    close: () => {
      socket.destroy();
    },
  };
});
