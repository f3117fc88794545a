/**
 * The Machines and Releases pages in a real browser, against a real console: an admin
 * makes a join token, a stand-in agent enrolls with it and reports what runs; an operator
 * plans a release in the wizard, executes it, follows it live, and rolls it back; a
 * viewer sees neither the token form nor the release actions.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { call, tokenFor, userToken } from "../support/http.js";
import { launchBrowser, logIn, screenshotPath, WEB_INDEX, watchProblems } from "./browser.js";

const ADMIN_PASSWORD = "admin-mr-secret-1";
const VIEWER = "onlooker";

describe("machines and releases pages in a real browser", { timeout: 90_000 }, () => {
  let dir = "";
  let con: ConsoleProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url = "";
  let token = "";
  /** The credential of machine web-1, enrolled by the first test. */
  let machineCredential = "";
  const problems: string[] = [];

  beforeAll(async () => {
    for (const f of [CLI, WEB_INDEX]) {
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
    }
    dir = await mkdtemp(join(tmpdir(), "msec-mr-"));
    con = await startConsoleProcess({
      db: `sqlite:${join(dir, "msec.db")}`,
      env: { MSEC_ADMIN_PASSWORD: ADMIN_PASSWORD },
    });
    url = con.url;
    token = await tokenFor(url, "admin", ADMIN_PASSWORD);
    await userToken(url, token, VIEWER, "viewer");
    browser = await launchBrowser();
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      locale: "en-US",
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    watchProblems(page, problems);
    await page.goto(url);
    await logIn(page, "admin", ADMIN_PASSWORD);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (con) {
      const stopped = con.stop();
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 15_000).unref());
      if ((await Promise.race([stopped, timeout])) === "timeout") await con.kill();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("makes a join token; the machine it enrolls shows with what it runs", async () => {
    await page.getByRole("link", { name: "Machines" }).click();
    await page.getByRole("heading", { name: "Machines", level: 1 }).waitFor();
    await page.getByText("No machines yet.").waitFor();
    await page.getByLabel("Labels").fill("zone=sz");
    await page.getByLabel("Note").fill("rack 4");
    await page.getByRole("button", { name: "Create token" }).click();
    const secret = page.getByTestId("new-token").locator("code").first();
    await secret.waitFor();
    const joinToken = ((await secret.textContent()) ?? "").trim();
    expect(joinToken).toMatch(/^msecj_/);

    // What an agent does: enroll with the token, then report what runs.
    const enrolled = await call(url, "POST", "/machines/enroll", {
      body: { joinToken, name: "web-1", hostname: "web-1.lan", agentVersion: "0.1.0" },
    });
    expect(enrolled.status).toBe(201);
    machineCredential = enrolled.body.credential;
    const report = await call(url, "PUT", "/machines/self/state", {
      token: enrolled.body.credential,
      body: {
        appliedRevision: 0,
        hostname: "web-1.lan",
        agentVersion: "0.1.0",
        services: [
          {
            service: "Demo.Echo",
            running: {
              versions: { package: 3, configs: [2], libs: [], plugins: [] },
              state: "healthy",
              pid: 4321,
              addr: "127.0.0.1:9100",
              restarts: 0,
              since: new Date().toISOString(),
            },
            target: null,
          },
        ],
      },
    });
    expect(report.status).toBe(204);

    await page.getByRole("button", { name: "Refresh" }).click();
    const row = page.getByTestId("machines").getByRole("row").filter({ hasText: "web-1" });
    await row.filter({ hasText: "online" }).filter({ hasText: "Demo.Echo" }).waitFor();
    await row.filter({ hasText: "zone=sz" }).filter({ hasText: "v3" }).waitFor();
    await page.getByTestId("join-tokens").getByRole("row").filter({ hasText: "web-1" }).waitFor();

    await page.getByRole("button", { name: "Labels of web-1" }).click();
    const dialog = page.getByRole("dialog", { name: "Labels of web-1" });
    await dialog.getByLabel("Labels").fill("zone=sz, tier=web");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    await row.filter({ hasText: "tier=web" }).waitFor();
    await page.screenshot({ path: screenshotPath("machines"), fullPage: true });
  });

  it("plans a release in the wizard, executes it, follows it live and rolls it back", async () => {
    const pkg = await fetch(`${url}/api/v1/artifacts/Demo.Echo/package?note=first`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
      body: "not really a tarball",
    });
    expect(pkg.status).toBe(201);
    // A stand-in agent for web-1: it runs, healthy, whatever the console wants there.
    let agentOn = true;
    const agent = (async () => {
      while (agentOn) {
        const d = await call(url, "GET", "/machines/self/desired?waitMs=0", {
          token: machineCredential,
        });
        const since = new Date().toISOString();
        const services = (d.body.deployments ?? []).map(
          (dep: {
            service: string;
            package: { version: number };
            configs: { version: number }[];
          }) => ({
            service: dep.service,
            running: {
              versions: {
                package: dep.package.version,
                configs: dep.configs.map((c) => c.version),
                libs: [],
                plugins: [],
              },
              state: "healthy",
              pid: 4321,
              addr: "127.0.0.1:9100",
              restarts: 0,
              since,
            },
            target: null,
          }),
        );
        await call(url, "PUT", "/machines/self/state", {
          token: machineCredential,
          body: { appliedRevision: d.body.revision, services },
        });
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      await page.getByRole("link", { name: "Releases" }).click();
      await page.getByText("No release plans.").waitFor();
      await page.getByRole("link", { name: "New release" }).click();
      await page.getByRole("heading", { name: "New release plan" }).waitFor();
      await page.getByLabel("Service").fill("Demo.Echo");
      await page.getByLabel("Full package").check();
      await page.getByLabel("package", { exact: true }).selectOption({ index: 1 });
      await page.getByRole("button", { name: "Next" }).click();
      await page.getByLabel("web-1").check();
      await page.getByRole("button", { name: "Next" }).click();
      await page.getByLabel("Healthy for (s)").fill("1");
      await page.getByRole("button", { name: "Next" }).click();
      const review = page.getByTestId("review");
      await review.getByText("machines: web-1").waitFor();
      await review.getByText("package v1").waitFor();
      await page.screenshot({ path: screenshotPath("release-wizard") });
      await page.getByRole("button", { name: "Save and execute" }).click();

      await page.getByRole("heading", { name: "Release #1: Demo.Echo" }).waitFor();
      const state = page.getByTestId("release-state");
      await state.getByText("succeeded", { exact: true }).waitFor({ timeout: 30_000 });
      await page.getByTestId("batch-0").getByText("succeeded").waitFor();
      await page.getByTestId("steps").getByRole("row").filter({ hasText: "web-1" }).waitFor();
      await page.screenshot({ path: screenshotPath("release"), fullPage: true });

      await state.getByRole("button", { name: "Roll back" }).click();
      const dialog = page.getByRole("dialog", { name: "Roll back release #1?" });
      await dialog.getByRole("button", { name: "Roll back" }).click();
      await dialog.waitFor({ state: "detached" });
      await state.getByText("rolled back", { exact: true }).waitFor({ timeout: 30_000 });

      await page.getByRole("link", { name: "Releases", exact: true }).first().click();
      await page
        .getByTestId("releases")
        .getByRole("row")
        .filter({ hasText: "rolled back" })
        .waitFor();
      await page.screenshot({ path: screenshotPath("releases") });
      await page.getByLabel("State").selectOption({ label: "succeeded" });
      await page.getByText("No release plans.").waitFor();
    } finally {
      agentOn = false;
      await agent;
    }
  });

  it("shows a viewer the machines and releases, with no button to change them", async () => {
    const viewer = await (browser as Browser).newContext({
      viewport: { width: 1280, height: 800 },
      locale: "en-US",
    });
    try {
      const p = await viewer.newPage();
      p.setDefaultTimeout(20_000);
      watchProblems(p, problems);
      await p.goto(url);
      await logIn(p, VIEWER, `${VIEWER}-password`);
      const prompt = p.getByRole("dialog", { name: "Change your password" });
      await prompt.getByRole("button", { name: "Later" }).click();
      await prompt.waitFor({ state: "detached" });
      await p.getByRole("link", { name: "Machines" }).click();
      await p.getByTestId("machines").getByText("web-1").waitFor();
      expect(await p.getByRole("button", { name: /Labels|Remove|Create token/ }).count()).toBe(0);
      expect(await p.getByText("Join tokens").count()).toBe(0);
      await p.getByRole("link", { name: "Releases" }).click();
      await p.getByTestId("releases").getByRole("link", { name: "Release 1" }).click();
      await p.getByTestId("release-state").getByText("rolled back").waitFor();
      expect(
        await p.getByRole("button", { name: /Execute|Pause|Resume|Abort|Roll back/ }).count(),
      ).toBe(0);
      expect(await p.getByRole("link", { name: "New release" }).count()).toBe(0);
      const status = await p.evaluate(async () => {
        const s = (await (await fetch("api/v1/auth/session")).json()) as { csrfToken?: string };
        return (
          await fetch("api/v1/releases/1/execute", {
            method: "POST",
            headers: { "x-csrf-token": s.csrfToken ?? "" },
          })
        ).status;
      });
      expect(status).toBe(403);
    } finally {
      await viewer.close();
    }
  });

  it("raised no script errors or CSP violations", () => {
    expect(problems).toEqual([]);
  });
});
