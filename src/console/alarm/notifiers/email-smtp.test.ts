/**
 * The e-mail receiver end to end: the real `nodemailer` client (the default transport)
 * against a real `smtp-server` on 127.0.0.1 that requires AUTH PLAIN/LOGIN over a plain
 * connection (no STARTTLS), like a local relay. The conformance suite in
 * notifiers.test.ts fakes the transport; this proves the real one.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EmailConfig, emailNotifier } from "./email.js";
import { SAMPLE_MESSAGE } from "./testing.js";

// The same grouped message the conformance suite sends (non-ASCII in subject and body).
const message = SAMPLE_MESSAGE;

const USER = "msec";
const PASSWORD = "s3cret-pass";
/** A recipient the server refuses at RCPT TO. */
const REFUSED = "nobody@test";

interface Received {
  mailFrom: string;
  rcptTo: string[];
  user: string | undefined;
  raw: string;
}

/** Header block and body of a raw message; folded header lines are unfolded. */
function splitMessage(raw: string): { headers: Map<string, string>; body: string } {
  const at = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, at).replace(/\r\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(at + 4) };
}

/** RFC 2047 encoded words (=?UTF-8?Q|B?...?=), joined where only white space parts them. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, "$1$2")
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_all, _charset, enc: string, data: string) =>
      enc.toUpperCase() === "B"
        ? Buffer.from(data, "base64").toString("utf8")
        : decodeQP(data.replace(/_/g, " ")),
    );
}

function decodeQP(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i] ?? "", "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The text body as the sender wrote it, whatever transfer encoding nodemailer chose. */
function decodeBody(body: string, encoding: string | undefined): string {
  const enc = (encoding ?? "7bit").toLowerCase();
  const text =
    enc === "quoted-printable"
      ? decodeQP(body)
      : enc === "base64"
        ? Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8")
        : body;
  return text.replace(/\r\n/g, "\n");
}

describe("email receiver over real SMTP (nodemailer → smtp-server)", () => {
  let server: SMTPServer;
  let port: number;
  const received: Received[] = [];

  const config = (
    over: Partial<EmailConfig["smtp"]> = {},
    to = ["oncall@test", "backup@test"],
  ) => ({
    smtp: { host: "127.0.0.1", port, secure: false, user: USER, password: PASSWORD, ...over },
    from: "msec@test",
    to,
  });

  beforeAll(async () => {
    server = new SMTPServer({
      secure: false,
      disabledCommands: ["STARTTLS"],
      allowInsecureAuth: true,
      authOptional: false,
      authMethods: ["PLAIN", "LOGIN"],
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 500,
      onAuth(auth, _session, cb) {
        if (auth.username === USER && auth.password === PASSWORD) cb(null, { user: USER });
        else cb(Object.assign(new Error("Authentication failed"), { responseCode: 535 }));
      },
      onRcptTo(address, _session, cb) {
        if (address.address === REFUSED) {
          cb(Object.assign(new Error("No such user here"), { responseCode: 550 }));
        } else cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const from = session.envelope.mailFrom;
          received.push({
            mailFrom: from ? from.address : "",
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            user: session.user,
            raw: Buffer.concat(chunks).toString("utf8"),
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    port = (server.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    received.length = 0;
  });

  it("delivers one mail with the envelope, headers and body the receiver promises", async () => {
    await emailNotifier(config()).send(message);

    expect(received).toHaveLength(1);
    const [mail] = received as [Received];
    expect(mail.user).toBe(USER);
    expect(mail.mailFrom).toBe("msec@test");
    expect(mail.rcptTo).toEqual(["oncall@test", "backup@test"]);

    const { headers, body } = splitMessage(mail.raw);
    expect(headers.get("from")).toBe("msec@test");
    expect(headers.get("to")).toBe("oncall@test, backup@test");
    const subject = decodeWords(headers.get("subject") ?? "");
    expect(subject).toBe(`[msec] ${message.summary}`);
    expect(subject).toContain("Login.Auth");
    expect(subject).toContain("logins fell 60%");
    expect(headers.get("content-type")).toMatch(/^text\/plain; charset=utf-8/i);

    const text = decodeBody(body, headers.get("content-transfer-encoding"));
    expect(text).toContain("[FIRING] critical Login.Auth: logins fell 60%");
    expect(text).toContain("fires at ±50%");
    expect(text).toContain("alarm #4, rule #2");
    expect(text).toContain("minute: 2026-01-15T10:30:00.000Z");
    // The body ends with the message as JSON after the signature line, intact.
    expect(JSON.parse(text.split("\n-- \n")[1] ?? "")).toEqual(message);
  });

  it("rejects a wrong password with the server's answer, and sends nothing", async () => {
    const started = Date.now();
    const send = emailNotifier(config({ password: "wrong" })).send(message);
    await expect(send).rejects.toThrow(
      /^SMTP 127\.0\.0\.1:\d+: Invalid login: 535 Authentication failed/,
    );
    expect(received).toHaveLength(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("rejects when the server refuses the recipient", async () => {
    const send = emailNotifier(config({}, [REFUSED])).send(message);
    await expect(send).rejects.toThrow(/^SMTP 127\.0\.0\.1:\d+: .*550 No such user here/);
    expect(received).toHaveLength(0);
  });

  it("rejects when nothing listens on the port", async () => {
    const closed = new SMTPServer({ disabledCommands: ["STARTTLS"], logger: false });
    const free = await new Promise<number>((resolve) =>
      closed.listen(0, "127.0.0.1", () => resolve((closed.server.address() as AddressInfo).port)),
    );
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(emailNotifier(config({ port: free })).send(message)).rejects.toThrow(
      new RegExp(`^SMTP 127\\.0\\.0\\.1:${free}: .*ECONNREFUSED`),
    );
  });
});
