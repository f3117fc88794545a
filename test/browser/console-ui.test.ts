import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import {
  callFromPage,
  launchBrowser,
  submitLogIn as logIn,
  needBuild,
  openPage,
  screenshotPath,
  stopConsole,
} from "./browser.js";

const ADMIN_PASSWORD = "admin-ui-secret-1";
const VIEWER = "viewer1";
const VIEWER_RESET = "reset-by-admin-1";
const VIEWER_OWN = "viewer-own-pass-1";

describe("console web UI in a real browser", { timeout: 60_000 }, () => {
  let dir = "";
  let con: ConsoleProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url = "";
  /** Script errors and CSP violations the page reported (failed 4xx loads are expected). */
  const problems: string[] = [];

  beforeAll(async () => {
    needBuild();
    dir = await mkdtemp(join(tmpdir(), "msec-ui-"));
    con = await startConsoleProcess({
      db: `sqlite:${join(dir, "msec.db")}`,
      env: { MSEC_ADMIN_PASSWORD: ADMIN_PASSWORD },
    });
    url = con.url;
    browser = await launchBrowser();
    page = (await openPage(browser, problems)).page;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stopConsole(con);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("serves the page with security headers, and leaves /api/* to the API", async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toBe(
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("same-origin");
    const api = await fetch(`${url}/api/v1/no-such-route`);
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("shows the API's message after a wrong password", async () => {
    await page.goto(url);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.screenshot({ path: screenshotPath("login") });
    await logIn(page, "admin", "not-the-password");
    await page.getByRole("alert").filter({ hasText: "wrong username or password" }).waitFor();
    // The password field is cleared for the next try; the username stays.
    expect(await page.getByLabel("Password", { exact: true }).inputValue()).toBe("");
    expect(await page.getByLabel("Username").inputValue()).toBe("admin");
  });

  it("logs in and shows the console version and health", async () => {
    const version = ((await (await fetch(`${url}/api/v1/version`)).json()) as { version: string })
      .version;
    await logIn(page, "admin", ADMIN_PASSWORD);
    await page.getByTestId("version").filter({ hasText: version }).waitFor();
    await page.getByTestId("health").filter({ hasText: "OK" }).waitFor();
    expect(await page.getByTestId("who").textContent()).toBe("Signed in as admin (admin)");
    // The admin's password came from MSEC_ADMIN_PASSWORD, so nobody asks to change it.
    expect(await page.getByRole("dialog").count()).toBe(0);
    // Marks this document: if a later step reloaded the page, the mark would be gone.
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).__msecNoReload = true;
    });
    await page.screenshot({ path: screenshotPath("home") });
  });

  it("creates a viewer on the Users page, and the Audit page shows it", async () => {
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    expect(new URL(page.url()).hash).toBe("#/users");
    await page.getByRole("cell", { name: "admin", exact: true }).first().waitFor();

    await page.getByLabel("Username").fill(VIEWER);
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("alert").filter({ hasText: "body.password" }).waitFor();
    expect(await page.getByLabel("Password", { exact: true }).getAttribute("aria-invalid")).toBe(
      "true",
    );

    await page.getByLabel("Password", { exact: true }).fill("viewer-initial-1");
    await page.getByLabel("Role").selectOption("viewer");
    await page.getByRole("button", { name: "Add user" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `User ${VIEWER} created.` })
      .waitFor();
    await page.getByRole("cell", { name: VIEWER, exact: true }).waitFor();
    expect(await page.getByLabel("Username").inputValue()).toBe("");
    await page.screenshot({ path: screenshotPath("users") });

    await page.getByRole("link", { name: "Audit" }).click();
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    const row = page.getByRole("row").filter({ hasText: `user:${VIEWER}` });
    await row.filter({ hasText: "user.create" }).waitFor();
    await page.screenshot({ path: screenshotPath("audit") });
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).__msecNoReload)).toBe(
      true,
    );
  });

  it("logs out", async () => {
    // An admin reset makes the viewer choose a new password at the next login.
    const reset = await callFromPage(page, "PUT", `/users/${VIEWER}/password`, {
      password: VIEWER_RESET,
    });
    expect(reset.status).toBe(204);

    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    const session = await page.evaluate(async () => (await fetch("api/v1/auth/session")).status);
    expect(session).toBe(401);
  });

  it("asks a viewer to change a password set by an admin; the prompt can be dismissed", async () => {
    await logIn(page, VIEWER, VIEWER_RESET);
    const dialog = page.getByRole("dialog", { name: "Change your password" });
    await dialog.waitFor();
    await page.screenshot({ path: screenshotPath("password-prompt") });
    await dialog.getByRole("button", { name: "Later" }).click();
    await dialog.waitFor({ state: "detached" });

    await page.getByRole("link", { name: "Password" }).click();
    await page.getByLabel("Current password").fill(VIEWER_RESET);
    await page.getByLabel("New password", { exact: true }).fill(VIEWER_OWN);
    await page.getByLabel("Repeat new password").fill(`${VIEWER_OWN}x`);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").filter({ hasText: "not the same" }).waitFor();
    await page.getByLabel("Repeat new password").fill(VIEWER_OWN);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("status").filter({ hasText: "Password changed." }).waitFor();
    const me = await page.evaluate(
      async (name) => (await fetch(`api/v1/users/${name}`)).json(),
      VIEWER,
    );
    expect(me).toMatchObject({ username: VIEWER, mustChangePassword: false });
  });

  it("shows a viewer no admin pages, and the API refuses a viewer's change", async () => {
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByTestId("version").waitFor();
    expect(await page.getByTestId("who").textContent()).toBe("Signed in as viewer1 (viewer)");
    expect(await page.getByRole("link", { name: "Users" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Audit" }).count()).toBe(0);

    await page.goto(`${url}/#/users`);
    await page.getByText("This page is for administrators.").waitFor();

    const res = await callFromPage(page, "POST", "/users", {
      username: "mallory",
      password: "mallory-pass-1",
      role: "admin",
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: "permission_denied" } });
  });

  it("switches the language to Simplified Chinese, and keeps the choice", async () => {
    await page.goto(`${url}/#/`);
    await page.getByRole("button", { name: "Log out" }).waitFor();
    await page.getByLabel("Language").selectOption({ label: "简体中文" });
    await page.getByRole("button", { name: "退出登录" }).waitFor();
    await page.getByRole("link", { name: "概览" }).waitFor();
    expect(await page.getByTestId("who").textContent()).toBe("当前用户 viewer1（查看者）");
    expect(await page.locator("html").getAttribute("lang")).toBe("zh-CN");
    await page.screenshot({ path: screenshotPath("home-zh-CN") });

    await page.reload();
    await page.getByRole("button", { name: "退出登录" }).waitFor();
  });

  it("starts in Chinese for a browser that prefers it", async () => {
    const zh = await browser?.newContext({ locale: "zh-CN" });
    try {
      const p = await zh?.newPage();
      await p?.goto(url);
      await p?.getByRole("heading", { name: "登录" }).waitFor();
    } finally {
      await zh?.close();
    }
  });

  it("raised no script errors or CSP violations", () => {
    expect(problems).toEqual([]);
  });
});
