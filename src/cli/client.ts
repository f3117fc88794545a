import type { z } from "zod";
import { errorFromBody, MsecError } from "../core/errors.js";

export interface ClientOptions {
  console: string;
  token?: string | undefined;
  /** Extra headers on every request (a session cookie and its CSRF token, at login). */
  headers?: Record<string, string>;
}

/** A typed client of the console's HTTP API: every answer is checked against core's schemas. */
export class ApiClient {
  readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(opts: ClientOptions) {
    this.base = opts.console.replace(/\/+$/, "");
    this.headers = { ...opts.headers };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
  }

  get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
    return this.call("GET", path, undefined, schema);
  }

  post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.call("POST", path, body, schema);
  }

  patch<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.call("PATCH", path, body, schema);
  }

  /** POST raw bytes (application/octet-stream), e.g. an artifact upload. */
  postBytes<S extends z.ZodType>(path: string, bytes: Uint8Array, schema: S): Promise<z.output<S>> {
    return this.call("POST", path, bytes, schema);
  }

  async put(path: string, body: unknown): Promise<void> {
    await this.raw("PUT", path, body);
  }

  async delete(path: string): Promise<void> {
    await this.raw("DELETE", path, undefined);
  }

  async call<S extends z.ZodType>(
    method: string,
    path: string,
    body: unknown,
    schema: S,
  ): Promise<z.output<S>> {
    const res = await this.raw(method, path, body);
    const parsed = schema.safeParse(await res.json());
    if (!parsed.success) {
      throw new MsecError(
        "internal",
        `unexpected answer from ${method} ${path}: ${parsed.error.issues[0]?.message} (is the console the same version as this CLI?)`,
      );
    }
    return parsed.data;
  }

  /** Send a request; non-2xx answers become MsecErrors carrying the console's code and message. */
  async raw(method: string, path: string, body: unknown): Promise<Response> {
    const url = `${this.base}/api/v1${path}`;
    const headers = { ...this.headers };
    const bytes = body instanceof Uint8Array;
    if (body !== undefined)
      headers["content-type"] = bytes ? "application/octet-stream" : "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(bytes ? { body } : body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new MsecError("unavailable", `cannot reach the console at ${this.base} (${cause})`, {
        cause: e,
      });
    }
    if (!res.ok) {
      let payload: unknown;
      try {
        payload = await res.json();
      } catch {
        payload = undefined;
      }
      throw errorFromBody(res.status, payload);
    }
    return res;
  }
}
