import type { RpcServer } from "../../runtime/index.js";

/** Listen, print the address, and close gracefully (draining calls) on SIGINT or SIGTERM. */
export async function runUntilSignal(server: RpcServer): Promise<void> {
  await server.listen();
  process.stdout.write(`${server.service} listening on ${server.addr}\n`);
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
