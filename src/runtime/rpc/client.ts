import { performance } from "node:perf_hooks";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { MsecError } from "../../core/errors.js";
import { createLogger, type Logger } from "../../core/log.js";
import { ServiceName } from "../../core/schemas/naming.js";
import { FLAG_COLOR, FLAG_JSON } from "../../core/wire/frame.js";
import {
  type BalancerMode,
  type BalancerPolicy,
  type BalancerState,
  createBalancer,
  type Endpoint,
  pick,
  recordOutcome,
  setEndpoints,
} from "../balancer/index.js";
import { metrics as defaultRegistry, type MetricsRegistry } from "../metrics/registry.js";
import { Resolver } from "../naming/resolver.js";
import { blamesInstance } from "./codes.js";
import { ClientConnection, NotSentError, type Reply } from "./connection.js";
import { currentCall, newTraceId } from "./context.js";
import { RpcMeter } from "./meter.js";
import {
  createRetryBudget,
  depositCall,
  type RetryBudget,
  tryWithdrawRetry,
} from "./retry-budget.js";

export interface ClientOptions {
  /** Fixed instances (`ip:port`) instead of the name service: tests, local development. */
  endpoints?: string[];
  /** Console URL for the name service (default MSEC_CONSOLE). */
  console?: string;
  /** API token (default MSEC_TOKEN). */
  token?: string;
  /** Where the last known instance list is kept (default MSEC_CACHE_DIR or ~/.msec/cache). */
  cacheDir?: string;
  mode?: BalancerMode;
  balancer?: Partial<BalancerPolicy>;
  /** Per-call timeout when the call sets none (default 3000 ms). */
  timeoutMs?: number;
  /** Most attempts for one idempotent call, the first included (default 3). */
  maxAttempts?: number;
  /** Retries may add at most this share of calls (default 0.1) plus a floor per second (default 10). */
  retryBudget?: { ratio?: number; minPerSecond?: number };
  /** Record automatic RPC metrics (default true). */
  metrics?: boolean;
  registry?: MetricsRegistry;
  log?: Logger;
}

export interface CallOptions {
  timeoutMs?: number;
  /** Safe to run twice: failed attempts are retried on another instance. */
  idempotent?: boolean;
  /** For hash mode: calls with the same key go to the same instance. */
  key?: string;
  /** Mark the request colored (logged everywhere on its path); inherited when unset. */
  color?: boolean;
}

/**
 * A client of one service: resolves its instances, balances, retries, reports.
 *
 *   const echo = createClient("Demo.Echo");
 *   const reply = await echo.call("Echo", { text: "hi" }, { idempotent: true });
 */
export function createClient(service: string, opts: ClientOptions = {}): RpcClient {
  return new RpcClient(service, opts);
}

export class RpcClient {
  private readonly balancer: BalancerState;
  private readonly connections = new Map<string, ClientConnection>();
  private readonly resolver: Resolver | undefined;
  private readonly meter: RpcMeter | undefined;
  private readonly budget: RetryBudget;
  private readonly mode: BalancerMode;
  private readonly log: Logger;
  private started: Promise<void> | undefined;
  /** Set once the resolver has a list (or gave up waiting): calls then skip the await. */
  private ready = false;
  private closed = false;

  constructor(
    readonly service: string,
    private readonly opts: ClientOptions = {},
  ) {
    const name = ServiceName.safeParse(service);
    if (!name.success)
      throw new MsecError("invalid_argument", `service: ${name.error.issues[0]?.message}`, {
        field: "service",
      });
    this.log =
      opts.log ??
      createLogger({
        name: `client:${service}`,
        level: (process.env.MSEC_LOG_LEVEL as "info") ?? "info",
      });
    this.balancer = createBalancer(opts.balancer);
    this.mode = opts.mode ?? { kind: "weighted" };
    this.meter =
      opts.metrics === false ? undefined : new RpcMeter(opts.registry ?? defaultRegistry, "client");
    this.budget = createRetryBudget(opts.retryBudget?.ratio, opts.retryBudget?.minPerSecond);
    if (opts.endpoints) {
      setEndpoints(
        this.balancer,
        opts.endpoints.map((addr) => ({ addr, weight: 100, labels: {} })),
        Date.now(),
      );
    } else {
      this.resolver = new Resolver({
        service,
        ...(opts.console ? { console: opts.console } : {}),
        ...(opts.token ? { token: opts.token } : {}),
        ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
        log: this.log,
      });
      this.resolver.onChange((r) => this.setInstances(r.endpoints));
    }
  }

  /** The instances the client routes to now. */
  get endpoints(): readonly Endpoint[] {
    return (
      this.resolver?.resolution.endpoints ??
      this.opts.endpoints?.map((addr) => ({ addr, weight: 100, labels: {} })) ??
      []
    );
  }

  /** The balancer's state, for tests and diagnostics. */
  get balancerState(): BalancerState {
    return this.balancer;
  }

