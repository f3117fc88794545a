import { InvalidArgumentError } from "commander";

/** Commander argument parser for a whole number in a range: a bad value is a usage error (exit 2). */
export function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}
