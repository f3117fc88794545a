import type { Command } from "commander";

/** `msec machine …`: enrolled machines and join tokens. */
export function registerMachineCommands(_program: Command): void {}
