import { z } from "zod";
import { MsecError } from "../../core/errors.js";

/** Name of the manifest file at the root of every code package. */
export const MANIFEST_FILE = "msec.json";

/** A relative POSIX path that stays inside the package: no leading `/`, no `..`. */
export function isSafeRelativePath(p: string): boolean {
  if (p === "" || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  if (/^[a-zA-Z]:/.test(p)) return false;
  return p.split("/").every((seg) => seg !== "..");
}

export const packageManifestSchema = z.strictObject({
  entry: z
    .string()
    .min(1)
    .max(1024)
    .refine(isSafeRelativePath, "must be a relative path inside the package, without '..'"),
  node: z.string().min(1).max(200).optional(),
  healthCheck: z
    .strictObject({
      path: z
        .string()
        .max(1024)
        .regex(/^\/[^\s]*$/, "must be an HTTP path starting with '/'")
        .default("/health"),
      timeoutMs: z.number().int().positive().max(600_000).optional(),
    })
    .optional(),
  port: z.number().int().min(1).max(65535).optional(),
});

export type PackageManifest = z.infer<typeof packageManifestSchema>;

/** Parses and validates the text of `msec.json`; errors name the field at fault. */
export function parseManifest(text: string): PackageManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new MsecError("invalid_argument", `${MANIFEST_FILE}: not valid JSON`, {
      field: MANIFEST_FILE,
      cause: err,
    });
  }
  const parsed = packageManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join(".") ?? "";
    const field = path ? `${MANIFEST_FILE}.${path}` : MANIFEST_FILE;
    throw new MsecError("invalid_argument", `${field}: ${issue?.message ?? "invalid"}`, { field });
  }
  return parsed.data;
}
