import type { Command } from "commander";

/** `msec release …`: release plans and their actions. */
export function registerReleaseCommands(_program: Command): void {}
