import { createHash } from "node:crypto";

/** sha256 of bytes or UTF-8 text, as lower-case hex: artifact digests, stored secret hashes. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
