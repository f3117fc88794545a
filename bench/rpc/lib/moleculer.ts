/** A Moleculer broker on the TCP transporter with static URLs (both brokers on 127.0.0.1). */
import Moleculer from "moleculer";
import { HOST } from "./common.js";

export function createBroker(
  nodeID: "bench-server" | "bench-client",
  serverPort: number,
  clientPort: number,
): Moleculer.ServiceBroker {
  const broker = new Moleculer.ServiceBroker({
    nodeID,
    logger: false,
    metrics: false,
    tracing: false,
    transporter: {
      type: "TCP",
      options: {
        udpDiscovery: false,
        // Each broker takes its own port from this list and connects to the other.
        urls: [
          `tcp://${HOST}:${serverPort}/bench-server`,
          `tcp://${HOST}:${clientPort}/bench-client`,
        ],
      },
    },
  });
  // Advertise the loopback address only (the default is the hostname and every interface).
  const local = (
    broker.registry as unknown as { nodes: { localNode: { hostname: string; ipList: string[] } } }
  ).nodes.localNode;
  local.hostname = HOST;
  local.ipList = [HOST];
  return broker;
}
