import { useEffect, useState } from "preact/hooks";

/** Pages live in the URL fragment (`#/users`), so moving between them never reloads. */
export type Route = "home" | "users" | "audit" | "password" | "unknown";

const PATHS: Record<string, Route> = {
  "": "home",
  "/": "home",
  "/users": "users",
  "/audit": "audit",
  "/password": "password",
};

export function href(route: Exclude<Route, "unknown">): string {
  return route === "home" ? "#/" : `#/${route}`;
}

function current(): Route {
  const path = location.hash.replace(/^#/, "").split("?")[0] ?? "";
  return PATHS[path] ?? "unknown";
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function navigate(route: Exclude<Route, "unknown">): void {
  location.hash = href(route);
}
