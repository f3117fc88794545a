/**
 * The Machines and Releases pages in a real browser, against a real console with two
 * real `msec agent` processes running real echo packages: an admin makes the join
 * tokens the agents enroll with and labels a machine; an operator plans a two-batch
 * release in the wizard (web-1, then the rest), follows it live to `succeeded` and rolls
 * it back to what ran before; a viewer sees no action on a draft (the API refuses with
 * 403 anyway) and reads the release list in Chinese.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReleaseView } from "../../src/core/schemas/release.js";
import { type ConsoleProcess, startConsoleProcess } from "../support/console-process.js";
import { killServices, startAgentProcess } from "../support/deploy.js";
import { call, tokenFor, userToken } from "../support/http.js";
import { echoPackage, tarGz, uploadArtifact } from "../support/packages.js";
import type { WatchedProcess } from "../support/process.js";
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

const ADMIN_PASSWORD = "admin-mr-secret-1";
const OPERATOR = "olga";
const VIEWER = "onlooker";
const SERVICE = "Demo.Echo";
const MACHINES = ["web-1", "web-2"] as const;

describe("machines and releases pages with real agents", { timeout: 120_000 }, () => {
  let dir = "";
  let con: ConsoleProcess | undefined;
  let browser: Browser | undefined;
  let admin: Page;
  let url = "";
  let token = "";
  let operatorToken = "";
  const roots: Record<string, string> = {};
  const agents: WatchedProcess[] = [];
  const problems: string[] = [];

  /** A draft plan for the service, made through the API as the operator; its id. */
  const draftPlan = async (plan: Record<string, unknown>): Promise<number> => {
    const r = await call(url, "POST", "/releases", {
      token: operatorToken,
      body: { service: SERVICE, ...plan },
    });
    expect(r.status).toBe(201);
    return r.body.id as number;
  };
  const release = async (id: number) =>
    (await call(url, "GET", `/releases/${id}`, { token })).body as ReleaseView;
  /** `machine vN health` of every instance of the service, sorted. */
  const instances = async () =>
    ((await call(url, "GET", `/services/${SERVICE}/instances`, { token })).body.instances ?? [])
      .map(
        (i: { labels: Record<string, string>; health: string }) =>
          `${i.labels.machine} v${i.labels.version} ${i.health}`,
      )
      .sort();
  const running = (version: number) =>
    until(
      `${MACHINES.join(" and ")} healthy on v${version}`,
      async () =>
        JSON.stringify(await instances()) ===
        JSON.stringify(MACHINES.map((m) => `${m} v${version} healthy`)),
      30_000,
    );

  beforeAll(async () => {
    needBuild();
    dir = mkdtempSync(join(tmpdir(), "msec-mr-"));
    con = await startConsoleProcess({
      db: `sqlite:${join(dir, "msec.db")}`,
      // Plans move in fifths of a second.
      env: { MSEC_ADMIN_PASSWORD: ADMIN_PASSWORD, MSEC_RELEASE_TICK_MS: "200" },
    });
    url = con.url;
    token = await tokenFor(url, "admin", ADMIN_PASSWORD);
    operatorToken = await userToken(url, token, OPERATOR, "operator");
    await userToken(url, token, VIEWER, "viewer");
    for (const tag of ["t1", "t2"]) {
      const bytes = await tarGz(echoPackage({ tag, healthTimeoutMs: 3000 }));
      await uploadArtifact(url, operatorToken, SERVICE, "package", bytes);
    }
    browser = await launchBrowser();
    admin = (await openPage(browser, problems)).page;
    await admin.goto(url);
    await logIn(admin, "admin", ADMIN_PASSWORD);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(agents.map((a) => a.stop().catch(() => null)));
    for (const root of Object.values(roots)) killServices(root);
    await stopConsole(con);
    for (const d of [dir, ...Object.values(roots)])
      if (d) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it("enrolls two agents with join tokens made on the Machines page, and labels one", async () => {
    await admin.getByRole("link", { name: "Machines" }).click();
    await admin.getByRole("heading", { name: "Machines", level: 1 }).waitFor();
    await admin.getByText("No machines yet.").waitFor();
    const joinTokens: string[] = [];
    for (const m of MACHINES) {
      await admin.getByLabel("Labels").fill("zone=sz");
      await admin.getByLabel("Note").fill(m);
      await admin.getByRole("button", { name: "Create token" }).click();
      const secret = admin.getByTestId("new-token").locator("code").first();
      let joinToken = "";
      await until("a new join token on the page", async () => {
        joinToken = ((await secret.textContent()) ?? "").trim();
        return joinToken !== "" && joinToken !== joinTokens.at(-1);
      });
      expect(joinToken).toMatch(/^msecj_/);
      joinTokens.push(joinToken);
    }
    // Real agents, each on its own root, enroll with the tokens shown once.
    await Promise.all(
      MACHINES.map(async (name, i) => {
        roots[name] = mkdtempSync(join(tmpdir(), `msec-mr-${name}-`));
        agents.push(
          await startAgentProcess({
            consoleUrl: url,
            root: roots[name] as string,
            joinToken: joinTokens[i] as string,
            name,
          }),
        );
      }),
    );

    await admin.getByRole("button", { name: "Refresh" }).click();
    const machines = admin.getByTestId("machines");
    for (const m of MACHINES) {
      await machines
        .getByRole("row")
        .filter({ hasText: m })
        .filter({ hasText: "online" })
        .waitFor();
      await admin.getByTestId("join-tokens").getByRole("row").filter({ hasText: m }).waitFor();
    }
    await admin.getByRole("button", { name: "Labels of web-1" }).click();
    const dialog = admin.getByRole("dialog", { name: "Labels of web-1" });
    await dialog.getByLabel("Labels").fill("zone=sz, tier=web");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    await machines
      .getByRole("row")
      .filter({ hasText: "web-1" })
      .filter({ hasText: "tier=web" })
      .waitFor();
  });

  it("shows what the agents run once a first release (through the API) has put v1 on both", async () => {
    const first = await draftPlan({
      type: "full",
      versions: { package: 1 },
      targets: { kind: "machines", machines: [...MACHINES] },
      gate: { healthSeconds: 0 },
    });
    const exec = await call(url, "POST", `/releases/${first}/execute`, { token: operatorToken });
    expect(exec.status).toBe(200);
    await until(
      "release #1 succeeded",
      async () => (await release(1)).state === "succeeded",
      45_000,
    );
    await running(1);

    await admin.getByRole("button", { name: "Refresh" }).click();
    const machines = admin.getByTestId("machines");
    for (const m of MACHINES) {
      await machines
        .getByRole("row")
        .filter({ hasText: m })
        .filter({ hasText: SERVICE })
        .filter({ hasText: "healthy" })
        .filter({ hasText: "v1" })
        .waitFor();
    }
    await admin.screenshot({ path: screenshotPath("machines"), fullPage: true });
  });

  it("plans a two-batch release in the wizard, follows it live to succeeded, rolls it back", async () => {
    const { page } = await openPage(browser as Browser, problems);
    await page.goto(url);
    await logInLater(page, OPERATOR, `${OPERATOR}-password`);
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).__msecNoReload = true;
    });
    await page.getByRole("link", { name: "Releases" }).click();
    await page.getByTestId("releases").getByRole("row").filter({ hasText: "succeeded" }).waitFor();
    await page.getByRole("link", { name: "New release" }).click();
    await page.getByRole("heading", { name: "New release plan" }).waitFor();

    // 1. What: the service, a full package release, package v2 (the newest comes first).
    await page.getByLabel("Service").fill(SERVICE);
    await page.getByLabel("Full package").check();
    const pkg = page.getByLabel("package", { exact: true });
    await pkg.locator("option", { hasText: "v2" }).waitFor({ state: "attached" });
    await pkg.selectOption({ index: 1 });
    await page.getByRole("button", { name: "Next" }).click();
    // 2. Where: both machines (the ones that run the service come first).
    for (const m of MACHINES) await page.getByLabel(m, { exact: true }).check();
    await page.getByRole("button", { name: "Next" }).click();
    // 3. Batches: the default is one machine, then the rest; a short health gate.
    expect(await page.getByLabel("Size of batch 1").inputValue()).toBe("machines");
    expect(await page.getByLabel("Size of batch 2").inputValue()).toBe("rest");
    await page.getByLabel("Healthy for (s)").fill("1");
    await page.getByRole("button", { name: "Next" }).click();
    // 4. Review.
    const review = page.getByTestId("review");
    await review.getByText("machines: web-1, web-2").waitFor();
    await review.getByText("package v2").waitFor();
    await review.getByText("1 machine(s) → the rest").waitFor();
    await page.screenshot({ path: screenshotPath("release-wizard") });
    await page.getByRole("button", { name: "Save and execute" }).click();

    // The plan's page follows it without a reload: running, then succeeded.
    await page.getByRole("heading", { name: `Release #2: ${SERVICE}` }).waitFor();
    const state = page.getByTestId("release-state");
    await state.getByText("running", { exact: true }).waitFor({ timeout: 10_000 });
    await state.getByText("succeeded", { exact: true }).waitFor({ timeout: 45_000 });
    const batch = (i: number) => page.getByTestId(`batch-${i}`);
    await batch(0).getByText("web-1").waitFor();
    await batch(1).getByText("web-2").waitFor();
    for (const i of [0, 1]) await batch(i).getByText("done", { exact: true }).waitFor();
    for (const m of MACHINES) {
      await page
        .getByTestId("steps")
        .getByRole("row")
        .filter({ hasText: m })
        .filter({ hasText: "v1 → v2" })
        .waitFor();
    }
    await running(2);
    // Batch 2 started only once batch 1's machine was done and its gate held.
    const plan = await release(2);
    expect(plan.batches.map((b) => b.machines)).toEqual([["web-1"], ["web-2"]]);
    const [s1, s2] = plan.steps;
    expect(Date.parse(s2?.startedAt ?? "")).toBeGreaterThanOrEqual(
      Date.parse(s1?.endedAt ?? "") + 900,
    );
    await page.screenshot({ path: screenshotPath("release"), fullPage: true });

    await state.getByRole("button", { name: "Roll back" }).click();
    const dialog = page.getByRole("dialog", { name: "Roll back release #2?" });
    await dialog.getByText("goes back to the versions it ran before").waitFor();
    await dialog.getByRole("button", { name: "Roll back" }).click();
    await dialog.waitFor({ state: "detached" });
    await state.getByText("rolled back", { exact: true }).waitFor({ timeout: 45_000 });
    await running(1);
    for (const m of MACHINES) {
      await page
        .getByTestId("steps")
        .getByRole("row")
        .filter({ hasText: m })
        .filter({ hasText: "v2 → v1" })
        .waitFor();
    }
    await page.screenshot({ path: screenshotPath("release-rolled-back"), fullPage: true });

    await page.getByRole("link", { name: "Releases", exact: true }).first().click();
    await page
      .getByTestId("releases")
      .getByRole("row")
      .filter({ hasText: "rolled back" })
      .waitFor();
    await page.getByLabel("State").selectOption({ label: "draft" });
    await page.getByText("No release plans.").waitFor();
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).__msecNoReload)).toBe(
      true,
    );
    await page.context().close();
  });

  it("shows a viewer no action on a draft (the API refuses: 403), and the list in Chinese", async () => {
    const id = await draftPlan({
      type: "code",
      versions: { package: 2 },
      targets: { kind: "labels", labels: { tier: "web" } },
      note: "for later",
    });
    // An operator is offered Execute on it.
    await admin.goto(`${url}/#/releases/${id}`);
    await admin.getByTestId("release-state").getByRole("button", { name: "Execute" }).waitFor();

    const { context, page } = await openPage(browser as Browser, problems);
    try {
      await page.goto(url);
      await logInLater(page, VIEWER, `${VIEWER}-password`);
      await page.getByRole("link", { name: "Machines" }).click();
      await page.getByTestId("machines").getByText("web-2").waitFor();
      expect(await page.getByRole("button", { name: /Labels|Remove|Create token/ }).count()).toBe(
        0,
      );
      expect(await page.getByText("Join tokens").count()).toBe(0);

      await page.getByRole("link", { name: "Releases" }).click();
      expect(await page.getByRole("link", { name: "New release" }).count()).toBe(0);
      await page
        .getByTestId("releases")
        .getByRole("link", { name: `Release ${id}` })
        .click();
      await page.getByTestId("release-state").getByText("draft", { exact: true }).waitFor();
      await page.getByText("for later").waitFor();
      expect(
        await page.getByRole("button", { name: /Execute|Pause|Resume|Abort|Roll back/ }).count(),
      ).toBe(0);
      const refused = await callFromPage(page, "POST", `/releases/${id}/execute`);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: { code: "permission_denied" } });
      expect((await release(id)).state).toBe("draft");

      await page.getByRole("link", { name: "Releases", exact: true }).first().click();
      await page.getByLabel("Language").selectOption({ label: "简体中文" });
      await page.getByRole("heading", { name: "发布", level: 1 }).waitFor();
      const list = page.getByTestId("releases");
      await list.getByRole("columnheader", { name: "状态" }).waitFor();
      await list
        .getByRole("row")
        .filter({ hasText: "已回滚" })
        .filter({ hasText: "完整包" })
        .waitFor();
      await list
        .getByRole("row")
        .filter({ hasText: "草稿" })
        .filter({ hasText: "仅代码" })
        .waitFor();
      await list.getByRole("row").filter({ hasText: "成功" }).waitFor();
      await page.screenshot({ path: screenshotPath("releases-zh-CN") });
    } finally {
      await context.close();
    }
  });

  it("raised no script errors or CSP violations", () => {
    expect(problems).toEqual([]);
  });
});
