import http from "node:http";
import net from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { MsecError } from "../../core/errors.js";
import { createLogger, type Logger } from "../../core/log.js";
import { ServiceName } from "../../core/schemas/naming.js";
import { PREFACE } from "../../core/wire/frame.js";
import { metrics as defaultRegistry, type MetricsRegistry } from "../metrics/registry.js";
import { MetricsShipper } from "../metrics/shipper.js";
import { Registration, type RegistrationOptions } from "../naming/registration.js";
import { BinaryConnection } from "./binary-server.js";
import { handleHttp } from "./connect-http.js";
import { RpcMeter } from "./meter.js";
import { type JsonHandler, jsonRoute, type ProtoImpl, protoRoutes, type Route } from "./routes.js";

export interface ServerOptions {
  /** The service's two-level name, e.g. `Demo.Echo`. */
  service: string;
  /** 0 picks a free port. */
  port: number;
  /** Address to listen on (default 127.0.0.1; 0.0.0.0 for all). */
  host?: string;
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
  private drained: (() => void) | undefined;
  private registration: Registration | undefined;
  private shipper: MetricsShipper | undefined;
  private state: "new" | "serving" | "closing" | "closed" = "new";
  private boundPort = 0;

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
    this.dispatcher = {
      route: (path) => this.routes.get(path),
      meter: opts.metrics === false ? undefined : new RpcMeter(registry, "server"),
      log,
      maxMessageBytes: opts.maxMessageBytes ?? 4 * 1024 * 1024,
      begin: () => {
        this.inFlight++;
        return () => {
          this.inFlight--;
          if (this.inFlight === 0) this.drained?.();
        };
      },
      registry,
      service: opts.service,
    };
    this.httpServer = http.createServer({ keepAlive: true }, (req, res) =>
      handleHttp(this.dispatcher, req, res),
    );
    this.httpServer.on("clientError", (_err, socket) => socket.destroy());
    this.tcp = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
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
    return `${advertisedHost(this.opts.host ?? "127.0.0.1")}:${this.boundPort}`;
  }

  /** Start listening, then register with the name service (if configured). */
  async listen(): Promise<void> {
    if (this.state !== "new")
      throw new MsecError("failed_precondition", "listen() was already called");
    await new Promise<void>((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(this.opts.port, this.opts.host ?? "127.0.0.1", () => {
        this.tcp.off("error", reject);
        resolve();
      });
    });
    this.boundPort = (this.tcp.address() as net.AddressInfo).port;
    this.state = "serving";
    if (this.opts.naming !== false) {
      const naming = this.opts.naming ?? {};
      const consoleUrl = naming.console ?? process.env.MSEC_CONSOLE;
      if (consoleUrl) {
        this.registration = new Registration({
          ...naming,
          console: consoleUrl,
          service: this.service,
          addr: this.addr,
          log: this.dispatcher.log,
        });
        this.registration.start();
        this.shipper = new MetricsShipper({
          service: this.service,
          instance: this.addr,
          console: consoleUrl,
          ...(naming.token ? { token: naming.token } : {}),
          registry: this.dispatcher.registry,
          log: this.dispatcher.log,
        });
        this.shipper.start();
      }
    }
    this.dispatcher.log.info({ service: this.service, addr: this.addr }, "serving");
  }

  /**
   * Stop with no dropped call: deregister, keep serving while clients learn of it,
   * stop accepting, wait for the calls in flight, then close every connection.
   */
  async close(): Promise<void> {
    if (this.state === "closed" || this.state === "closing") return;
    const wasServing = this.state === "serving";
    this.state = "closing";
    if (this.registration) {
      await this.registration.stop();
      await sleep(this.opts.deregisterGraceMs ?? 1000);
    }
    if (wasServing) await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => {
          this.drained = resolve;
        }),
        sleep(this.opts.drainTimeoutMs ?? 10_000),
      ]);
    }
    for (const c of this.binaryConns) c.close("unavailable", "server is shutting down");
    this.httpServer.closeAllConnections();
    // The last minutes, drained calls included.
    await this.shipper?.stop();
    this.state = "closed";
    this.dispatcher.log.info({ service: this.service }, "stopped");
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
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      if (head.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        if (head.length < PREFACE.length) return; // wait for the rest of the preface
        socket.off("data", onData);
        const conn = new BinaryConnection(socket, this.dispatcher, (c) =>
          this.binaryConns.delete(c),
        );
        this.binaryConns.add(conn);
        if (head.length > PREFACE.length) conn.push(head.subarray(PREFACE.length));
        return;
      }
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      this.httpServer.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  }
}

function advertisedHost(host: string): string {
  if (host !== "0.0.0.0" && host !== "::") return host.includes(":") ? `[${host}]` : host;
  return process.env.MSEC_ADVERTISE_HOST ?? "127.0.0.1";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
