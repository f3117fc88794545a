/** @grpc/grpc-js unary Echo, defined by bench/rpc/echo.proto through @grpc/proto-loader. */
import * as grpc from "@grpc/grpc-js";
import { dieWithParent, emit, HOST, readConfig, type ServerConfig } from "../lib/common.js";
import { loadEchoProto } from "../lib/grpc-proto.js";

const cfg = readConfig<ServerConfig>();
dieWithParent(cfg.maxLifetimeS);

const { Echo } = loadEchoProto();
const server = new grpc.Server();
server.addService(Echo.service, {
  echo: (
    call: grpc.ServerUnaryCall<{ text: string }, { text: string }>,
    callback: grpc.sendUnaryData<{ text: string }>,
  ) => callback(null, { text: call.request.text }),
});
server.bindAsync(`${HOST}:0`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  emit({ ready: true, port });
});
