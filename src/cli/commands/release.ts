import { type Command, InvalidArgumentError, Option } from "commander";
import { MsecError } from "../../core/errors.js";
import type { RunningVersions } from "../../core/schemas/machine.js";
import {
  type BatchSize,
  type CreateReleaseRequest,
  ReleaseList,
  ReleaseState,
  type ReleaseTargets,
  ReleaseType,
  ReleaseView,
} from "../../core/schemas/release.js";
import { intArg, labelArg } from "../args.js";
import { apiClient, globals } from "../context.js";
import { UsageError } from "../errors.js";
import { printJson, printTable } from "../output.js";

const idArg = intArg(1, Number.MAX_SAFE_INTEGER);
const ACTIONS = ["execute", "pause", "resume", "abort", "rollback"] as const;
/** States a plan stays in until someone acts: `show --watch` stops at these. */
const FINAL: readonly ReleaseState[] = ["succeeded", "failed", "aborted", "rolled_back", "draft"];

/** `3,4` → [3, 4]. */
export function versionsArg(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1))
    throw new InvalidArgumentError("must be version numbers separated by commas, e.g. 3,4.");
  return parts.map(Number);
}

/** `1,10%,rest` → [{machines:1}, {percent:10}, {rest:true}]. */
export function batchesArg(value: string): BatchSize[] {
  return value.split(",").map((raw) => {
    const s = raw.trim();
    if (s === "rest") return { rest: true };
    const pct = /^(\d{1,3})%$/.exec(s);
    if (pct && Number(pct[1]) >= 1 && Number(pct[1]) <= 100) return { percent: Number(pct[1]) };
    if (/^\d+$/.test(s) && Number(s) >= 1) return { machines: Number(s) };
    throw new InvalidArgumentError(
      `"${s}" is not a batch size: write a number of machines, a percentage (10%) or rest, e.g. 1,10%,rest.`,
    );
  });
}

interface PlanFlags {
  machines?: string;
  percent?: number;
  label?: Record<string, string>;
  type: ReleaseType;
  package?: number;
  config?: number[];
  lib?: number[];
  plugin?: number[];
  batches?: BatchSize[];
  health?: number;
  approval?: boolean;
  canaryWeight?: number;
  timeout?: number;
  note?: string;
  execute?: boolean;
}

export function planBody(service: string, f: PlanFlags): CreateReleaseRequest {
  const given = [f.machines !== undefined, f.percent !== undefined, f.label !== undefined];
  if (given.filter(Boolean).length !== 1)
    throw new UsageError("name the targets with exactly one of --machines, --percent, --label");
  const targets: ReleaseTargets =
    f.machines !== undefined
      ? { kind: "machines", machines: f.machines.split(",").map((m) => m.trim()) }
      : f.percent !== undefined
        ? { kind: "percent", percent: f.percent }
        : { kind: "labels", labels: f.label ?? {} };
  return {
    service,
    targets,
    type: f.type,
    versions: {
      ...(f.package !== undefined ? { package: f.package } : {}),
      ...(f.config ? { configs: f.config } : {}),
      ...(f.lib ? { libs: f.lib } : {}),
      ...(f.plugin ? { plugins: f.plugin } : {}),
    },
    batches: f.batches ?? [{ rest: true }],
    gate: { healthSeconds: f.health ?? 10, approval: f.approval ?? false },
    ...(f.canaryWeight !== undefined ? { canaryWeight: f.canaryWeight } : {}),
    deployTimeoutSeconds: f.timeout ?? 120,
    note: f.note ?? "",
  };
}

const versionsText = (v: RunningVersions | null) => {
  if (v === null) return "(none)";
  const parts = [`p${v.package}`];
  if (v.configs.length) parts.push(`c${v.configs.join(",")}`);
  if (v.libs.length) parts.push(`l${v.libs.join(",")}`);
  if (v.plugins.length) parts.push(`g${v.plugins.join(",")}`);
  return parts.join(" ");
};

