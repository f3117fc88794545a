import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const Saved = z.object({
  consoles: z.record(
    z.string(),
    z.object({ token: z.string(), tokenId: z.number(), username: z.string() }),
  ),
});
type Saved = z.infer<typeof Saved>;
export type SavedLogin = Saved["consoles"][string];

/** `~/.msec` (or `$MSEC_HOME`): where `msec login` keeps its tokens. */
export function msecHome(): string {
  return process.env.MSEC_HOME ?? join(homedir(), ".msec");
}

export function credentialsPath(): string {
  return join(msecHome(), "credentials");
}

async function load(): Promise<Saved> {
  try {
    return Saved.parse(JSON.parse(await readFile(credentialsPath(), "utf8")));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { consoles: {} };
    throw new Error(
      `${credentialsPath()} is unreadable (${(e as Error).message}); delete it and log in again`,
    );
  }
}

async function save(saved: Saved): Promise<void> {
  await mkdir(msecHome(), { recursive: true, mode: 0o700 });
  const tmp = `${credentialsPath()}.${process.pid}.tmp`;
  // Written 0600 from the first byte, then moved into place in one step.
  await writeFile(tmp, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, credentialsPath());
}

export async function savedLogin(consoleUrl: string): Promise<SavedLogin | undefined> {
  return (await load()).consoles[consoleUrl];
}

export async function saveLogin(consoleUrl: string, login: SavedLogin): Promise<void> {
  const saved = await load();
  saved.consoles[consoleUrl] = login;
  await save(saved);
}

export async function forgetLogin(consoleUrl: string): Promise<void> {
  const saved = await load();
  delete saved.consoles[consoleUrl];
  await save(saved);
}
