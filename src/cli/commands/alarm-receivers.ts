import type { Command } from "commander";
import { z } from "zod";
import { Receiver, type ReceiverInput } from "../../core/schemas/alarm.js";
import { collect } from "../args.js";
import { apiClient, globals } from "../context.js";
import { UsageError } from "../errors.js";
import { readStdin } from "../input.js";
import { printJson, printTable } from "../output.js";

/** `msec alarm receiver …`: who hears of alarms (webhooks, commands, e-mail). */
export function registerReceiverCommands(alarm: Command): void {
  const receiver = alarm
    .command("receiver")
    .description("who hears of alarms: webhooks, commands, e-mail (admin)");

  receiver
    .command("add")
    .description(
      "add a receiver: --webhook URL [--secret-stdin] | --command -- PROGRAM ARGS... | --email TO... --smtp HOST:PORT --from ADDR",
    )
    .argument("<name>", "receiver name, used in rules")
    .argument("[argv...]", "with --command: the program and its arguments (after --)")
    .option("--webhook <url>", "POST each message as JSON to this URL")
    .option("--secret-stdin", "read the webhook signing secret from standard input")
    .option("--command", "run a program with each message as JSON on its stdin")
    .option("--email <to>", "mail each message to this address (repeat for several)", collect)
    .option("--smtp <host:port>", "SMTP server for --email")
    .option("--smtp-secure", "TLS from the start (port 465)")
    .option("--smtp-user <user>", "SMTP login")
    .option("--smtp-password-stdin", "read the SMTP password from standard input")
    .option("--from <addr>", "sender address for --email")
    .action(
      async (
        name: string,
        argv: string[],
        f: {
          webhook?: string;
          secretStdin?: boolean;
          command?: boolean;
          email?: string[];
          smtp?: string;
          smtpSecure?: boolean;
          smtpUser?: string;
          smtpPasswordStdin?: boolean;
          from?: string;
        },
        cmd: Command,
      ) => {
        const kinds = [f.webhook !== undefined, f.command === true, f.email !== undefined].filter(
          Boolean,
        ).length;
        if (kinds !== 1) throw new UsageError("give exactly one of --webhook, --command, --email");
        if (argv.length > 0 && !f.command)
          throw new UsageError(`unexpected arguments: ${argv.join(" ")}`);
        let body: ReceiverInput;
        if (f.webhook !== undefined) {
          const secret = f.secretStdin ? await readStdin() : undefined;
          body = {
            name,
            kind: "webhook",
            webhook: { url: f.webhook, ...(secret ? { secret } : {}) },
          };
        } else if (f.command) {
          if (argv.length === 0)
            throw new UsageError(
              "--command needs the program after --, e.g. --command -- /usr/local/bin/sms --to 123",
            );
          body = { name, kind: "command", command: { argv } };
        } else {
          const m = /^(.+):(\d{1,5})$/.exec(f.smtp ?? "");
          if (!m) throw new UsageError("--email needs --smtp HOST:PORT");
          if (!f.from) throw new UsageError("--email needs --from ADDRESS");
          const password = f.smtpPasswordStdin ? await readStdin() : undefined;
          body = {
            name,
            kind: "email",
            email: {
              smtp: {
                host: m[1] ?? "",
                port: Number(m[2]),
                secure: f.smtpSecure ?? false,
                ...(f.smtpUser ? { user: f.smtpUser } : {}),
                ...(password ? { password } : {}),
              },
              from: f.from,
              to: f.email ?? [],
            },
          };
        }
        const r = await (await apiClient(cmd)).post("/alarm-receivers", body, Receiver);
        process.stdout.write(`added ${r.kind} receiver ${r.name}\n`);
      },
    );

  receiver
    .command("list")
    .description("list receivers (secrets are never shown)")
    .action(async (_f: unknown, cmd: Command) => {
      const { receivers } = await (await apiClient(cmd)).get(
        "/alarm-receivers",
        z.object({ receivers: z.array(Receiver) }),
      );
      if (globals(cmd).json) {
        printJson(receivers);
        return;
      }
      printTable(
        receivers.map((r) => ({
          name: r.name,
          kind: r.kind,
          target:
            r.kind === "webhook"
              ? `${r.webhook.url}${r.webhook.hasSecret ? " (signed)" : ""}`
              : r.kind === "command"
                ? r.command.argv.join(" ")
                : `${r.email.to.join(",")} via ${r.email.smtp.host}:${r.email.smtp.port}`,
          updatedAt: r.updatedAt,
        })),
        ["name", "kind", "target", "updatedAt"],
      );
    });

  receiver
    .command("rm")
    .description("remove a receiver (refused while a rule uses it)")
    .argument("<name>", "receiver name")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      await (await apiClient(cmd)).delete(`/alarm-receivers/${encodeURIComponent(name)}`);
      process.stdout.write(`removed receiver ${name}\n`);
    });

  receiver
    .command("test")
    .description("send a test message to a receiver now")
    .argument("<name>", "receiver name")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      const r = await (await apiClient(cmd)).post(
        `/alarm-receivers/${encodeURIComponent(name)}/test`,
        {},
        z.object({ delivered: z.boolean(), error: z.string().optional() }),
      );
      if (!r.delivered) throw new Error(`the test message did not reach ${name}: ${r.error}`);
      process.stdout.write(`test message delivered to ${name}\n`);
    });
}
