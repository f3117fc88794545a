import http from "node:http";
import net from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { MsecError } from "../../core/errors.js";
import { createLogger, type Logger } from "../../core/log.js";
import { ServiceName } from "../../core/schemas/naming.js";
import { PREFACE } from "../../core/wire/frame.js";
import { type ConfigStore, config as defaultConfig } from "../config/store.js";
import { metrics as defaultRegistry, type MetricsRegistry } from "../metrics/registry.js";
import { MetricsShipper } from "../metrics/shipper.js";
import { Registration, type RegistrationOptions } from "../naming/registration.js";
import { BinaryConnection } from "./binary-server.js";
import { handleHttp } from "./connect-http.js";
import { managedEnv, stopOnSigterm } from "./managed.js";
import { RpcMeter } from "./meter.js";
import { type JsonHandler, jsonRoute, type ProtoImpl, protoRoutes, type Route } from "./routes.js";

export interface ServerOptions {
  /** The service's two-level name, e.g. `Demo.Echo`. */
  service: string;
  /** 0 picks a free port. Run by an agent (MSEC_MANAGED=1), MSEC_PORT wins. */
  port: number;
  /** Address to listen on (default 127.0.0.1; 0.0.0.0 for all). Managed, MSEC_HOST wins. */
  host?: string;
  /**
   * Run by an agent (default: MSEC_MANAGED=1): listen where the agent says, do not
   * register (the agent does once the health check passes), ship metrics to the agent's
   * relay (MSEC_METRICS_URL), and close on SIGTERM unless the service handles it.
   */
  managed?: boolean;
  /** Config files, reloaded on the agent's `POST /_msec/config` (default: the `config` singleton). */
  config?: ConfigStore;
  /** Register with the name service (console URL and token; default from MSEC_CONSOLE / MSEC_TOKEN). */
  naming?: Omit<RegistrationOptions, "service" | "addr"> | false;
  /** Biggest binary frame or HTTP body accepted (default 4 MiB). */
  maxMessageBytes?: number;
  /** Record automatic RPC metrics (default true). */
  metrics?: boolean;
  registry?: MetricsRegistry;
  log?: Logger;
  /** After deregistering, keep serving this long so clients learn of it (default 1000 ms). */
  deregisterGraceMs?: number;
  /** Longest wait for in-flight calls at close (default 10 s). */
  drainTimeoutMs?: number;
}

/** How long binary clients get to half-close after the goaway before their new calls are refused. */
const GOAWAY_GRACE_MS = 2000;

/** Dispatch shared by both protocols: finds the route, runs it, counts it. */
export interface Dispatcher {
  route(path: string): Route | undefined;
  meter: RpcMeter | undefined;
  log: Logger;
  maxMessageBytes: number;
  /** Track one call in flight; returns the function that ends it. */
  begin(): () => void;
  readonly registry: MetricsRegistry;
  readonly service: string;
  readonly config: ConfigStore;
  /** Shutting down: HTTP answers say `connection: close`. */
  closing: boolean;
}

/**
 * An RPC server: one port, two protocols (msec's binary framing and HTTP/1.1 in the
 * Connect unary protocol), told apart by the first bytes of each connection.
 *
 *   const server = createServer({ service: "Demo.Echo", port: 7801 });
 *   server.json("Echo", (req) => ({ text: req.text }));
 *   await server.listen();
 */
export function createServer(opts: ServerOptions): RpcServer {
  return new RpcServer(opts);
}

export class RpcServer {
  readonly service: string;
  private readonly routes = new Map<string, Route>();
  private readonly tcp: net.Server;
  private readonly httpServer: http.Server;
  private readonly binaryConns = new Set<BinaryConnection>();
  private readonly dispatcher: Dispatcher;
  private inFlight = 0;
  /** Woken when a call ends or a connection goes, while shutting down. */
  private readonly waiters = new Set<() => void>();
  private registration: Registration | undefined;
  private shipper: MetricsShipper | undefined;
  private state: "new" | "serving" | "closing" | "closed" = "new";
  private closed: Promise<void> | undefined;
  /** The goaway went out: a connection that still arrives gets one too. */
  private goingAway = false;
  private boundPort = 0;
  private readonly managed: boolean;
  private readonly host: string;
  private readonly listenPort: number;

