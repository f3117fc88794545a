/** A small HTTP helper for API tests: JSON in, status + JSON out, a cookie jar of one. */
export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered
  body: any;
  headers: Headers;
}

export async function call(
  base: string,
  method: string,
  path: string,
  opts: {
    body?: unknown;
    rawBody?: string;
    token?: string;
    cookie?: string;
    csrf?: string;
    contentType?: string;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined || opts.rawBody !== undefined)
    headers["content-type"] = opts.contentType ?? "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers["x-csrf-token"] = opts.csrf;
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    ...(opts.rawBody !== undefined
      ? { body: opts.rawBody }
      : opts.body !== undefined
        ? { body: JSON.stringify(opts.body) }
        : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** Log in through the API like a browser: returns the session cookie and CSRF token. */
export async function login(
  base: string,
  username: string,
  password: string,
): Promise<{ cookie: string; csrf: string }> {
  const r = await call(base, "POST", "/auth/login", { body: { username, password } });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
  const cookie = r.headers.get("set-cookie")?.split(";")[0] ?? "";
  return { cookie, csrf: r.body.csrfToken };
}

/** An API token for a user, made through a browser-style session. */
export async function tokenFor(
  base: string,
  username: string,
  password: string,
  name = "test",
): Promise<string> {
  const s = await login(base, username, password);
  const r = await call(base, "POST", "/tokens", { body: { name }, cookie: s.cookie, csrf: s.csrf });
  if (r.status !== 201) throw new Error(`token failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** Create a user (as the given admin token) and return an API token of theirs. */
export async function userToken(
  base: string,
  adminToken: string,
  username: string,
  role: "viewer" | "operator" | "admin",
): Promise<string> {
  const password = `${username}-password`;
  const r = await call(base, "POST", "/users", {
    token: adminToken,
    body: { username, password, role },
  });
  if (r.status !== 201)
    throw new Error(`creating ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return tokenFor(base, username, password);
}
