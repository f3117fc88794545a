import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { isMsecError, MsecError } from "../../core/errors.js";
import {
  type DesiredState,
  EnrollRequest,
  type EnrollResponse,
  SERVICE_CREDENTIAL_PREFIX,
  StateReport,
} from "../../core/schemas/machine.js";
import { loadOrCreateSigningKey } from "../artifacts/signing.js";
import { auditRequest } from "../audit/request.js";
import { randomToken, sha256 } from "../auth/secrets.js";
import {
  checkThrottle,
  recordFailure,
  type ThrottlePolicy,
  type ThrottleState,
} from "../auth/throttle.js";
import type { ConsoleContext } from "../context.js";
import { machineOf } from "../http/access.js";
import { parseInput } from "../http/validate.js";
import { getDeployments } from "./deployments.js";
import { desiredRevisionOf, enrollMachine, recordStateReport } from "./repo.js";

/** Longest and default wait of a desired-state long-poll (docs/agent-protocol.md). */
export const MAX_WAIT_MS = 30_000;
export const DEFAULT_WAIT_MS = 25_000;
/**
 * A waiting long-poll re-reads the revision this often: another console replica's
 * change wakes no one here.
 */
export const REREAD_MS = 1000;

/** Failed enrollments (bad, used or expired join tokens) an address may make per minute. */
export const ENROLL_POLICY: ThrottlePolicy = { limit: 10, windowMs: 60_000 };

/** Names that would be shadowed by the static routes under /machines. */
export const RESERVED_MACHINE_NAMES: ReadonlySet<string> = new Set(["self", "tokens", "enroll"]);

const DesiredQuery = z.object({
  after: z.coerce.number().int().nonnegative().optional(),
  waitMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(DEFAULT_WAIT_MS),
});

/**
 * The routes agents call: enrollment with a join token, then (with the machine
 * credential) the desired-state long-poll and the state report.
 */
