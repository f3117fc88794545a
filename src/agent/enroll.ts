import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { isMsecError, MsecError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import {
  JOIN_TOKEN_PREFIX,
  MachineName,
  SERVICE_CREDENTIAL_PREFIX,
} from "../core/schemas/machine.js";
import type { Labels } from "../core/schemas/naming.js";
import { VERSION } from "../core/version.js";
import { enrollMachine } from "./api.js";
import { readJsonFile, writeFileAtomic } from "./fsutil.js";
import type { Layout } from "./layout.js";

/** `<root>/.agent/credential.json` (mode 0600). */
export const CredentialFile = z.object({
  machine: MachineName,
  credential: z.string().min(1),
  consoleUrl: z.string().min(1),
  /** The console's artifact signing key (PEM), pinned at enrollment. */
  signingKey: z.string().min(1),
  enrolledAt: z.string(),
});
export type CredentialFile = z.infer<typeof CredentialFile>;

/** The host name as a machine name: allowed characters only, at most 128. */
export function defaultMachineName(host = hostname()): string {
  const cleaned = host.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return cleaned.slice(0, 128) || "machine";
}

/** The console of a first enrollment when no URL is given (DESIGN.md: port 7700). */
export const DEFAULT_CONSOLE_URL = "http://127.0.0.1:7700";

export interface EnrollOptions {
  layout: Layout;
  /** Default: the URL stored at enrollment, else {@link DEFAULT_CONSOLE_URL}. */
  consoleUrl?: string | undefined;
  joinToken?: string | undefined;
  name?: string | undefined;
  labels: Labels;
  log: Logger;
}

/**
 * The machine's credential: read from `credential.json` when this root has enrolled
 * before (the join token is then not needed, and ignored), else enroll with the
 * join token and keep what the console answers.
 */
export async function loadOrEnroll(o: EnrollOptions): Promise<CredentialFile> {
  const file = o.layout.credentialFile;
  const raw = await readJsonFile(file).catch((e: unknown) => {
    throw new MsecError("failed_precondition", `${file} unreadable: ${(e as Error).message}`);
  });
  if (raw !== undefined) {
    const parsed = CredentialFile.safeParse(raw);
    if (!parsed.success) {
      throw new MsecError(
        "failed_precondition",
        `${file} is damaged (${parsed.error.issues[0]?.message}); remove it and enroll again with a new join token`,
      );
    }
    const cred = parsed.data;
    if (o.joinToken) {
      o.log.info(
        { machine: cred.machine },
        `already enrolled as ${cred.machine} (${file}): --token is ignored`,
      );
    }
    if (o.name && o.name !== cred.machine) {
      o.log.warn(
        { machine: cred.machine, name: o.name },
        "--name differs from the enrolled name: ignored",
      );
    }
    if (o.consoleUrl && o.consoleUrl !== cred.consoleUrl) {
      // The console moved: remember where it is now.
      o.log.info({ from: cred.consoleUrl, to: o.consoleUrl }, "console URL changed");
      const moved = { ...cred, consoleUrl: o.consoleUrl };
      await writeFileAtomic(file, `${JSON.stringify(moved, null, 2)}\n`, 0o600);
      return moved;
    }
    return cred;
  }
  const consoleUrl = o.consoleUrl ?? DEFAULT_CONSOLE_URL;
  if (!o.joinToken) {
    throw new MsecError(
      "failed_precondition",
      `this root (${o.layout.root}) has not enrolled yet: pass --token with a join token (msec machine token)`,
    );
  }
  if (!o.joinToken.startsWith(JOIN_TOKEN_PREFIX)) {
    throw new MsecError(
      "invalid_argument",
      `--token: a join token starts with ${JOIN_TOKEN_PREFIX} (make one with msec machine token)`,
      { field: "token" },
    );
  }
  const name = o.name ?? defaultMachineName();
  const valid = MachineName.safeParse(name);
  if (!valid.success) {
    throw new MsecError("invalid_argument", `--name: ${valid.error.issues[0]?.message}`, {
      field: "name",
    });
  }
  let answer: Awaited<ReturnType<typeof enrollMachine>>;
  try {
    answer = await enrollMachine(consoleUrl, {
      joinToken: o.joinToken,
      name,
      hostname: hostname(),
      agentVersion: VERSION,
      labels: o.labels,
    });
  } catch (e) {
    if (isMsecError(e) && e.code === "unauthenticated") {
      throw new MsecError(
        "unauthenticated",
        `enrollment refused: ${e.message} (a join token works once and expires; make a new one with msec machine token)`,
      );
    }
    throw e;
  }
  const cred: CredentialFile = {
    machine: answer.machine,
    credential: answer.credential,
    consoleUrl,
    signingKey: answer.signingKey,
    enrolledAt: new Date().toISOString(),
  };
  await writeFileAtomic(file, `${JSON.stringify(cred, null, 2)}\n`, 0o600);
  o.log.info({ machine: cred.machine }, `enrolled as ${cred.machine}`);
  return cred;
}

const ServiceCredentialFile = z.object({
  credential: z.string().startsWith(SERVICE_CREDENTIAL_PREFIX),
});

/**
 * The read-only credential the agent gives its service processes (MSEC_TOKEN): kept in
 * `<root>/.agent/service-credential.json` so processes adopted after a restart keep a
 * working one; asked of the console when missing. Undefined when the console cannot be
 * reached for it: processes then start without one (they still serve; name lookups
 * fall back to their cache) until the agent's next start.
 */
export async function loadOrRequestServiceCredential(
  layout: Layout,
  request: () => Promise<string>,
  log: Logger,
): Promise<string | undefined> {
  const file = join(layout.agentDir, "service-credential.json");
  const saved = ServiceCredentialFile.safeParse(await readJsonFile(file).catch(() => undefined));
  if (saved.success) return saved.data.credential;
  try {
    const credential = await request();
    await writeFileAtomic(file, `${JSON.stringify({ credential }, null, 2)}\n`, 0o600);
    return credential;
  } catch (e) {
    log.warn(
      { err: (e as Error).message },
      "no credential for service processes yet (console unreachable?); they start without one",
    );
    return undefined;
  }
}
