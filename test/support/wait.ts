/** Poll `check` until it holds, or fail naming what was awaited. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run `fn` from `workers` loops for `ms`; count successes and failures (first few errors kept). */
export async function load(ms: number, workers: number, fn: () => Promise<unknown>) {
  const stopAt = Date.now() + ms;
  const result = { ok: 0, failed: 0, errors: [] as string[] };
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < stopAt) {
        try {
          await fn();
          result.ok++;
        } catch (e) {
          result.failed++;
          if (result.errors.length < 5) result.errors.push(String(e));
        }
      }
    }),
  );
  return result;
}
