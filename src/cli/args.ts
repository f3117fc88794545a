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

/** A repeatable option: each use adds its value. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A repeatable `--label name=value` option, gathered into a record; a bad pair is a usage error. */
export function labelArg(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const i = value.indexOf("=");
  if (i <= 0 || i === value.length - 1)
    throw new InvalidArgumentError(`"${value}" is not a label: write name=value.`);
  return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
}
