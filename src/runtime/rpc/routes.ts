import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { MsecError } from "../../core/errors.js";
import type { CallContext } from "./context.js";

/** A plain TypeScript handler: JSON in, JSON out. */
// biome-ignore lint/suspicious/noExplicitAny: a handler declares the request type it expects
export type JsonHandler = (request: any, ctx: CallContext) => unknown | Promise<unknown>;

/** Handlers for a protoc-gen-es service: one function per method, by its local name. */
export type ProtoImpl<S extends DescService> = {
  [K in keyof S["method"]]?: S["method"][K] extends DescMethod & {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (
        request: MessageShape<I>,
        ctx: CallContext,
      ) => MessageInitShape<O> | Promise<MessageInitShape<O>>
    : never;
};

/** How one method reads its request and writes its reply, in either body encoding. */
export interface Route {
  path: string;
  decodeBinary(body: Buffer): unknown;
  decodeJson(body: Buffer): unknown;
  encodeBinary(reply: unknown): Uint8Array;
  /** JSON text: frames and HTTP bodies take it without another copy. */
  encodeJson(reply: unknown): string;
  /** Whether the binary framing carries protobuf (else JSON both ways). */
  proto: boolean;
  handler: (request: unknown, ctx: CallContext) => unknown;
}

export function jsonRoute(path: string, handler: JsonHandler): Route {
  const decode = (body: Buffer) => {
    if (body.length === 0) return {};
    try {
      return JSON.parse(body.toString("utf8"));
    } catch (e) {
      throw new MsecError(
        "invalid_argument",
        `request body is not valid JSON: ${(e as Error).message}`,
      );
    }
  };
  const encodeJson = (reply: unknown) => JSON.stringify(reply ?? null);
  return {
    path,
    proto: false,
    decodeBinary: decode,
    decodeJson: decode,
    encodeBinary: (reply) => Buffer.from(encodeJson(reply), "utf8"),
    encodeJson,
    handler,
  };
}

export function protoRoutes<S extends DescService>(service: S, impl: ProtoImpl<S>): Route[] {
  const routes: Route[] = [];
  for (const method of service.methods) {
    const fn = (impl as Record<string, ((req: unknown, ctx: CallContext) => unknown) | undefined>)[
      method.localName
    ];
    if (!fn) continue;
    if (method.methodKind !== "unary") {
      throw new MsecError(
        "unimplemented",
        `${service.typeName}/${method.name}: only unary methods are supported`,
      );
    }
    routes.push({
      path: `${service.typeName}/${method.name}`,
      proto: true,
      decodeBinary: (body) => decodeProto(() => fromBinary(method.input, body)),
      decodeJson: (body) =>
        decodeProto(() =>
          fromJson(method.input, body.length === 0 ? {} : JSON.parse(body.toString("utf8"))),
        ),
      // Handlers may return a plain object of the right shape; `create` accepts both.
      encodeBinary: (reply) =>
        toBinary(method.output, create(method.output, reply as MessageInitShape<DescMessage>)),
      encodeJson: (reply) =>
        JSON.stringify(
          toJson(method.output, create(method.output, reply as MessageInitShape<DescMessage>)),
        ),
      handler: fn,
    });
  }
  return routes;
}

function decodeProto(decode: () => unknown): unknown {
  try {
    return decode();
  } catch (e) {
    throw new MsecError("invalid_argument", `cannot decode request: ${(e as Error).message}`);
  }
}
