import { useEffect, useState } from "preact/hooks";

/**
 * Pages live in the URL fragment (`#/services/Demo.Echo?range=24h`), so moving between
 * them never reloads the document, and every view (a chart's range, a tab) can be linked.
 */
export type AlarmTab = "firing" | "history" | "rules" | "silences";

export type Route =
  | { page: "home" }
  | { page: "users" }
  | { page: "audit" }
  | { page: "password" }
  | { page: "services" }
  | { page: "service"; name: string }
  | { page: "monitor"; service: string | undefined; query: URLSearchParams }
  | { page: "alarms"; tab: AlarmTab; query: URLSearchParams }
  | { page: "rule"; id: number | "new"; query: URLSearchParams }
  | { page: "machines" }
  | { page: "releases"; query: URLSearchParams }
  | { page: "release"; id: number }
  | { page: "release-new"; query: URLSearchParams }
  | { page: "unknown" };

/** Top-level sections, for the navigation bar. */
export type Section =
  | "home"
  | "services"
  | "monitor"
  | "alarms"
  | "machines"
  | "releases"
  | "users"
  | "audit"
  | "password";

export function sectionOf(route: Route): Section | undefined {
  switch (route.page) {
    case "service":
      return "services";
    case "rule":
      return "alarms";
    case "release":
    case "release-new":
      return "releases";
    case "unknown":
      return undefined;
    default:
      return route.page;
  }
}

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}

const seg = encodeURIComponent;

/** Links to every page. */
export const to = {
  home: () => "#/",
  users: () => "#/users",
  audit: () => "#/audit",
  password: () => "#/password",
  services: () => "#/services",
  service: (name: string) => `#/services/${seg(name)}`,
  monitor: (service?: string, query?: Query) =>
    withQuery(service ? `/monitor/${seg(service)}` : "/monitor", query),
  alarms: (tab: AlarmTab = "firing", query?: Query) =>
    withQuery(tab === "firing" ? "/alarms" : `/alarms/${tab}`, query),
  rule: (id: number | "new", query?: Query) => withQuery(`/alarms/rules/${id}`, query),
  machines: () => "#/machines",
  releases: (query?: Query) => withQuery("/releases", query),
  release: (id: number) => `#/releases/${id}`,
  newRelease: (query?: Query) => withQuery("/releases/new", query),
};

export function sectionHref(section: Section): string {
  return to[section]();
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  let parts: string[];
  try {
    parts = path
      .split("/")
      .filter((p) => p !== "")
      .map((p) => decodeURIComponent(p));
  } catch {
    return { page: "unknown" };
  }
  const [a, b, c, ...rest] = parts;
  if (rest.length > 0) return { page: "unknown" };
  if (a === undefined) return { page: "home" };
  if ((a === "users" || a === "audit" || a === "password" || a === "machines") && b === undefined) {
    return { page: a };
  }
  if (a === "services") {
    if (b === undefined) return { page: "services" };
    if (c === undefined) return { page: "service", name: b };
  }
  if (a === "releases" && c === undefined) {
    if (b === undefined) return { page: "releases", query };
    if (b === "new") return { page: "release-new", query };
    if (/^\d+$/.test(b)) return { page: "release", id: Number(b) };
  }
  if (a === "monitor" && c === undefined) return { page: "monitor", service: b, query };
  if (a === "alarms") {
    if (b === undefined) return { page: "alarms", tab: "firing", query };
    if (b === "rules" && c !== undefined) {
      if (c === "new") return { page: "rule", id: "new", query };
      if (/^\d+$/.test(c)) return { page: "rule", id: Number(c), query };
    }
    if ((b === "history" || b === "rules" || b === "silences") && c === undefined) {
      return { page: "alarms", tab: b, query };
    }
  }
  return { page: "unknown" };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

/** Go to a link made by `to`: a new history entry, no reload. */
export function navigate(link: string): void {
  location.hash = link.replace(/^#/, "");
}

/** Change the current page's query without a new history entry (e.g. a filter typed in). */
export function replaceLink(link: string): void {
  history.replaceState(history.state, "", link);
  dispatchEvent(new HashChangeEvent("hashchange"));
}
