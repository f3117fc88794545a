import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Browser,
  type BrowserContext,
  chromium,
  type LaunchOptions,
  type Page,
} from "playwright-core";
import { CLI, type ConsoleProcess } from "../support/console-process.js";

/** Debian's chromium; playwright's own browser downloads are never used. */
export const CHROMIUM = process.env.MSEC_CHROMIUM ?? "/usr/bin/chromium";

export const LAUNCH_OPTIONS: LaunchOptions = {
  executablePath: CHROMIUM,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
  ],
};

export function launchBrowser(): Promise<Browser> {
  return chromium.launch(LAUNCH_OPTIONS);
}

/** The built web UI the console serves (dist/web, from `vite build`). */
export const WEB_INDEX = fileURLToPath(new URL("../../dist/web/index.html", import.meta.url));

const SCREENSHOTS = fileURLToPath(new URL("../../test-results/screenshots/", import.meta.url));

/** Where a screenshot goes (test-results/ is git-ignored); creates the folder. */
export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}

/** Fill in the login form and press Log in. */
export async function submitLogIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Log in on the login page and wait for the signed-in header. */
export async function logIn(page: Page, username: string, password: string): Promise<void> {
  await submitLogIn(page, username, password);
  await page.getByTestId("who").waitFor();
}

/** Collect a page's script errors and console errors (failed 4xx loads are expected). */
export function watchProblems(page: Page, problems: string[]): void {
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${m.text()}`);
    }
  });
}

/** Fail early when the console or its web UI is not built (`npm run build`). */
export function needBuild(): void {
  for (const f of [CLI, WEB_INDEX]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
}

/** A fresh browser context and page (1280×800, 20 s per step) whose problems are collected. */
export async function openPage(
  browser: Browser,
  problems: string[],
  locale = "en-US",
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  watchProblems(page, problems);
  return { context, page };
}

/** Log in as a user whose password an admin set, and put off the prompt to change it. */
export async function logInLater(page: Page, username: string, password: string): Promise<void> {
  await logIn(page, username, password);
  const prompt = page.getByRole("dialog", { name: "Change your password" });
  await prompt.getByRole("button", { name: "Later" }).click();
  await prompt.waitFor({ state: "detached" });
}

/** A direct API call from inside the page, with the session cookie and the CSRF token. */
export async function callFromPage(
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = await fetch("api/v1/auth/session");
      const { csrfToken } = (await session.json()) as { csrfToken?: string };
      const res = await fetch(`api/v1${path}`, {
        method,
        headers: {
          "x-csrf-token": csrfToken ?? "",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
    { method, path, body },
  );
}

/** Stop a console (SIGKILL if it takes more than 15 s). */
export async function stopConsole(con: ConsoleProcess | undefined): Promise<void> {
  if (!con) return;
  const stopped = con.stop();
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 15_000).unref());
  if ((await Promise.race([stopped, timeout])) === "timeout") await con.kill();
}
