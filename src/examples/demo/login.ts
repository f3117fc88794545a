/**
 * Demo.Login: checks a login and greets through Demo.Echo — a service that calls
 * another, so deadlines, trace ids and metrics flow across the hop.
 */
import { EchoService, LoginService } from "../../gen/msec/demo/v1/demo_pb.js";
import { createClient, createServer, metrics } from "../../runtime/index.js";
import { runUntilSignal } from "./run.js";

const echo = createClient("Demo.Echo").proto(EchoService);
const logins = metrics.counter("logins");
const vipLogins = metrics.counter("VIP level 28 logins");

const server = createServer({
  service: "Demo.Login",
  port: Number(process.env.MSEC_PORT ?? 0),
  host: process.env.MSEC_HOST ?? "127.0.0.1",
});

server.proto(LoginService, {
  async login(req) {
    const ok = req.password.length >= 4;
    if (ok) logins.inc();
    if (ok && req.user.startsWith("vip")) vipLogins.inc();
    const reply = await echo.echo(
      { text: ok ? `welcome, ${req.user}` : "denied" },
      { idempotent: true, timeoutMs: 1000 },
    );
    return { ok, greeting: reply.text };
  },
});

await runUntilSignal(server);
