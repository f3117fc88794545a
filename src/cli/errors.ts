/** A mistake in how the command was called: exit code 2, like commander's own. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
