/**
 * The ceiling for Node: a bare node:net echo of length-prefixed frames
 * (u32 length, then the payload, whose first 4 bytes are the request id).
 * Frames are split out of the stream and written back one by one, all answers
 * of one chunk in one corked write — no decoding, no allocation per frame.
 */
import net from "node:net";
import { dieWithParent, emit, HOST, readConfig, type ServerConfig } from "../lib/common.js";

const cfg = readConfig<ServerConfig>();
dieWithParent(cfg.maxLifetimeS);

const server = net.createServer({ noDelay: true }, (socket) => {
  let pending: Buffer | undefined;
  socket.on("data", (chunk: Buffer) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    socket.cork();
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (buf.length - at - 4 < len) break;
      socket.write(buf.subarray(at, at + 4 + len));
      at += 4 + len;
    }
    socket.uncork();
    pending = at === buf.length ? undefined : buf.subarray(at);
  });
  socket.on("error", () => socket.destroy());
});
server.listen(0, HOST, () => {
  emit({ ready: true, port: (server.address() as net.AddressInfo).port });
});
