import { type Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import {
  CreatedJoinToken,
  JoinTokenView,
  type MachineView,
  MachineView as MachineViewSchema,
  type RunningVersions,
} from "../../core/schemas/machine.js";
import { intArg, labelArg } from "../args.js";
import { apiClient, globals } from "../context.js";
import { UsageError } from "../errors.js";
import { printJson, printTable } from "../output.js";

const enc = encodeURIComponent;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600` (seconds), `90s`, `30m`, `12h`, `1d` → seconds. */
export function ttlArg(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value);
  const seconds = m ? Number(m[1]) * (UNITS[m[2] || "s"] ?? 0) : 0;
  if (!m || seconds <= 0) {
    throw new InvalidArgumentError("must be seconds (3600) or a duration like 30m, 12h or 1d.");
  }
  return seconds;
}

/** `k=v` → [k, v]; `k=` (empty value) → [k, null] when `allowRemove`; else what is wrong. */
export function labelPair(value: string, allowRemove: boolean): [string, string | null] | string {
  const i = value.indexOf("=");
  if (i <= 0) return `"${value}" is not a label: write name=value`;
  const v = value.slice(i + 1);
  if (v === "" && !allowRemove) return `label ${value.slice(0, i)} needs a value: write name=value`;
  return [value.slice(0, i), v === "" ? null : v];
}

/** `7`, `7 c3,4 l2 p1`: the versions a process runs, short. */
export function versionsText(v: RunningVersions): string {
  const parts = [`${v.package}`];
  if (v.configs.length) parts.push(`c${v.configs.join(",")}`);
  if (v.libs.length) parts.push(`l${v.libs.join(",")}`);
  if (v.plugins.length) parts.push(`p${v.plugins.join(",")}`);
  return parts.join(" ");
}

const labelsText = (l: Record<string, string>) =>
  Object.entries(l)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "-";

/** The human view of `msec machine show`. */
export function describeMachine(m: MachineView): string[] {
  const out = [
    `machine:   ${m.name}`,
    `hostname:  ${m.hostname || "-"}`,
    `labels:    ${labelsText(m.labels)}`,
    `agent:     ${m.agentVersion || "-"}`,
    `enrolled:  ${m.enrolledAt}`,
    `last seen: ${m.lastSeenAt ?? "never"} (${m.online ? "online" : "offline"})`,
    `revision:  desired ${m.desiredRevision}, applied ${m.appliedRevision}${
      m.appliedRevision < m.desiredRevision ? " (changes pending)" : ""
    }`,
    "",
  ];
  const services = [
    ...new Set([...m.deployments.map((d) => d.service), ...m.services.map((s) => s.service)]),
  ].sort();
  if (services.length === 0) {
    out.push("no services deployed");
    return out;
  }
  for (const name of services) {
    const d = m.deployments.find((x) => x.service === name);
    const s = m.services.find((x) => x.service === name);
    out.push(`${name}`);
    out.push(
      d
        ? `  desired: ${versionsText({
            package: d.package.version,
            configs: d.configs.map((a) => a.version),
            libs: d.libs.map((a) => a.version),
            plugins: d.plugins.map((a) => a.version),
          })}, weight ${d.weight}`
        : "  desired: (removed)",
    );
    const r = s?.running;
    out.push(
      r
        ? `  running: ${versionsText(r.versions)}, ${r.state}, pid ${r.pid ?? "-"}, ${r.addr ?? "-"}, ${r.restarts} restarts, since ${r.since}`
        : "  running: -",
    );
    if (s?.target) {
      out.push(
        `  target:  ${versionsText(s.target.versions)}, ${s.target.phase}${s.target.error ? `: ${s.target.error}` : ""}`,
      );
    }
  }
  return out;
}

/** `msec machine …`: enrolled machines and join tokens. */
export function registerMachineCommands(program: Command): void {
  const machine = program
    .command("machine")
    .description("machines: join tokens, enrolled machines, labels (list, show, label, rm)");

  machine
    .command("token")
    .description("create a one-time join token for a new machine (admin); shown once")
    .option("--label <name=value>", "label the machine starts with (repeatable)", labelArg)
    .option("--ttl <duration>", "how long the token works: 3600, 30m, 12h, 1d (default 1d)", ttlArg)
    .option("--note <text>", "what the token is for")
    .action(
      async (
        flags: { label?: Record<string, string>; ttl?: number; note?: string },
        cmd: Command,
      ) => {
        const t = await (await apiClient(cmd)).post(
          "/machines/tokens",
          {
            ...(flags.label ? { labels: flags.label } : {}),
            ...(flags.ttl !== undefined ? { ttlSeconds: flags.ttl } : {}),
            ...(flags.note !== undefined ? { note: flags.note } : {}),
          },
          CreatedJoinToken,
        );
        if (globals(cmd).json) {
          printJson(t);
          return;
        }
        const url = globals(cmd).console;
        process.stdout.write(
          `${t.token}\n(join token ${t.id}, works once, until ${t.expiresAt}; shown once)\n\n` +
            `On the new machine, run:\n  msec agent --console ${url} --token ${t.token} --root /srv/msec\n`,
        );
      },
    );

  machine
    .command("tokens")
    .description("list join tokens (admin)")
    .action(async (_f: unknown, cmd: Command) => {
      const { tokens } = await (await apiClient(cmd)).get(
        "/machines/tokens",
        z.object({ tokens: z.array(JoinTokenView) }),
      );
      if (globals(cmd).json) {
        printJson(tokens);
        return;
      }
      const now = Date.now();
      printTable(
        tokens.map((t) => ({
          ...t,
          state: t.usedAt ? "used" : Date.parse(t.expiresAt) <= now ? "expired" : "unused",
          labels: labelsText(t.labels),
        })),
        ["id", "state", "usedBy", "labels", "createdBy", "createdAt", "expiresAt", "note"],
      );
    });

  machine
    .command("revoke-token")
    .description("revoke a join token nobody has used yet (admin)")
    .argument("<id>", "token id (from `msec machine tokens`)", intArg(1, Number.MAX_SAFE_INTEGER))
    .action(async (id: number, _f: unknown, cmd: Command) => {
      await (await apiClient(cmd)).delete(`/machines/tokens/${id}`);
      process.stdout.write(`revoked join token ${id}\n`);
    });

  machine
    .command("list")
    .description("list enrolled machines")
    .action(async (_f: unknown, cmd: Command) => {
      const { machines } = await (await apiClient(cmd)).get(
        "/machines",
        z.object({ machines: z.array(MachineViewSchema) }),
      );
      if (globals(cmd).json) {
        printJson(machines);
        return;
      }
      printTable(
        machines.map((m) => ({
          ...m,
          state: m.online ? "online" : "offline",
          labels: labelsText(m.labels),
          services: m.deployments.length,
          revision: `${m.appliedRevision}/${m.desiredRevision}`,
        })),
        [
          "name",
          "state",
          "hostname",
          "labels",
          "services",
          "revision",
          "lastSeenAt",
          "agentVersion",
        ],
      );
    });

  machine
    .command("show")
    .description("show a machine: labels, last contact, deployments and what runs")
    .argument("<name>", "machine name")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      const m = await (await apiClient(cmd)).get(`/machines/${enc(name)}`, MachineViewSchema);
      if (globals(cmd).json) printJson(m);
      else process.stdout.write(`${describeMachine(m).join("\n")}\n`);
    });

  machine
    .command("label")
    .description("set labels on a machine (operator); `name=` removes a label")
    .argument("<name>", "machine name")
    .argument("<labels...>", "name=value to set, name= to remove")
    .action(async (name: string, pairs: string[], _f: unknown, cmd: Command) => {
      const labels = Object.fromEntries(
        pairs.map((p) => {
          const pair = labelPair(p, true);
          if (typeof pair === "string") throw new UsageError(pair);
          return pair;
        }),
      );
      const m = await (await apiClient(cmd)).patch(
        `/machines/${enc(name)}/labels`,
        { labels },
        MachineViewSchema,
      );
      if (globals(cmd).json) printJson(m.labels);
      else process.stdout.write(`labels of ${m.name}: ${labelsText(m.labels)}\n`);
    });

  machine
    .command("rm")
    .description("remove a machine (admin): revokes its credential and drops its deployments")
    .argument("<name>", "machine name")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      await (await apiClient(cmd)).delete(`/machines/${enc(name)}`);
      process.stdout.write(
        `removed machine ${name}: its agent's credential no longer works\n` +
          "(its service processes keep running until the agent is stopped)\n",
      );
    });
}
