/** @grpc/grpc-js client: one channel (one HTTP/2 connection), unary calls. */
import * as grpc from "@grpc/grpc-js";
import { HOST, TEXT } from "../lib/common.js";
import { loadEchoProto } from "../lib/grpc-proto.js";
import { runClient } from "../lib/harness.js";

type EchoClient = grpc.Client & {
  echo(
    req: { text: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { text: string }) => void,
  ): grpc.ClientUnaryCall;
};

await runClient(async (cfg) => {
  const { Echo } = loadEchoProto();
  const client = new Echo(
    `${HOST}:${cfg.port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as EchoClient;
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 5000, (err) => (err ? reject(err) : resolve())),
  );
  const request = { text: TEXT };
  return {
    call: () =>
      new Promise<{ text: string } | undefined>((resolve, reject) => {
        client.echo(request, { deadline: Date.now() + 5000 }, (err, res) =>
          err ? reject(err) : resolve(res),
        );
      }),
    close: () => client.close(),
  };
});
