/** The grpc-js service definition of bench/rpc/echo.proto. */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export function loadEchoProto(): { Echo: grpc.ServiceClientConstructor } {
  const definition = protoLoader.loadSync(
    fileURLToPath(new URL("../echo.proto", import.meta.url)),
    {
      keepCase: true,
      defaults: true,
    },
  );
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    bench: { Echo: grpc.ServiceClientConstructor };
  };
  return { Echo: pkg.bench.Echo };
}