  /** Call a JSON method: `Echo` (on this service) or a full `pkg.Service/Method`. */
  async call<T = unknown>(method: string, request: unknown, opts: CallOptions = {}): Promise<T> {
    const path = method.includes("/") ? method : `${this.service}/${method}`;
    const body = JSON.stringify(request ?? {});
    const reply = await this.invoke(path, FLAG_JSON, body, opts);
    return (reply.length === 0 ? undefined : JSON.parse(reply.toString("utf8"))) as T;
  }

  /** A typed client for a protoc-gen-es service: `client.proto(EchoService).echo({ text })`. */
  proto<S extends DescService>(service: S): ProtoClient<S> {
    const out: Record<string, unknown> = {};
    for (const method of service.methods) {
      const path = `${service.typeName}/${method.name}`;
      out[method.localName] = async (
        request: MessageInitShape<DescMessage>,
        opts: CallOptions = {},
      ) => {
        const body = toBinary(method.input, create(method.input, request));
        const reply = await this.invoke(path, 0, body, opts);
        return fromBinary(method.output, reply);
      };
    }
    return out as ProtoClient<S>;
  }

  /** Close every connection and stop watching the name service. */
  close(): void {
    this.closed = true;
    this.resolver?.stop();
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  private async invoke(
    path: string,
    flags: number,
    body: Uint8Array | string,
    opts: CallOptions,
  ): Promise<Buffer> {
    if (this.closed)
      throw new MsecError("failed_precondition", `client of ${this.service} is closed`);
    if (this.resolver && !this.ready) await this.ensureStarted();
    const parent = currentCall();
    const now = Date.now();
    const own = now + (opts.timeoutMs ?? this.opts.timeoutMs ?? 3000);
    const deadline = parent?.deadline !== undefined ? Math.min(own, parent.deadline) : own;
    const traceId = parent?.traceId ?? newTraceId();
    if (opts.color ?? parent?.color) flags |= FLAG_COLOR;
    depositCall(this.budget);

    // Made on the first failure only: most calls never need it.
    let tried: Set<string> | undefined;
    const maxAttempts = opts.idempotent ? (this.opts.maxAttempts ?? 3) : 1;
    let lastError: MsecError | undefined;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw (
          lastError ??
          new MsecError("deadline_exceeded", `deadline exceeded before calling ${path}`)
        );
      }
      const addr = pick(this.balancer, {
        mode: this.mode,
        ...(opts.key !== undefined ? { key: opts.key } : {}),
        exclude: tried,
        now: Date.now(),
        rand: Math.random,
      });
      if (addr === undefined) {
        throw (
          lastError ??
          new MsecError(
            "unavailable",
            `no instance of ${this.service} is known${this.resolver ? " (is it registered, and is the console reachable?)" : ""}`,
          )
        );
      }
      const started = performance.now();
      let reply: Reply | undefined;
      let error: MsecError | undefined;
      try {
        reply = await this.connection(addr).call(path, flags, remaining, traceId, body);
      } catch (e) {
        error = e instanceof MsecError ? e : new MsecError("unavailable", String(e));
      }
      const latencyMs = performance.now() - started;
      const code = error?.code ?? reply?.code;
      recordOutcome(this.balancer, { addr, ok: !blamesInstance(code), latencyMs, now: Date.now() });
      this.meter?.record(path, addr, code ?? "ok", latencyMs);
      if (reply && reply.code === undefined) return reply.body;
      const failure =
        error ?? new MsecError(reply?.code ?? "unknown", reply?.body.toString("utf8") ?? "");
      lastError = failure;
      tried ??= new Set();
      tried.add(addr);
      const retryable =
        error instanceof NotSentError ||
        (opts.idempotent === true &&
          (code === "unavailable" || code === "resource_exhausted" || code === "internal"));
      const canAttemptAgain =
        error instanceof NotSentError
          ? attempt + 1 < Math.max(maxAttempts, 3)
          : attempt + 1 < maxAttempts;
      if (!retryable || !canAttemptAgain || !tryWithdrawRetry(this.budget, Date.now()))
        throw failure;
    }
  }

  private connection(addr: string): ClientConnection {
    let c = this.connections.get(addr);
    if (c === undefined || !c.isOpen) {
      c = new ClientConnection(addr, (gone) => {
        if (this.connections.get(addr) === gone) this.connections.delete(addr);
      });
      this.connections.set(addr, c);
    }
    return c;
  }

  private ensureStarted(): Promise<void> {
    if (!this.started) {
      const resolver = this.resolver as Resolver;
      this.started = resolver
        .start()
        .then(() => resolver.ready(this.opts.timeoutMs ?? 3000))
        .then(() => {
          this.ready = true;
        });
    }
    return this.started;
  }

  private setInstances(endpoints: Endpoint[]): void {
    setEndpoints(this.balancer, endpoints, Date.now());
    const live = new Set(endpoints.map((e) => e.addr));
    for (const [addr, c] of this.connections) {
      // New calls will not pick it; the calls in flight finish, then it closes.
      if (!live.has(addr)) {
        c.drain();
        this.connections.delete(addr);
      }
    }
  }
}

/** The typed face of a protoc-gen-es service: one async function per unary method. */
export type ProtoClient<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethod & {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, opts?: CallOptions) => Promise<MessageShape<O>>
    : never;
};
