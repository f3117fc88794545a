import { errorFromBody, MsecError } from "../../core/errors.js";

/** The few console API calls the runtime makes (registration, heartbeats, watch). */
export class ConsoleApi {
  readonly base: string;
  constructor(
    consoleUrl: string,
    private readonly token: string | undefined,
  ) {
    this.base = `${consoleUrl.replace(/\/+$/, "")}/api/v1`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, authorization: `Bearer ${this.token}` } : extra;
  }

  async request(method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: this.headers(body === undefined ? {} : { "content-type": "application/json" }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new MsecError(
        "unavailable",
        `console at ${this.base} unreachable: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const text = await res.text();
    const json = text ? safeJson(text) : undefined;
    if (!res.ok) throw errorFromBody(res.status, json);
    return json;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
