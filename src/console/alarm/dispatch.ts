/**
 * Sending: each grouped message goes to its receiver in the background; the outcome
 * is recorded in the history of every alarm in the message (`notified` or
 * `notify_failed` with the reason). A failing or slow receiver never holds up evaluation.
 */
import type { Logger } from "../../core/log.js";
import type { AlarmMessage, ReceiverSpec } from "../../core/schemas/alarm.js";
import type { Store } from "../store/index.js";
import { recordAlarmEvents } from "./alarm-repo.js";
import { createNotifier, type Notifier, type NotifierOptions } from "./notifiers/index.js";
import { errorText } from "./notifiers/notifier.js";

export type NotifierFactory = (receiver: ReceiverSpec, signal: AbortSignal) => Notifier;

export interface Dispatcher {
  dispatch(messages: readonly AlarmMessage[], receivers: ReadonlyMap<string, ReceiverSpec>): void;
  /** Resolves when every send started so far has finished. */
  idle(): Promise<void>;
  /** Give sends in flight `graceMs`, then cut their retries short, and wait for them. */
  drain(graceMs: number): Promise<void>;
}

export function createDispatcher(deps: {
  store: Store;
  log: Logger;
  now(): number;
  notifierFor?: NotifierFactory;
  notifierOptions?: Omit<NotifierOptions, "signal">;
}): Dispatcher {
  const abort = new AbortController();
  const inflight = new Set<Promise<void>>();
  const notifierFor: NotifierFactory =
    deps.notifierFor ?? ((r, signal) => createNotifier(r, { ...deps.notifierOptions, signal }));

  async function sendOne(message: AlarmMessage, receiver: ReceiverSpec | undefined): Promise<void> {
    let error: string | null = null;
    try {
      if (!receiver) throw new Error(`no receiver named "${message.receiver}"`);
      await notifierFor(receiver, abort.signal).send(message);
    } catch (e) {
      error = errorText(e);
    }
    const log = { receiver: message.receiver, service: message.service, minute: message.minute };
    if (error === null)
      deps.log.info({ ...log, alarms: message.alarms.length }, `sent ${message.summary}`);
    else deps.log.warn({ ...log, error }, `could not notify ${message.receiver}: ${error}`);
    const at = deps.now();
    try {
      for (const a of message.alarms) {
        await recordAlarmEvents(deps.store.db, a.alarmId, at, [
          error === null
            ? { type: "notified", details: { receiver: message.receiver, event: a.event } }
            : {
                type: "notify_failed",
                details: { receiver: message.receiver, event: a.event, error },
              },
        ]);
      }
    } catch (err) {
      deps.log.error({ err }, "could not record a notification's outcome");
    }
  }

  return {
    dispatch(messages, receivers) {
      for (const m of messages) {
        const p = sendOne(m, receivers.get(m.receiver)).finally(() => inflight.delete(p));
        inflight.add(p);
      }
    },
    async idle() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    async drain(graceMs) {
      if (inflight.size === 0) return;
      const abortTimer = setTimeout(
        () => abort.abort(new Error("the console is stopping")),
        graceMs,
      );
      // A transport that ignores the abort (SMTP) must not hold the shutdown for long.
      let giveUp: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        giveUp = setTimeout(resolve, graceMs + 1000);
      });
      try {
        await Promise.race([Promise.allSettled([...inflight]), bound]);
      } finally {
        clearTimeout(abortTimer);
        clearTimeout(giveUp);
      }
      if (inflight.size > 0)
        deps.log.warn({ sends: inflight.size }, "stopped with notices still being sent");
    },
  };
}
