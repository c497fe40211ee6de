/**
 * The classic two-host walk-through (spec ip-tunnel.md section 4, scenarios 1-4): two hosts on
 * different L2 networks joined by a router, and a container network behind host B whose container
 * has no route back to the tunnel subnet. Tests and the demo share the addresses below.
 *
 * ```
 *        LAN1 192.168.0.0/24            LAN2 192.168.100.0/24       containers 172.16.0.0/16
 *
 *  +---------------+        +---------------------+        +---------------------+        +---------------+
 *  | A  host       |        | R  router           |        | B  host, forwarding |        | C  container  |
 *  |               |        |    ip_forward=1     |        |                     |        |               |
 *  | eth0          |--------| eth0          eth1  |--------| eth0    docker0     |        | eth0          |
 *  | 192.168.0.1   |  veth  | 192.168.0.254       |  veth  | 192.168.100.1       |  veth  | 172.16.0.5/16 |
 *  |           /24 |  1500  |     192.168.100.254 |  1500  |   172.16.0.1/16     |  1500  |               |
 *  +---------------+        +---------------------+        |  (bridge) veth0 ----|--------|               |
 *  default via 192.168.0.254                               +---------------------+        +---------------+
 *                                                          default via 192.168.100.254    only its connected /16:
 *                                                                                         no route to 10.0.0.0/24
 *
 *  tunnel vpn0 (made by the demo and the tests, not by this file):  A 10.0.0.1/24  <====>  B 10.0.0.2/24
 * ```
 * docker0 on B is a bridge, as Docker makes it; the container's veth is its only port.
 */
import { type Lab } from '../netns.js';
import { buildTopology, type BuiltTopology, type TopologySpec } from '../topology.js';

/** Node names: the namespaces are `<lab prefix>-a`, `-r`, `-b`, `-c`. */
export const NODE = { A: 'a', R: 'r', B: 'b', C: 'c' } as const;

export const UNDERLAY_DEV = 'eth0';
export const UNDERLAY_MTU = 1500;
export const UNDERLAY_PREFIX_LEN = 24;
export const A_UNDERLAY = '192.168.0.1';
export const B_UNDERLAY = '192.168.100.1';
/** The router's addresses on LAN1 (A's side) and LAN2 (B's side). */
export const ROUTER_A_SIDE = '192.168.0.254';
export const ROUTER_B_SIDE = '192.168.100.254';

export const CONTAINER_NET = '172.16.0.0/16';
/** B's address on the container network: the address MASQUERADE gives forwarded packets. */
export const CONTAINER_GATEWAY = '172.16.0.1';
export const CONTAINER_ADDR = '172.16.0.5';
/** B's interface towards the container (what MASQUERADE's `-o` names). */
export const CONTAINER_LINK = 'docker0';

/** The tunnel the walk-through makes on top of this topology. */
export const TUNNEL_DEV = 'vpn0';
export const TUNNEL_NET = '10.0.0.0/24';
export const TUNNEL_PREFIX_LEN = 24;
export const A_TUNNEL = '10.0.0.1';
export const B_TUNNEL = '10.0.0.2';

export function classicTopology(): TopologySpec {
  const len = `/${UNDERLAY_PREFIX_LEN}`;
  return {
    name: 'classic',
    nodes: [
      { name: NODE.A, kind: 'host', routes: [{ to: 'default', via: ROUTER_A_SIDE }] },
      { name: NODE.R, kind: 'router' },
      {
        name: NODE.B,
        kind: 'host',
        forwarding: true,
        bridges: [{ name: CONTAINER_LINK, addresses: [`${CONTAINER_GATEWAY}/16`] }],
        routes: [{ to: 'default', via: ROUTER_B_SIDE }],
      },
      // No routes at all: only the connected 172.16.0.0/16, so replies to 10.0.0.0/24 have nowhere to go.
      { name: NODE.C, kind: 'container' },
    ],
    links: [
      {
        a: { node: NODE.A, ifname: UNDERLAY_DEV, addresses: [`${A_UNDERLAY}${len}`] },
        b: { node: NODE.R, ifname: 'eth0', addresses: [`${ROUTER_A_SIDE}${len}`] },
        mtu: UNDERLAY_MTU,
      },
      {
        a: { node: NODE.R, ifname: 'eth1', addresses: [`${ROUTER_B_SIDE}${len}`] },
        b: { node: NODE.B, ifname: UNDERLAY_DEV, addresses: [`${B_UNDERLAY}${len}`] },
        mtu: UNDERLAY_MTU,
      },
      {
        a: { node: NODE.B, ifname: 'veth0', bridge: CONTAINER_LINK },
        b: { node: NODE.C, ifname: 'eth0', addresses: [`${CONTAINER_ADDR}/16`] },
        mtu: UNDERLAY_MTU,
      },
    ],
  };
}

/** Builds the classic topology in `lab`. */
export async function buildClassic(lab: Lab): Promise<BuiltTopology> {
  return buildTopology(lab, classicTopology());
}
