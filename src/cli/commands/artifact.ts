import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { type Command, Option } from "commander";
import { MsecError } from "../../core/errors.js";
import { ArtifactKind, ArtifactList, ArtifactView } from "../../core/schemas/artifact.js";
import { apiClient, globals } from "../context.js";
import { printJson, printTable } from "../output.js";

const KINDS = ArtifactKind.options;
const enc = encodeURIComponent;

function kindOption(required: boolean): Option {
  const o = new Option("--kind <kind>", `artifact kind: ${KINDS.join(", ")}`).choices(KINDS);
  return required ? o.makeOptionMandatory() : o;
}

/** `msec artifact …`: the console's artifact store (numbered, signed versions). */
export function registerArtifactCommands(program: Command): void {
  const artifact = program
    .command("artifact")
    .description("artifacts: packages, config files, libraries, plugins (push, list)");

  artifact
    .command("push")
    .description("upload a file as the next version of a service's artifact")
    .argument("<service>", "service name, L1.L2")
    .argument("<file>", "the file to upload")
    .addOption(kindOption(true))
    .option("--note <text>", "what changed in this version")
    .action(
      async (
        service: string,
        file: string,
        flags: { kind: ArtifactKind; note?: string },
        cmd: Command,
      ) => {
        let bytes: Buffer;
        try {
          bytes = await readFile(file);
        } catch (e) {
          throw new MsecError("invalid_argument", `cannot read ${file}: ${(e as Error).message}`);
        }
        const q = new URLSearchParams();
        if (flags.note !== undefined) q.set("note", flags.note);
        if (flags.kind === "config") q.set("name", basename(file));
        const qs = q.toString() ? `?${q.toString()}` : "";
        const a = await (await apiClient(cmd)).postBytes(
          `/artifacts/${enc(service)}/${enc(flags.kind)}${qs}`,
          bytes,
          ArtifactView,
        );
        if (globals(cmd).json) printJson(a);
        else
          process.stdout.write(
            `pushed ${a.service} ${a.kind} version ${a.version} (${a.size} bytes)\nsha256 ${a.sha256}\n`,
          );
      },
    );

  artifact
    .command("list")
    .description("list a service's artifact versions, newest first")
    .argument("<service>", "service name, L1.L2")
    .addOption(kindOption(false))
    .action(async (service: string, flags: { kind?: ArtifactKind }, cmd: Command) => {
      const qs = flags.kind ? `?kind=${enc(flags.kind)}` : "";
      const { artifacts } = await (await apiClient(cmd)).get(
        `/artifacts/${enc(service)}${qs}`,
        ArtifactList,
      );
      if (globals(cmd).json) printJson(artifacts);
      else
        printTable(
          artifacts.map((a) => ({ ...a, sha256: a.sha256.slice(0, 12), name: a.name ?? "" })),
          ["kind", "version", "size", "sha256", "uploadedBy", "uploadedAt", "name", "note"],
        );
    });
}
