import type { Command } from "commander";
import { MsecError } from "../core/errors.js";
import { ApiClient } from "./client.js";
import { savedLogin } from "./credentials.js";

export const DEFAULT_CONSOLE = "http://127.0.0.1:7700";

export interface GlobalOptions {
  console: string;
  token?: string;
  json: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ console?: string; token?: string; json?: boolean }>();
  return {
    console: (o.console ?? DEFAULT_CONSOLE).replace(/\/+$/, ""),
    json: o.json ?? false,
    ...(o.token ? { token: o.token } : {}),
  };
}

/** A client for the chosen console with the token from --token, MSEC_TOKEN or `msec login`. */
export async function apiClient(cmd: Command): Promise<ApiClient> {
  const g = globals(cmd);
  const token = g.token ?? (await savedLogin(g.console))?.token;
  if (!token) {
    throw new MsecError(
      "unauthenticated",
      `not logged in to ${g.console}: run \`msec login\`, or pass --token / MSEC_TOKEN`,
    );
  }
  return new ApiClient({ console: g.console, token });
}