export function agentRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const enrollFailures: ThrottleState = new Map();
  // Waiting long-polls end (with the current state) when the console closes, so the
  // server does not wait up to 30 s for them.
  const closing = new AbortController();
  app.addHook("preClose", async () => {
    closing.abort();
  });

  app.post("/machines/enroll", { config: { access: "public" } }, async (req, reply) => {
    const now = ctx.now();
    const keys = [{ key: `ip:${req.ip}`, policy: ENROLL_POLICY }];
    const verdict = checkThrottle(enrollFailures, keys, now);
    if (verdict.blocked) {
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      await auditRequest(req, ctx.store.db, now, {
        action: "machine.enroll",
        target: "machine:?",
        outcome: "denied",
        details: { reason: "rate limited" },
      });
      throw new MsecError(
        "resource_exhausted",
        `too many failed enrollments from this address; try again in ${seconds} s`,
        { headers: { "retry-after": String(seconds) } },
      );
    }
    const body = parseInput(EnrollRequest, req.body, "body");
    if (RESERVED_MACHINE_NAMES.has(body.name)) {
      throw new MsecError(
        "invalid_argument",
        `body.name: "${body.name}" is reserved (it names an API path); pick another --name`,
        { field: "body.name" },
      );
    }
    // Outside the transaction: on SQLite the store has one connection, which the
    // transaction holds.
    const key = await loadOrCreateSigningKey(ctx.store.db, now);
    let credential: string;
    try {
      credential = await ctx.store.transaction(async (tx) => {
        const r = await enrollMachine(tx, body, now);
        await auditRequest(req, tx, now, {
          action: "machine.enroll",
          target: `machine:${body.name}`,
          actor: `machine:${body.name}`,
          details: {
            joinToken: r.tokenId,
            hostname: body.hostname,
            agentVersion: body.agentVersion,
            labels: r.machine.labels,
          },
        });
        return r.credential;
      });
    } catch (e) {
      if (isMsecError(e) && e.code === "unauthenticated") {
        recordFailure(enrollFailures, keys, now);
        await auditRequest(req, ctx.store.db, now, {
          action: "machine.enroll",
          target: `machine:${body.name}`,
          outcome: "failed",
          details: { reason: e.message },
        });
      }
      throw e;
    }
    const answer: EnrollResponse = {
      machine: body.name,
      credential,
      signingKey: key.publicKeyPem,
    };
    return reply.status(201).send(answer);
  });

  // The read-only credential for the service processes this agent runs; a new call
  // replaces the old one (processes started with it then lose their reads).
  app.post(
    "/machines/self/service-credential",
    { config: { access: "machine" } },
    async (req, reply) => {
      const m = machineOf(req);
      if (m.scope !== "agent") {
        throw new MsecError("permission_denied", "only the agent may make this credential");
      }
      const now = ctx.now();
      const credential = randomToken(SERVICE_CREDENTIAL_PREFIX);
      await ctx.store.transaction(async (tx) => {
        await tx
          .updateTable("machines")
          .set({ service_credential_hash: sha256(credential) })
          .where("id", "=", m.machineId)
          .execute();
        await auditRequest(req, tx, now, {
          action: "machine.service_credential",
          target: `machine:${m.machineName}`,
        });
      });
      return reply.status(201).send({ credential });
    },
  );

  app.get("/machines/self/desired", { config: { access: "machine" } }, async (req, reply) => {
    const m = machineOf(req);
    const { after, waitMs } = parseInput(DesiredQuery, req.query, "query");
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once("close", onClose);
    try {
      const signal = AbortSignal.any([gone.signal, closing.signal]);
      const revision = await waitForRevision(ctx, m.machineId, after ?? -1, waitMs, signal);
      if (revision === undefined) {
        throw new MsecError(
          "unauthenticated",
          `machine ${m.machineName} was removed from the console; enroll it again with a new join token`,
        );
      }
      // Read after the revision: the deployments are at least as new as the revision
      // says, so an agent never takes old deployments for a new revision.
      const state: DesiredState = {
        machine: m.machineName,
        revision,
        deployments: await getDeployments(ctx.store.db, m.machineId),
      };
      return state;
    } finally {
      reply.raw.off("close", onClose);
    }
  });

  // Machine traffic (the agent's heartbeat): not audited.
  app.put(
    "/machines/self/state",
    { config: { access: "machine" }, bodyLimit: 4 * 1024 * 1024 },
    async (req, reply) => {
      const m = machineOf(req);
      const report = parseInput(StateReport, req.body, "body");
      await recordStateReport(ctx.store.db, m.machineId, report, ctx.now());
      return reply.status(204).send();
    },
  );
}

/**
 * The machine's desired revision once it is past `after`, or when `waitMs` ran out or
 * the signal fired; undefined when the machine was removed.
 */
export async function waitForRevision(
  ctx: Pick<ConsoleContext, "store" | "desired">,
  machineId: number,
  after: number,
  waitMs: number,
  signal: AbortSignal,
): Promise<number | undefined> {
  // Real time, not ctx.now(): tests may run the console on a fake clock.
  const deadline = performance.now() + waitMs;
  for (;;) {
    const left = deadline - performance.now();
    const last = left <= 0 || signal.aborted;
    // Listen before reading, so a change committed between the read and the wait
    // still wakes this poll at once. (Not on the last round: a wait given an
    // already-aborted signal would hold its listener until its timer.)
    const tick = new AbortController();
    const woke = last
      ? undefined
      : ctx.desired.wait(
          machineId,
          Math.min(REREAD_MS, left),
          AbortSignal.any([signal, tick.signal]),
        );
    try {
      const revision = await desiredRevisionOf(ctx.store.db, machineId);
      if (woke === undefined || revision === undefined || revision > after) return revision;
      await woke;
    } finally {
      tick.abort();
    }
  }
}
