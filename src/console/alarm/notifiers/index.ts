import type { ReceiverSpec } from "../../../core/schemas/alarm.js";
import { commandNotifier } from "./command.js";
import { emailNotifier, type SmtpTransportFactory } from "./email.js";
import type { Notifier } from "./notifier.js";
import { type WebhookOptions, webhookNotifier } from "./webhook.js";

export type { SmtpMail, SmtpTransport, SmtpTransportFactory } from "./email.js";
export type { Notifier } from "./notifier.js";
export { SIGNATURE_HEADER, signBody } from "./webhook.js";

export interface NotifierOptions {
  /** Ends waits and running programs early (the console is stopping). */
  signal?: AbortSignal;
  webhook?: Omit<WebhookOptions, "signal">;
  commandTimeoutMs?: number;
  smtpTransport?: SmtpTransportFactory;
}

/** The notifier for a stored receiver. */
export function createNotifier(receiver: ReceiverSpec, opts: NotifierOptions = {}): Notifier {
  const signal = opts.signal ? { signal: opts.signal } : {};
  switch (receiver.kind) {
    case "webhook":
      return webhookNotifier(receiver.webhook, { ...opts.webhook, ...signal });
    case "command":
      return commandNotifier(receiver.command, {
        ...signal,
        ...(opts.commandTimeoutMs !== undefined ? { timeoutMs: opts.commandTimeoutMs } : {}),
      });
    case "email":
      return emailNotifier(
        receiver.email,
        opts.smtpTransport ? { transport: opts.smtpTransport } : {},
      );
  }
}
