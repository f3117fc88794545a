import type { Socket } from "node:net";

/**
 * Writes to a socket issued in the same tick leave in one packet: the first corks the
 * socket, the next tick uncorks it. Both ends of the binary protocol send many small
 * frames at once (answers finishing together, calls issued together).
 */
export class TickWriter {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }
}
