/**
 * The Services, Monitor and Alarms pages in a real browser, against a real console with
 * two real Demo.Echo processes: instances are disabled and enabled from the service page,
 * a chart shows today against yesterday (yesterday's minutes seeded through the ingest
 * API), an alarm rule is previewed before and after it is saved, fires on the console's
 * fast alarm clock and is acknowledged; a viewer sees no button it cannot use; the services page reads in Chinese.
 * Machines and releases: machines-releases.test.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/runtime/index.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { call, tokenFor, userToken } from "../support/http.js";
import { type ServiceProcess, startDemo } from "../support/service-process.js";
import { until } from "../support/wait.js";
import {
  callFromPage,
  launchBrowser,
  logIn,
  logInLater,
  needBuild,
  openPage,
  screenshotPath,
  stopConsole,
} from "./browser.js";

const ADMIN_PASSWORD = "admin-sma-secret-1";
const VIEWER = "watcher";
const MIN = 60_000;
const DAY = 1440 * MIN;
const NOW = Math.floor(Date.now() / MIN) * MIN;
/** The console's alarm clock starts here and moves one minute per tick. */
const ALARM_START = NOW - 150 * MIN;
const SEEDED_MINUTES = 240;

describe("services, monitor and alarms pages in a real browser", { timeout: 90_000 }, () => {
  let dir = "";
  let con: ConsoleProcess | undefined;
  let echoes: ServiceProcess[] = [];
  let browser: Browser | undefined;
  let page: Page;
  let url = "";
  let token = "";
  const problems: string[] = [];

  beforeAll(async () => {
    needBuild();
    dir = await mkdtemp(join(tmpdir(), "msec-sma-"));
    con = await startConsoleProcess({
      db: `sqlite:${join(dir, "msec.db")}`,
      env: {
        MSEC_ADMIN_PASSWORD: ADMIN_PASSWORD,
        MSEC_ALARM_TICK_MS: "500",
        MSEC_ALARM_START: String(ALARM_START),
      },
    });
    url = con.url;
    token = await tokenFor(url, "admin", ADMIN_PASSWORD);
    await userToken(url, token, VIEWER, "viewer");
    const env = { MSEC_CONSOLE: url, MSEC_TOKEN: token, MSEC_METRICS_INTERVAL_MS: "1000" };
    echoes = await Promise.all([startDemo("echo", env), startDemo("echo", env)]);
    const client = createClient("Demo.Echo", {
      endpoints: echoes.map((e) => e.addr),
      metrics: false,
    });
    for (let i = 0; i < 20; i++) await client.call("Echo", { text: `hello ${i}` });
    client.close();

    // "orders" of one instance: the last four hours, and the same minutes yesterday.
    const instance = (echoes[0] as ServiceProcess).addr;
    const minutes = [];
    for (let i = SEEDED_MINUTES; i >= 1; i--) {
      const minute = NOW - i * MIN;
      const today = Math.round(12 + 4 * Math.sin(i / 15));
      const yesterday = Math.round(8 + 2 * Math.sin(i / 20));
      minutes.push({ minute, points: [{ attr: "orders", kind: "counter", value: today }] });
      minutes.push({
        minute: minute - DAY,
        points: [{ attr: "orders", kind: "counter", value: yesterday }],
      });
    }
    const seeded = await call(url, "POST", "/metrics/ingest", {
      token,
      body: { service: "Demo.Echo", instance, minutes },
    });
    expect(seeded.status).toBe(200);
    // Two versions of a config file for the service page's artifact list.
    for (const [i, text] of ['{"greeting":"hi"}', '{"greeting":"hello"}'].entries()) {
      const res = await fetch(
        `${url}/api/v1/artifacts/Demo.Echo/config?name=echo.json&note=${encodeURIComponent(`take ${i + 1}`)}`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
          body: text,
        },
      );
      expect(res.status).toBe(201);
    }
    await until("both instances registered", async () => {
      const r = await call(url, "GET", "/services/Demo.Echo/instances", { token });
      return r.status === 200 && r.body.instances.length === 2;
    });

    browser = await launchBrowser();
    page = (await openPage(browser, problems)).page;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(echoes.map((e) => e.stop()));
    await stopConsole(con);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("lists Demo.Echo with its instances up", async () => {
    await page.goto(url);
    await logIn(page, "admin", ADMIN_PASSWORD);
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).__msecNoReload = true;
    });
    await page.getByRole("link", { name: "Services" }).click();
    await page.getByRole("heading", { name: "Services", level: 1 }).waitFor();
    const row = page.getByTestId("services").getByRole("row").filter({ hasText: "Demo.Echo" });
    await row.filter({ hasText: "2 / 2" }).waitFor();
    await page.screenshot({ path: screenshotPath("services") });
  });

  it("disables and enables an instance from the service page", async () => {
    const addr = (echoes[0] as ServiceProcess).addr;
    await page.getByRole("link", { name: "Demo.Echo" }).click();
    await page.getByRole("heading", { name: "Demo.Echo", level: 1 }).waitFor();
    const row = page.getByTestId("instances").getByRole("row").filter({ hasText: addr });
    await row.filter({ hasText: "enabled" }).waitFor();

    // The artifacts: the config file at its latest version.
    await page
      .getByRole("row")
      .filter({ hasText: "echo.json" })
      .filter({ hasText: "v2" })
      .waitFor();

    // By keyboard: Enter opens the dialog, Escape closes it and gives focus back.
    const disable = page.getByRole("button", { name: `Disable ${addr}` });
    await disable.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: `Disable ${addr}?` });
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    // Focus goes back to the button that opened the dialog.
    await page.waitForFunction((label) => {
      const doc = (
        globalThis as {
          document?: { activeElement: { getAttribute(name: string): string | null } | null };
        }
      ).document;
      return doc?.activeElement?.getAttribute("aria-label") === label;
    }, `Disable ${addr}`);

    await disable.click();
    await dialog.getByRole("button", { name: "Disable" }).click();
    await dialog.waitFor({ state: "detached" });
    await row.filter({ hasText: "disabled" }).waitFor();
    const view = await call(url, "GET", "/services/Demo.Echo/instances", { token });
    expect(view.body.instances.find((i: { addr: string }) => i.addr === addr).disabled).toBe(true);
    await page.screenshot({ path: screenshotPath("service") });

    await page.getByRole("button", { name: `Enable ${addr}` }).click();
    await row.filter({ hasText: "enabled" }).waitFor();

    // A refused change shows the API's own message, in the dialog.
    await page.getByRole("button", { name: `Set the weight of ${addr}` }).click();
    const weight = page.getByRole("dialog", { name: `Weight of ${addr}` });
    await weight.getByLabel("Weight").fill("20000");
    await weight.getByRole("button", { name: "Save" }).click();
    await weight.getByRole("alert").filter({ hasText: "body.weight" }).waitFor();
    await weight.getByRole("button", { name: "Cancel" }).click();
    await weight.waitFor({ state: "detached" });
  });

  it("charts an attribute against yesterday, and a week of minutes large", async () => {
    await page.locator("main").getByRole("link", { name: "Monitor", exact: true }).click();
    await page.getByRole("heading", { name: "Demo.Echo: dashboard" }).waitFor();
    const card = page.locator('article[data-attr="orders"]');
    await card.locator('[data-line="yesterday"]').filter({ hasText: "last" }).waitFor();
    await card.locator('[data-line="current"]').filter({ hasText: "max 16" }).waitFor();
    await card.locator("canvas").first().waitFor();
    await page.screenshot({ path: screenshotPath("monitor") });

    await card.getByRole("link", { name: "orders" }).click();
    await page.getByRole("heading", { name: "orders", level: 1 }).waitFor();
    await page.getByLabel("Time range").selectOption({ label: "Last 7 days" });
    const detail = page.locator("section.chart-detail");
    await detail.getByText("10,080 points, one per 1 min").waitFor();
    await detail.locator('[data-line="yesterday"]').filter({ hasText: "last" }).waitFor();
    // Zoom in and back out with the buttons (the keyboard's way; a mouse drags across the chart).
    await detail.getByRole("button", { name: "Zoom in" }).click();
    await detail.locator("button:enabled", { hasText: "Reset zoom" }).click();
    await detail.locator("button:disabled", { hasText: "Reset zoom" }).waitFor();
    await page.screenshot({ path: screenshotPath("monitor-chart") });
  });

  it("creates an alarm rule with a preview; it fires and is acknowledged", async () => {
    await page.getByRole("link", { name: "Alarms" }).click();
    await page.getByRole("heading", { name: "Alarms", level: 1 }).waitFor();
    await page.getByRole("link", { name: "Rules" }).click();
    await page.getByRole("link", { name: "New rule" }).click();
    await page.getByRole("heading", { name: "New alarm rule" }).waitFor();
    await page.getByLabel("Service").fill("Demo.Echo");
    await page.getByLabel("Attribute").fill("orders");
    await page.getByLabel("Rule", { exact: true }).selectOption("max");
    await page.getByRole("button", { name: "Create and preview" }).click();
    // No threshold: the API names the field.
    await page.getByRole("alert").filter({ hasText: "body.threshold" }).waitFor();
    await page.getByLabel("Threshold").fill("12");
    // Preview before saving: the rule as filled in, nothing stored yet.
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    const preview = page.getByTestId("preview");
    await preview.getByText(/would have fired \d+ time/).waitFor();
    expect(new URL(page.url()).hash).toBe("#/alarms/rules/new");
    await page.getByRole("button", { name: "Create and preview" }).click();
    await page.getByRole("status").filter({ hasText: "Rule saved." }).waitFor();
    await preview.getByText(/would have fired \d+ time/).waitFor();
    await preview.locator("canvas").first().waitFor();
    await page.screenshot({ path: screenshotPath("alarm-rule"), fullPage: true });

    await page.getByRole("link", { name: "Alarms" }).click();
    const row = page.getByTestId("firing").getByRole("row").filter({ hasText: "orders" });
    await row.waitFor({ timeout: 40_000 });
    await row.getByRole("button", { name: /^Acknowledge alarm/ }).click();
    const dialog = page.getByRole("dialog", { name: /^Acknowledge alarm/ });
    await dialog.getByLabel("Comment (optional)").fill("looking into it");
    await dialog.getByRole("button", { name: "Acknowledge" }).click();
    await row.filter({ hasText: "by admin" }).waitFor();

    await row.getByRole("button", { name: /^Silence alarm/ }).click();
    const silence = page.getByRole("dialog", { name: "New silence" });
    await silence.getByLabel("Reason").fill("deploy drill");
    await silence.getByRole("button", { name: "Silence" }).click();
    await silence.waitFor({ state: "detached" });
    await page.screenshot({ path: screenshotPath("alarms-firing") });
    await page.getByRole("link", { name: "Silences" }).click();
    await page.getByTestId("silences").getByText("deploy drill").waitFor();
    await page.getByRole("link", { name: "History" }).click();
    await page.getByTestId("history").getByText("orders").first().waitFor();
    await page.screenshot({ path: screenshotPath("alarms-history") });
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).__msecNoReload)).toBe(
      true,
    );
  });

  it("shows a viewer no button it cannot use, and the API refuses anyway", async () => {
    const { context: viewer, page: p } = await openPage(browser as Browser, problems);
    try {
      await p.goto(url);
      // The admin chose this password: the console asks for a new one; not now.
      await logInLater(p, VIEWER, `${VIEWER}-password`);
      const addr = (echoes[0] as ServiceProcess).addr;
      await p.getByRole("link", { name: "Services" }).click();
      await p.getByRole("link", { name: "Demo.Echo" }).click();
      await p.getByTestId("instances").getByText(addr).waitFor();
      await p.getByRole("heading", { name: "Alarms", level: 2 }).waitFor();
      expect(await p.getByRole("button", { name: /Disable|Enable|weight/ }).count()).toBe(0);
      expect(await p.getByRole("link", { name: "New rule" }).count()).toBe(0);
      await p.screenshot({ path: screenshotPath("service-viewer") });

      await p.getByRole("link", { name: "Alarms" }).click();
      await p.getByTestId("firing").getByText("orders").first().waitFor();
      expect(await p.getByRole("button", { name: /Acknowledge|Silence/ }).count()).toBe(0);
      await p.getByRole("link", { name: "Rules" }).click();
      await p.getByTestId("rules").getByText("orders").waitFor();
      await p.screenshot({ path: screenshotPath("alarms-rules") });
      expect(await p.getByRole("link", { name: "New rule" }).count()).toBe(0);
      expect(await p.getByRole("button", { name: /Delete/ }).count()).toBe(0);
      await p
        .getByRole("link", { name: /^View rule/ })
        .first()
        .click();
      await p
        .getByTestId("preview")
        .getByText(/would have fired/)
        .waitFor();
      expect(await p.getByRole("button", { name: /Save|Create/ }).count()).toBe(0);

      const refused = await callFromPage(
        p,
        "POST",
        `/services/Demo.Echo/instances/${encodeURIComponent(addr)}/disable`,
      );
      expect(refused.status).toBe(403);

      // The same page in Simplified Chinese.
      await p.getByRole("link", { name: "Services" }).click();
      await p.getByLabel("Language").selectOption({ label: "简体中文" });
      await p.getByRole("heading", { name: "服务", level: 1 }).waitFor();
      await p.getByRole("columnheader", { name: "可用实例" }).waitFor();
      await p.getByRole("link", { name: "告警", exact: true }).waitFor();
      await p.screenshot({ path: screenshotPath("services-zh-CN") });
    } finally {
      await viewer.close();
    }
  });

  it("raised no script errors or CSP violations", () => {
    expect(problems).toEqual([]);
  });
});