  constructor(private readonly opts: ServerOptions) {
    const name = ServiceName.safeParse(opts.service);
    if (!name.success)
      throw new MsecError("invalid_argument", `service: ${name.error.issues[0]?.message}`, {
        field: "service",
      });
    this.service = opts.service;
    const log =
      opts.log ??
      createLogger({ name: opts.service, level: (process.env.MSEC_LOG_LEVEL as "info") ?? "info" });
    const registry = opts.registry ?? defaultRegistry;
    const env = managedEnv();
    this.managed = opts.managed ?? env.managed;
    this.host = (this.managed ? env.host : undefined) ?? opts.host ?? "127.0.0.1";
    this.listenPort = (this.managed ? env.port : undefined) ?? opts.port;
    this.dispatcher = {
      route: (path) => this.routes.get(path),
      meter: opts.metrics === false ? undefined : new RpcMeter(registry, "server"),
      log,
      maxMessageBytes: opts.maxMessageBytes ?? 4 * 1024 * 1024,
      begin: () => {
        this.inFlight++;
        return () => {
          this.inFlight--;
          if (this.inFlight === 0 && this.state === "closing") this.wake();
        };
      },
      registry,
      service: opts.service,
      config: opts.config ?? defaultConfig,
      closing: false,
    };
    this.httpServer = http.createServer({ keepAlive: true }, (req, res) =>
      handleHttp(this.dispatcher, req, res),
    );
    this.httpServer.on("clientError", (_err, socket) => socket.destroy());
    // Half-open: a draining binary client half-closes and still reads our answers.
    this.tcp = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
      this.accept(socket),
    );
  }

  /** Serve a protoc-gen-es service: `server.proto(EchoService, { echo: async (req) => ... })`. */
  proto<S extends DescService>(service: S, impl: ProtoImpl<S>): this {
    for (const r of protoRoutes(service, impl)) this.add(r);
    return this;
  }

  /** Serve a plain JSON method at `<service>/<method>`, e.g. `POST /Demo.Echo/Echo`. */
  json(method: string, handler: JsonHandler): this {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(method))
      throw new MsecError(
        "invalid_argument",
        `method name "${method}" must be letters, digits and _`,
      );
    this.add(jsonRoute(`${this.service}/${method}`, handler));
    return this;
  }

  get port(): number {
    return this.boundPort;
  }

  get addr(): string {
    return `${advertisedHost(this.host)}:${this.boundPort}`;
  }

  /** Start listening, then register with the name service (if configured; never when managed). */
  async listen(): Promise<void> {
    if (this.state !== "new")
      throw new MsecError("failed_precondition", "listen() was already called");
    await new Promise<void>((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(this.listenPort, this.host, () => {
        this.tcp.off("error", reject);
        resolve();
      });
    });
    this.boundPort = (this.tcp.address() as net.AddressInfo).port;
    this.state = "serving";
    const naming = this.opts.naming === false ? undefined : (this.opts.naming ?? {});
    const consoleUrl = naming?.console ?? process.env.MSEC_CONSOLE;
    if (naming && consoleUrl && !this.managed) {
      this.registration = new Registration({
        ...naming,
        console: consoleUrl,
        service: this.service,
        addr: this.addr,
        log: this.dispatcher.log,
      });
      this.registration.start();
    }
    // Metrics go to the agent's relay when there is one (MetricsShipper reads MSEC_METRICS_URL).
    if ((naming || this.managed) && (consoleUrl || process.env.MSEC_METRICS_URL)) {
      this.shipper = new MetricsShipper({
        service: this.service,
        instance: this.addr,
        ...(consoleUrl ? { console: consoleUrl } : {}),
        ...(naming?.token ? { token: naming.token } : {}),
        registry: this.dispatcher.registry,
        log: this.dispatcher.log,
      });
      this.shipper.start();
    }
    if (this.managed) stopOnSigterm(this);
    try {
      if (this.dispatcher.config.dir !== undefined) this.dispatcher.config.prime();
    } catch (e) {
      this.dispatcher.log.warn({ err: (e as Error).message }, "cannot read the config folder");
    }
    this.dispatcher.log.info(
      { service: this.service, addr: this.addr, managed: this.managed },
      "serving",
    );
  }

  /**
   * Stop with no dropped call: deregister and keep serving while clients learn of it
   * (not when managed: the agent has done both), stop accepting, tell binary clients to
   * send nothing new (goaway), answer every call in flight, then close the connections.
   * A binary client that keeps sending past a grace has its new calls refused as not
   * processed, which it retries on another instance. Calling it again returns the same wait.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    const wasServing = this.state === "serving";
    this.state = "closing";
    this.dispatcher.closing = true;
    if (this.registration) {
      await this.registration.stop();
      await sleep(this.opts.deregisterGraceMs ?? 1000);
    }
    const deadline = Date.now() + (this.opts.drainTimeoutMs ?? 10_000);
    if (wasServing) {
      // Not awaited: its callback waits for every connection to end.
      this.tcp.close();
      this.goingAway = true;
      for (const c of this.binaryConns) c.goaway();
      this.httpServer.closeIdleConnections();
      await this.until(
        () => this.inFlight === 0 && this.binaryConns.size === 0,
        Math.min(deadline, Date.now() + GOAWAY_GRACE_MS),
      );
      for (const c of this.binaryConns) c.refuse();
      await this.until(() => this.inFlight === 0, deadline);
      if (this.inFlight > 0)
        this.dispatcher.log.warn(
          { callsInFlight: this.inFlight },
          "drain timeout: closing with calls in flight",
        );
      // Let answers written just now leave before the sockets go.
      await new Promise((r) => setImmediate(r));
    }
    for (const c of this.binaryConns) c.close("unavailable", "server is shutting down");
    this.httpServer.closeAllConnections();
    // The last minutes, drained calls included.
    await this.shipper?.stop();
    this.state = "closed";
    this.dispatcher.log.info({ service: this.service }, "stopped");
  }

  /** Resolve once `done()` holds or at `deadline` (epoch ms), re-checked on each wake. */
  private until(done: () => boolean, deadline: number): Promise<void> {
    if (done() || Date.now() >= deadline) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Calls being served right now. */
  get callsInFlight(): number {
    return this.inFlight;
  }

  private add(route: Route): void {
    if (this.routes.has(route.path))
      throw new MsecError("already_exists", `method ${route.path} is already served`);
    this.routes.set(route.path, route);
  }

  /** Read the first bytes: the binary preface, or else HTTP. */
  private accept(socket: net.Socket): void {
    let head: Buffer = Buffer.alloc(0);
    let told = false;
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      if (head.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        if (head.length < PREFACE.length) return; // wait for the rest of the preface
        told = true;
        socket.off("data", onData);
        const conn = new BinaryConnection(socket, this.dispatcher, (c) => {
          this.binaryConns.delete(c);
          if (this.state === "closing") this.wake();
        });
        this.binaryConns.add(conn);
        // Accepted just before the listener closed: it gets the same goaway as the rest.
        if (this.goingAway) conn.goaway();
        if (head.length > PREFACE.length) conn.push(head.subarray(PREFACE.length));
        return;
      }
      told = true;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      this.httpServer.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
    // Half-open sockets: one that ends before saying which protocol is done.
    socket.once("end", () => {
      if (!told) socket.destroy();
    });
  }
}

function advertisedHost(host: string): string {
  if (host !== "0.0.0.0" && host !== "::") return host.includes(":") ? `[${host}]` : host;
  return process.env.MSEC_ADVERTISE_HOST ?? "127.0.0.1";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
