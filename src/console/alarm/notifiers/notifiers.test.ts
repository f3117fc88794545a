/**
 * One conformance suite for every notifier kind (webhook, command, e-mail): each
 * delivers the message whole and once, rejects with a reason when the far end fails,
 * and stays within its bounds. Kind-specific behaviour is tested after the suite.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlarmMessage } from "../../../core/schemas/alarm.js";
import { commandNotifier } from "./command.js";
import { emailNotifier, nodemailerTransport, renderEmail, type SmtpMail } from "./email.js";
import type { Notifier } from "./notifier.js";
import { SAMPLE_MESSAGE } from "./testing.js";
import { SIGNATURE_HEADER, signBody, webhookNotifier } from "./webhook.js";

const message = SAMPLE_MESSAGE;

/** What each kind gives the suite: a working notifier, a failing one, and what arrived. */
interface Harness {
  working(): Notifier;
  failing(): Notifier;
  received(): AlarmMessage[];
  /** Words the failure's error must contain. */
  failure: RegExp;
}

// A local HTTP server that records requests; `status` decides the answers in turn.
interface Hook {
  url: string;
  requests: { headers: IncomingMessage["headers"]; body: string }[];
  answers: number[];
  server: Server;
}

async function startHook(): Promise<Hook> {
  const hook: Hook = { url: "", requests: [], answers: [], server: createServer() };
  hook.server.on("request", (req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString();
    });
    req.on("end", () => {
      hook.requests.push({ headers: req.headers, body });
      const status = hook.answers.shift() ?? 200;
      if (status === 0) return; // never answer: a time-out
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, "127.0.0.1", r));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook/tok3n`;
  return hook;
}

const harnesses: Record<string, () => Promise<Harness & { close(): Promise<void> }>> = {
  async webhook() {
    const ok = await startHook();
    const bad = await startHook();
    bad.answers = [500, 500, 500];
    return {
      working: () => webhookNotifier({ url: ok.url }, { backoffMs: 10 }),
      failing: () => webhookNotifier({ url: bad.url }, { retries: 2, backoffMs: 10 }),
      received: () => ok.requests.map((r) => JSON.parse(r.body) as AlarmMessage),
      failure: /webhook 127\.0\.0\.1:\d+ failed after 3 tries: answered HTTP 500/,
      close: async () => {
        ok.server.closeAllConnections();
        bad.server.closeAllConnections();
        await Promise.all([ok, bad].map((h) => new Promise((r) => h.server.close(r))));
      },
    };
  },
  async command() {
    const dir = mkdtempSync(join(tmpdir(), "msec-notify-"));
    let n = 0;
    const files: string[] = [];
    const copy = "require('fs').writeFileSync(process.argv[1], require('fs').readFileSync(0))";
    return {
      working: () => {
        const file = join(dir, `m${n++}.json`);
        files.push(file);
        return commandNotifier({ argv: [process.execPath, "-e", copy, file] });
      },
      failing: () =>
        commandNotifier({
          argv: [process.execPath, "-e", "process.stderr.write('gateway down'); process.exit(3)"],
        }),
      received: () => files.map((f) => JSON.parse(readFileSync(f, "utf8")) as AlarmMessage),
      failure: /exited with 3: gateway down/,
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  async email() {
    const sent: SmtpMail[] = [];
    const cfg = {
      smtp: { host: "smtp.test", port: 587, secure: false },
      from: "msec@test",
      to: ["oncall@test"],
    };
    return {
      working: () =>
        emailNotifier(cfg, {
          transport: async () => ({
            sendMail: async (m) => {
              sent.push(m);
            },
          }),
        }),
      failing: () =>
        emailNotifier(cfg, {
          transport: async () => ({
            sendMail: async () => {
              throw new Error("550 mailbox unavailable");
            },
          }),
        }),
      // The mail body ends with the message as JSON, after the signature line.
      received: () => sent.map((m) => JSON.parse(m.text.split("\n-- \n")[1] ?? "") as AlarmMessage),
      failure: /SMTP smtp\.test:587: 550 mailbox unavailable/,
      close: async () => undefined,
    };
  },
};

describe.each(Object.keys(harnesses))("notifier conformance [%s]", (kind) => {
  let h: Harness & { close(): Promise<void> };
  beforeAll(async () => {
    h = await (harnesses[kind] as () => Promise<Harness & { close(): Promise<void> }>)();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("delivers the message whole, once per send", async () => {
    await h.working().send(message);
    expect(h.received()).toEqual([message]);
    const second = { ...message, minute: "2026-01-15T10:31:00.000Z" };
    await h.working().send(second);
    expect(h.received()).toEqual([message, second]);
  });

  it("rejects with the reason when the far end fails", async () => {
    const started = Date.now();
    await expect(h.failing().send(message)).rejects.toThrow(h.failure);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("webhook", () => {
  let hook: Hook;
  beforeAll(async () => {
    hook = await startHook();
  });
  afterAll(async () => {
    hook.server.closeAllConnections();
    await new Promise((r) => hook.server.close(r));
  });

  it("signs the body with the secret", async () => {
    hook.requests = [];
    await webhookNotifier({ url: hook.url, secret: "signing-key-1" }).send(message);
    const [req] = hook.requests;
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers[SIGNATURE_HEADER]).toBe(signBody("signing-key-1", req?.body ?? ""));
    expect(req?.headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it("retries 5xx and 429 with growing waits, then succeeds", async () => {
    hook.requests = [];
    hook.answers = [503, 429, 200];
    const started = Date.now();
    await webhookNotifier({ url: hook.url }, { backoffMs: 50 }).send(message);
    expect(hook.requests).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150); // 50 + 100
  });

  it("does not retry a refusal", async () => {
    hook.requests = [];
    hook.answers = [403];
    await expect(
      webhookNotifier({ url: hook.url }, { backoffMs: 10 }).send(message),
    ).rejects.toThrow(/answered HTTP 403/);
    expect(hook.requests).toHaveLength(1);
  });

  it("gives up on a silent server after its time-out, and names only the host", async () => {
    hook.answers = [0, 0];
    const e = await webhookNotifier(
      { url: hook.url },
      { retries: 1, backoffMs: 10, timeoutMs: 100 },
    )
      .send(message)
      .catch((err: Error) => err);
    expect(String(e)).toMatch(/failed after 2 tries/);
    expect(String(e)).not.toContain("tok3n");
  });

  it("stops retrying when aborted", async () => {
    hook.answers = [500, 500, 500, 500];
    const abort = new AbortController();
    const p = webhookNotifier({ url: hook.url }, { backoffMs: 5000, signal: abort.signal }).send(
      message,
    );
    setTimeout(() => abort.abort(new Error("stopping")), 100);
    const started = Date.now();
    await expect(p).rejects.toThrow(/stopped/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("command", () => {
  it("runs no shell: arguments are passed as they are", async () => {
    const dir = mkdtempSync(join(tmpdir(), "msec-notify-"));
    const out = join(dir, "args.json");
    const script =
      "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))";
    await commandNotifier({
      argv: [process.execPath, "-e", script, out, "a; rm -rf /", "$HOME"],
    }).send(message);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(["a; rm -rf /", "$HOME"]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("kills a program that runs too long", async () => {
    const n = commandNotifier(
      { argv: [process.execPath, "-e", "setTimeout(() => {}, 60000)"] },
      { timeoutMs: 200 },
    );
    await expect(n.send(message)).rejects.toThrow(/did not finish within 200 ms/);
  });

  it("reports a program that does not exist", async () => {
    await expect(
      commandNotifier({ argv: ["/nonexistent/sms-gateway"] }).send(message),
    ).rejects.toThrow(/command \/nonexistent\/sms-gateway: spawn .* ENOENT/);
  });

  it("does not mind a program that ignores its stdin", async () => {
    await commandNotifier({ argv: [process.execPath, "-e", "process.exit(0)"] }).send(message);
  });
});

describe("email", () => {
  it("puts the summary in the subject and one line per alarm in the body", () => {
    const { subject, text } = renderEmail(message);
    expect(subject).toBe(`[msec] ${message.summary}`);
    expect(text).toContain("[FIRING] critical Login.Auth: logins fell 60%");
    expect(text).toContain("alarm #4, rule #2");
  });

  it("says what to install when no SMTP client is there", async () => {
    let installed = true;
    try {
      await import("nodemailer" as string);
    } catch {
      installed = false;
    }
    if (installed) return;
    await expect(nodemailerTransport({ host: "h", port: 25, secure: false })).rejects.toThrow(
      /need the nodemailer package.*npm install nodemailer/,
    );
  });
});
