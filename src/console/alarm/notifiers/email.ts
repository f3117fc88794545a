/**
 * E-mail receiver: one mail per message over SMTP. The SMTP client is the maintained
 * `nodemailer` package, loaded when the first mail goes out; this module only needs the
 * small `SmtpTransport` face of it, so tests (and other clients) can stand in.
 *
 * ```ts
 * await emailNotifier({ smtp: { host: "smtp.example", port: 587, secure: false },
 *   from: "msec@example.com", to: ["oncall@example.com"] }).send(message);
 * ```
 */
import type { AlarmMessage } from "../../../core/schemas/alarm.js";
import type { Notifier } from "./notifier.js";

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string | undefined;
  password?: string | undefined;
}

export interface SmtpMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export interface SmtpTransport {
  sendMail(mail: SmtpMail): Promise<void>;
}

export type SmtpTransportFactory = (smtp: SmtpSettings) => Promise<SmtpTransport>;

export interface EmailConfig {
  smtp: SmtpSettings;
  from: string;
  to: string[];
}

export function emailNotifier(
  cfg: EmailConfig,
  opts: { transport?: SmtpTransportFactory } = {},
): Notifier {
  const factory = opts.transport ?? nodemailerTransport;
  return {
    async send(message: AlarmMessage) {
      const transport = await factory(cfg.smtp);
      const { subject, text } = renderEmail(message);
      try {
        await transport.sendMail({ from: cfg.from, to: cfg.to, subject, text });
      } catch (e) {
        throw new Error(
          `SMTP ${cfg.smtp.host}:${cfg.smtp.port}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    },
  };
}

/** Subject and plain-text body of a message's mail. */
export function renderEmail(message: AlarmMessage): { subject: string; text: string } {
  const lines = message.alarms.map((a) => {
    const where = a.instance === "*" ? a.service : `${a.service} ${a.instance}`;
    const when = a.resolvedAt
      ? `fired ${a.firedAt}, resolved ${a.resolvedAt}`
      : `fired ${a.firedAt}`;
    return `[${a.event.toUpperCase()}] ${a.severity} ${where}: ${a.message}\n    ${when}; alarm #${a.alarmId}, rule #${a.ruleId}`;
  });
  const subject = `[msec] ${message.summary}`.slice(0, 200);
  const text = `${lines.join("\n")}\n\nminute: ${message.minute}\n\n-- \n${JSON.stringify(message, null, 2)}\n`;
  return { subject, text };
}

/** Name kept in a variable: the package is optional, and type-checking must not need it. */
const NODEMAILER = "nodemailer";

interface NodemailerModule {
  createTransport(options: Record<string, unknown>): {
    sendMail(mail: Record<string, unknown>): Promise<unknown>;
    close(): void;
  };
}

/** SMTP through `nodemailer`, if installed; otherwise every send fails with what to install. */
export const nodemailerTransport: SmtpTransportFactory = async (smtp) => {
  let mod: NodemailerModule;
  try {
    const loaded = (await import(NODEMAILER)) as { default?: NodemailerModule } & NodemailerModule;
    mod = loaded.default ?? loaded;
  } catch {
    throw new Error(
      "e-mail receivers need the nodemailer package, which is not installed (npm install nodemailer)",
    );
  }
  return {
    async sendMail(mail) {
      const t = mod.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      });
      try {
        await t.sendMail({ ...mail });
      } finally {
        t.close();
      }
    },
  };
};
