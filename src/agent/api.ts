import { errorFromBody, MsecError } from "../core/errors.js";
import type { ArtifactKind } from "../core/schemas/artifact.js";
import {
  DesiredState,
  type EnrollRequest,
  EnrollResponse,
  ServiceCredentialResponse,
  type StateReport,
} from "../core/schemas/machine.js";
import { ConsoleApi } from "../runtime/naming/console-api.js";

/** Longest artifact the agent downloads (the console's upload ceiling). */
const MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024;

async function send(
  url: string,
  init: RequestInit & { timeoutMs: number; signal?: AbortSignal },
): Promise<Response> {
  const signals = [AbortSignal.timeout(init.timeoutMs)];
  if (init.signal) signals.push(init.signal);
  try {
    return await fetch(url, { ...init, signal: AbortSignal.any(signals) });
  } catch (e) {
    if (init.signal?.aborted) throw new MsecError("canceled", "request cancelled", { cause: e });
    const why = (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : "";
    throw new MsecError(
      "unavailable",
      `console unreachable (${new URL(url).origin}): ${(e as Error).message}${why ? `: ${why}` : ""}`,
      { cause: e },
    );
  }
}

async function failure(res: Response): Promise<MsecError> {
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return errorFromBody(res.status, body);
}

/** `POST /api/v1/machines/enroll` with a join token (no credential yet). */
export async function enrollMachine(
  consoleUrl: string,
  req: EnrollRequest,
): Promise<EnrollResponse> {
  const base = `${consoleUrl.replace(/\/+$/, "")}/api/v1`;
  const res = await send(`${base}/machines/enroll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(req),
    timeoutMs: 15_000,
  });
  if (!res.ok) throw await failure(res);
  return EnrollResponse.parse(await res.json());
}

/** The console calls of an enrolled agent, with its machine credential. */
export class AgentApi {
  /** For the name-service calls (register, deregister, heartbeats). */
  readonly naming: ConsoleApi;
  private readonly base: string;

  constructor(
    consoleUrl: string,
    private readonly credential: string,
  ) {
    this.naming = new ConsoleApi(consoleUrl, credential);
    this.base = this.naming.base;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...extra, authorization: `Bearer ${this.credential}` };
  }

  /** The desired-state long-poll: at once when past `after`, else within `waitMs`. */
  async desired(after: number, waitMs: number, signal?: AbortSignal): Promise<DesiredState> {
    const res = await send(`${this.base}/machines/self/desired?after=${after}&waitMs=${waitMs}`, {
      headers: this.headers(),
      timeoutMs: waitMs + 15_000,
      ...(signal ? { signal } : {}),
    });
    if (!res.ok) throw await failure(res);
    return DesiredState.parse(await res.json());
  }

  /** A new read-only credential for the service processes (replaces the last one). */
  async serviceCredential(): Promise<string> {
    const res = await send(`${this.base}/machines/self/service-credential`, {
      method: "POST",
      headers: this.headers(),
      timeoutMs: 10_000,
    });
    if (!res.ok) throw await failure(res);
    return ServiceCredentialResponse.parse(await res.json()).credential;
  }

  async report(report: StateReport): Promise<void> {
    const res = await send(`${this.base}/machines/self/state`, {
      method: "PUT",
      headers: this.headers({ "content-type": "application/json" }),
      body: JSON.stringify(report),
      timeoutMs: 10_000,
    });
    if (!res.ok) throw await failure(res);
    await res.arrayBuffer();
  }

  /** The bytes of one artifact version (verified by the caller before any use). */
  async download(service: string, kind: ArtifactKind, version: number): Promise<Buffer> {
    const path = `/artifacts/${encodeURIComponent(service)}/${kind}/${version}/content`;
    const res = await send(`${this.base}${path}`, { headers: this.headers(), timeoutMs: 120_000 });
    if (!res.ok) throw await failure(res);
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > MAX_DOWNLOAD_BYTES) {
      await res.body?.cancel();
      throw new MsecError(
        "payload_too_large",
        `${service} ${kind} ${version} is ${declared} bytes`,
      );
    }
    return Buffer.from(await res.arrayBuffer());
  }
}
