import type { Command } from "commander";

/** `msec agent --console URL --token JOIN_TOKEN --root DIR`: the per-machine agent. */
export function registerAgentCommand(_program: Command): void {}
