import { z } from "zod";
import { ROLES } from "../roles.js";
import { Limit, Timestamp } from "./common.js";

export const Role = z.enum(ROLES);

export const Username = z
  .string()
  .regex(
    /^[a-z][a-z0-9._-]{1,31}$/,
    "must be 2-32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter",
  );

export const Password = z
  .string()
  .min(8, "must be at least 8 characters")
  .max(256, "must be at most 256 characters");

export const LoginRequest = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const SessionInfo = z.object({
  username: z.string(),
  role: Role,
  mustChangePassword: z.boolean(),
  /** How this request was authenticated. */
  via: z.enum(["session", "token"]),
  /** Present for cookie sessions: send it back as `X-CSRF-Token` on every change. */
  csrfToken: z.string().optional(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const User = z.object({
  username: z.string(),
  role: Role,
  mustChangePassword: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type User = z.infer<typeof User>;

export const CreateUserRequest = z.object({
  username: Username,
  password: Password,
  role: Role.default("viewer"),
  /** The admin chose this password: by default the user must pick their own at first login. */
  mustChangePassword: z.boolean().default(true),
});
export type CreateUserRequest = z.infer<typeof CreateUserRequest>;

export const UpdateUserRequest = z.object({ role: Role });
export type UpdateUserRequest = z.infer<typeof UpdateUserRequest>;

export const SetPasswordRequest = z.object({
  password: Password,
  /** Required when changing one's own password. */
  currentPassword: z.string().max(256).optional(),
});
export type SetPasswordRequest = z.infer<typeof SetPasswordRequest>;

export const TokenName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w.@:-]+$/, "may hold letters, digits and . _ - @ : only");

export const ApiToken = z.object({
  id: z.number().int(),
  name: z.string(),
  username: z.string(),
  role: Role,
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;

export const CreateTokenRequest = z.object({
  name: TokenName,
  /** Narrow the token below its user's role; never wider. */
  role: Role.optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

export const CreatedToken = ApiToken.extend({
  /** The secret, shown once: only its hash is stored. */
  token: z.string(),
});
export type CreatedToken = z.infer<typeof CreatedToken>;

export const TokenListQuery = z.object({
  all: z.enum(["true", "false"]).default("false"),
});

export const AuditOutcome = z.enum(["ok", "denied", "failed"]);

export const AuditEntry = z.object({
  id: z.number().int(),
  at: Timestamp,
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  sourceIp: z.string(),
  outcome: AuditOutcome,
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = z.object({
  limit: Limit,
  /** Entries with an id below this one (for paging back in time). */
  before: z.coerce.number().int().positive().optional(),
  actor: z.string().max(64).optional(),
  action: z.string().max(64).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;