/** Machines on the new versions (their latest step a deploy that succeeded) of all targeted. */
export function machinesDone(r: ReleaseView): { done: number; total: number } {
  const latest = new Map<string, ReleaseView["steps"][number]>();
  for (const s of r.steps) latest.set(s.machine, s);
  const done = [...latest.values()].filter(
    (s) => s.action === "deploy" && s.state === "succeeded",
  ).length;
  return { done, total: r.batches.reduce((n, b) => n + b.machines.length, 0) };
}

export function progressLine(r: ReleaseView, width = 10): string {
  const { done, total } = machinesDone(r);
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const current = [...r.batches].reverse().find((b) => b.phase !== "pending");
  const batch = current ? `  batch ${current.index + 1}/${r.batches.length} ${current.phase}` : "";
  const state = r.pausedFor ? `${r.state} (${r.pausedFor})` : r.state;
  return `${bar} ${done}/${total} machines${batch}  ${state}${r.error ? `: ${r.error}` : ""}`;
}

const when = (t: string | null) => t ?? "-";

function printRelease(r: ReleaseView): void {
  const s = r.spec;
  const versions = Object.entries(s.versions)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(",") : v}`)
    .join(", ");
  const lines = [
    `release:  #${r.id} ${r.service} (${r.type}: ${versions})`,
    `state:    ${r.state}${r.pausedFor ? ` (${r.pausedFor})` : ""}${r.error ? ` — ${r.error}` : ""}`,
    `gate:     healthy ${s.gate.healthSeconds}s${s.gate.approval ? " + approval" : ""}${r.gateUntil ? ` (until ${r.gateUntil})` : ""}; canary weight ${s.canaryWeight ?? 100}; timeout ${s.deployTimeoutSeconds}s`,
    `created:  ${r.createdAt} by ${r.createdBy}`,
    `started:  ${when(r.startedAt)}`,
    `ended:    ${when(r.endedAt)}`,
  ];
  if (r.note) lines.push(`note:     ${r.note}`);
  if (r.batches.length > 0) lines.push(`progress: ${progressLine(r)}`);
  process.stdout.write(`${lines.join("\n")}\n\nBATCHES\n`);
  printTable(
    r.batches.map((b) => ({ batch: b.index + 1, phase: b.phase, machines: b.machines.join(", ") })),
    ["batch", "phase", "machines"],
  );
  process.stdout.write("\nSTEPS\n");
  printTable(
    r.steps.map((st) => ({
      ...st,
      batch: st.batch + 1,
      versions: `${versionsText(st.from)} → ${versionsText(st.to)}`,
    })),
    ["id", "batch", "machine", "action", "state", "versions", "startedAt", "endedAt", "error"],
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function watch(cmd: Command, id: number): Promise<ReleaseView> {
  const client = await apiClient(cmd);
  const tty = process.stdout.isTTY === true;
  let last = "";
  for (;;) {
    const r = await client.get(`/releases/${id}`, ReleaseView);
    const line = `release #${r.id} ${progressLine(r, tty ? 20 : 10)}`;
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
    if (FINAL.includes(r.state)) {
      if (tty) process.stdout.write("\n");
      return r;
    }
    await sleep(1000);
  }
}

/** `msec release …`: release plans and their actions. */
export function registerReleaseCommands(program: Command): void {
  const release = program
    .command("release")
    .description(
      "gray release plans: plan, list, show (--watch), execute, pause, resume, abort, rollback",
    );

  release
    .command("plan")
    .description("create a release plan (a draft; --execute starts it); prints the plan's id")
    .argument("<service>", "service name, L1.L2")
    .option("--machines <names>", "target these machines (comma-separated)")
    .option("--percent <n>", "target n% of the machines running the service", intArg(1, 100))
    .option(
      "--label <name=value>",
      "target machines with this label (repeatable: all must match)",
      labelArg,
    )
    .addOption(
      new Option("--type <type>", "what changes")
        .choices(ReleaseType.options)
        .makeOptionMandatory(),
    )
    .option("--package <version>", "package version", intArg(1, Number.MAX_SAFE_INTEGER))
    .option("--config <versions>", "config file versions, e.g. 3,4", versionsArg)
    .option("--lib <versions>", "library versions", versionsArg)
    .option("--plugin <versions>", "plugin versions", versionsArg)
    .option("--batches <sizes>", "batch sizes, e.g. 1,10%,rest (default: all at once)", batchesArg)
    .option(
      "--health <seconds>",
      "each batch must stay healthy this long (default 10)",
      intArg(0, 3600),
    )
    .option("--approval", "wait for `msec release resume` after each batch but the last")
    .option(
      "--canary-weight <w>",
      "traffic weight of moved instances until the plan ends",
      intArg(0, 10_000),
    )
    .option(
      "--timeout <seconds>",
      "longest a machine may take to deploy (default 120)",
      intArg(5, 3600),
    )
    .option("--note <text>", "why")
    .option("--execute", "start it at once")
    .action(async (service: string, flags: PlanFlags, cmd: Command) => {
      const client = await apiClient(cmd);
      let r = await client.post("/releases", planBody(service, flags), ReleaseView);
      if (flags.execute) r = await client.post(`/releases/${r.id}/execute`, {}, ReleaseView);
      if (globals(cmd).json) return printJson(r);
      process.stdout.write(`${r.id}\n`);
      process.stderr.write(
        flags.execute
          ? `release #${r.id} is running: ${r.batches.length} batch(es) over ${machinesDone(r).total} machine(s); follow it with \`msec release show ${r.id} --watch\`\n`
          : `release #${r.id} created as a draft; start it with \`msec release execute ${r.id}\`\n`,
      );
    });

  release
    .command("list")
    .description("release plans, newest first")
    .option("--service <name>", "only this service's plans")
    .addOption(
      new Option("--state <state>", "only plans in this state").choices(ReleaseState.options),
    )
    .option("--limit <n>", "how many (1-1000, default 50)", intArg(1, 1000), 50)
    .action(async (flags: { service?: string; state?: string; limit: number }, cmd: Command) => {
      const q = new URLSearchParams({ limit: String(flags.limit) });
      if (flags.service) q.set("service", flags.service);
      if (flags.state) q.set("state", flags.state);
      const { releases } = await (await apiClient(cmd)).get(`/releases?${q}`, ReleaseList);
      if (globals(cmd).json) return printJson(releases);
      printTable(
        releases.map((r) => ({
          ...r,
          state: r.pausedFor ? `${r.state} (${r.pausedFor})` : r.state,
          batches: `${r.batches.filter((b) => b.phase === "done").length}/${r.batches.length}`,
          machines: r.batches.reduce((n, b) => n + b.machines.length, 0),
        })),
        ["id", "service", "type", "state", "batches", "machines", "createdBy", "createdAt", "note"],
      );
    });

  release
    .command("show")
    .description("a plan with its batches and every step; --watch follows it to the end")
    .argument("<id>", "plan id", idArg)
    .option("--watch", "redraw its progress every second until it ends")
    .action(async (id: number, flags: { watch?: boolean }, cmd: Command) => {
      if (flags.watch && !globals(cmd).json) {
        const r = await watch(cmd, id);
        // A script can tell a plan that ended well from one that did not (exit 1).
        if (r.state !== "succeeded" && r.state !== "draft") {
          throw new MsecError(
            "aborted",
            `release #${r.id} ended ${r.state}${r.error ? `: ${r.error}` : ""}`,
          );
        }
        return;
      }
      const r = await (await apiClient(cmd)).get(`/releases/${id}`, ReleaseView);
      if (globals(cmd).json) printJson(r);
      else printRelease(r);
    });

  for (const action of ACTIONS) {
    const what: Record<(typeof ACTIONS)[number], string> = {
      execute: "start a draft plan (targets are resolved now)",
      pause: "start no further step (steps in flight finish)",
      resume: "go on after a pause or an approval gate",
      abort: "stop for good (steps in flight finish; nothing is rolled back)",
      rollback: "return every machine the plan touched to what it had before",
    };
    release
      .command(action)
      .description(what[action])
      .argument("<id>", "plan id", idArg)
      .action(async (id: number, _f: unknown, cmd: Command) => {
        const r = await (await apiClient(cmd)).post(`/releases/${id}/${action}`, {}, ReleaseView);
        if (globals(cmd).json) printJson(r);
        else
          process.stdout.write(
            `release #${r.id}: ${r.state}${r.pausedFor ? ` (${r.pausedFor})` : ""}\n`,
          );
      });
  }
}
