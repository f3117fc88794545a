import { isEjected } from "./endpoint.js";
import type { BalancerState } from "./types.js";

/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `s` (the standard algorithm: offset basis
 * 0x811c9dc5, prime 0x01000193). Fast and simple, but its low bits mix poorly, so the
 * balancer always passes it through `fmix32`.
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // lone surrogate: what TextEncoder writes
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), 0x01000193);
    } else {
      if (c < 0x10000) {
        h = Math.imul(h ^ (0xe0 | (c >> 12)), 0x01000193);
      } else {
        h = Math.imul(h ^ (0xf0 | (c >> 18)), 0x01000193);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), 0x01000193);
      }
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer: a bijection with full avalanche. */
export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The per-address half of the rendezvous hash; computed once, when the endpoint joins. */
export function addrHash(addr: string): number {
  return fmix32(fnv1a32(addr));
}

/** The rendezvous hash of (key, endpoint): both halves combined and mixed again. */
export function pairHash(keyHash: number, endpointHash: number): number {
  return fmix32(keyHash ^ endpointHash);
}

const TWO_32 = 4294967296;

/**
 * Weighted rendezvous hashing (highest random weight): every endpoint gets the score
 * `weight / -ln(u)`, u = the pair hash mapped into (0, 1); the highest score wins. An
 * endpoint then wins a share of keys proportional to its weight, and when one drops
 * out only the keys it won move — each to its own runner-up.
 *
 * Uses base weights, not effective ones, so keys do not wander as latencies move;
 * ejected endpoints are skipped (the key goes to its runner-up) unless every candidate
 * is ejected. Returns the endpoint index, or -1 when every endpoint is excluded.
 */
export function pickHashed(
  state: BalancerState,
  key: string,
  exclude: ReadonlySet<string> | undefined,
  now: number,
): number {
  const keyHash = fmix32(fnv1a32(key));
  const { endpoints, allDrained, equalWeights } = state;
  const checkExclude = exclude !== undefined && exclude.size > 0;
  let best = -1;
  let bestScore = -1;
  let bestEjected = -1;
  let bestEjectedScore = -1;
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i] as (typeof endpoints)[number];
    const w = allDrained ? 1 : e.weight;
    if (w <= 0) continue;
    if (checkExclude && exclude.has(e.addr)) continue;
    const h = pairHash(keyHash, e.addrHash);
    // With equal weights the order of the scores is the order of the hashes: skip the log.
    const score = equalWeights ? h : w / -Math.log((h + 0.5) / TWO_32);
    if (isEjected(e, now)) {
      if (score > bestEjectedScore) {
        bestEjectedScore = score;
        bestEjected = i;
      }
    } else if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best >= 0 ? best : bestEjected;
}
