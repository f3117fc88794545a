import type { Command } from "commander";
import { z } from "zod";
import { Timestamp } from "../../core/schemas/common.js";
import { Instance, ServiceSummary, ServiceView } from "../../core/schemas/naming.js";
import { intArg } from "../args.js";
import { apiClient, globals } from "../context.js";
import { printJson, printTable } from "../output.js";

/** `GET /services/:name`: the instance list plus the service's own fields. */
const ServiceDetail = ServiceView.extend({ description: z.string(), createdAt: Timestamp });

const svcPath = (name: string) => `/services/${encodeURIComponent(name)}`;
const instPath = (service: string, addr: string) =>
  `${svcPath(service)}/instances/${encodeURIComponent(addr)}`;

function printInstances(instances: readonly Instance[]): void {
  printTable(
    instances.map((i) => ({
      ...i,
      state: i.disabled ? "disabled" : i.protected ? "protected" : "listed",
    })),
    ["addr", "weight", "health", "state", "labels", "lastSeenAt"],
  );
}

/** `msec service …` and `msec instance …`: the name service. */
export function registerServiceCommands(program: Command): void {
  const service = program
    .command("service")
    .description("services known to the name service (list, add, remove)");

  service
    .command("list")
    .description("list services with their instance counts")
    .action(async (_f: unknown, cmd: Command) => {
      const { services } = await (await apiClient(cmd)).get(
        "/services",
        z.object({ services: z.array(ServiceSummary) }),
      );
      if (globals(cmd).json) printJson(services);
      else printTable(services, ["name", "instances", "healthy", "description", "createdAt"]);
    });

  service
    .command("show")
    .description("show a service and its instances")
    .argument("<name>", "service name, L1.L2")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      const s = await (await apiClient(cmd)).get(svcPath(name), ServiceDetail);
      if (globals(cmd).json) {
        printJson(s);
        return;
      }
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out(`service:     ${s.name}`);
      out(`description: ${s.description || "-"}`);
      out(`created:     ${s.createdAt}`);
      out(`revision:    ${s.revision}`);
      if (s.protected) {
        out("protected:   yes — instances past their TTL are kept by the protection threshold");
      }
      out("");
      printInstances(s.instances);
    });

  service
    .command("add")
    .description("create a service (registering an instance also creates it)")
    .argument("<name>", "service name, L1.L2 (e.g. Login.Auth)")
    .option("--description <text>", "what the service does")
    .action(async (name: string, flags: { description?: string }, cmd: Command) => {
      const s = await (await apiClient(cmd)).post(
        "/services",
        { name, ...(flags.description !== undefined ? { description: flags.description } : {}) },
        ServiceSummary,
      );
      process.stdout.write(`created service ${s.name}\n`);
    });

  service
    .command("rm")
    .description("remove a service; refused while it has instances unless --force")
    .argument("<name>", "service name")
    .option("--force", "remove it with its instances")
    .action(async (name: string, flags: { force?: boolean }, cmd: Command) => {
      await (await apiClient(cmd)).delete(`${svcPath(name)}${flags.force ? "?force=true" : ""}`);
      process.stdout.write(`removed service ${name}\n`);
    });

  const instance = program
    .command("instance")
    .description("instances of a service: list, weight, disable, enable (operator)");

  instance
    .command("list")
    .description("list the instances of a service")
    .argument("<service>", "service name")
    .action(async (name: string, _f: unknown, cmd: Command) => {
      const v = await (await apiClient(cmd)).get(`${svcPath(name)}/instances`, ServiceView);
      if (globals(cmd).json) printJson(v.instances);
      else printInstances(v.instances);
    });

  instance
    .command("weight")
    .description("override an instance's weight (kept when it re-registers)")
    .argument("<service>", "service name")
    .argument("<addr>", "instance ip:port")
    .argument("<weight>", "0-10000 (0: no traffic)", intArg(0, 10_000))
    .action(async (name: string, addr: string, weight: number, _f: unknown, cmd: Command) => {
      const i = await (await apiClient(cmd)).call(
        "PUT",
        `${instPath(name, addr)}/weight`,
        { weight },
        Instance,
      );
      process.stdout.write(`weight of ${i.addr} in ${i.service} is now ${i.weight}\n`);
    });

  for (const [verb, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    instance
      .command(verb)
      .description(
        disabled
          ? "stop sending traffic to an instance (it stays listed, flagged disabled)"
          : "send traffic to a disabled instance again",
      )
      .argument("<service>", "service name")
      .argument("<addr>", "instance ip:port")
      .action(async (name: string, addr: string, _f: unknown, cmd: Command) => {
        const i = await (await apiClient(cmd)).post(
          `${instPath(name, addr)}/${verb}`,
          {},
          Instance,
        );
        process.stdout.write(
          disabled
            ? `disabled ${i.addr} in ${i.service}: clients send it no traffic\n`
            : `enabled ${i.addr} in ${i.service}: it takes traffic again\n`,
        );
      });
  }
}
