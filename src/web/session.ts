import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { type Role, roleAtLeast } from "../core/roles.js";
import type { SessionInfo } from "../core/schemas/auth.js";

export const SessionContext = createContext<SessionInfo | undefined>(undefined);

/** Who is signed in, and what their role lets them do. Pages show only what the role can use. */
export function useSession(): { session: SessionInfo | undefined; can: (role: Role) => boolean } {
  const session = useContext(SessionContext);
  return { session, can: (role) => session !== undefined && roleAtLeast(session.role, role) };
}
