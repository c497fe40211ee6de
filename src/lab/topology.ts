/**
 * Declarative topologies: hosts, routers and containers (one namespace each), veth links between
 * them with addresses and MTUs, bridges, routes and sysctls; `validateTopology` checks a description
 * without touching the system, `buildTopology` makes it with a Lab.
 *
 * Each topology is a function returning a `TopologySpec`, with its diagram drawn in its comment
 * (see scenarios/classic.ts).
 */
import { isIPv6 } from 'node:net';
import { ipv4InPrefix, ipv4PrefixMask, parseIpv4Dotted } from '../wire/address.js';
import { LabError, type Lab } from './netns.js';

export type NodeKind = 'host' | 'router' | 'container';

export interface NodeSpec {
  /** Namespace suffix: the namespace is `<lab prefix>-<name>`. Lowercase letters, digits, '-'. */
  name: string;
  kind: NodeKind;
  /** How printouts call the node (`A`, `R`); default the name in capitals. */
  label?: string;
  /** IPv4 and IPv6 forwarding; default true for routers, false otherwise. */
  forwarding?: boolean;
  /** Extra sysctls, `net.ipv4.conf.all.rp_filter: 0`; applied after `forwarding`, so they win. */
  sysctls?: Record<string, string | number>;
  bridges?: BridgeSpec[];
  routes?: RouteSpec[];
}

export interface BridgeSpec {
  name: string;
  addresses?: string[];
  mtu?: number;
}

export interface LinkEnd {
  node: string;
  ifname: string;
  /** CIDRs: `192.168.0.1/24`, `2001:db8::1/64`. None when the end is a bridge port. */
  addresses?: string[];
  /** Enslave this end to a bridge of its node. */
  bridge?: string;
}

/** A veth pair; both ends get the same MTU (default 1500). */
export interface LinkSpec {
  a: LinkEnd;
  b: LinkEnd;
  mtu?: number;
}

export interface RouteSpec {
  /** A prefix (`172.16.0.0/16`) or `default`. */
  to: string;
  via?: string;
  dev?: string;
}

export interface TopologySpec {
  name: string;
  nodes: NodeSpec[];
  links: LinkSpec[];
}

export interface BuiltTopology {
  spec: TopologySpec;
  /** Node name to full namespace name. */
  ns: Record<string, string>;
}

export const DEFAULT_MTU = 1500;
const IFNAMSIZ = 16;

// ---- addresses (pure) ----------------------------------------------------------------------

export interface Cidr {
  family: 4 | 6;
  address: string;
  prefixLength: number;
  /** IPv4 only: the address and its network as numbers. */
  value?: number;
  network?: number;
}

/** `a.b.c.d/len` or `ipv6/len`, or null. */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const address = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
  const prefixLength = Number(lenText);
  const v4 = parseIpv4Dotted(address);
  if (v4 !== null) {
    if (prefixLength > 32) return null;
    return { family: 4, address, prefixLength, value: v4, network: (v4 & ipv4PrefixMask(prefixLength)) >>> 0 };
  }
  if (isIPv6(address) && prefixLength <= 128) return { family: 6, address, prefixLength };
  return null;
}

function inSubnet(address: number, subnet: Cidr): boolean {
  return ipv4InPrefix(address, subnet.network ?? 0, subnet.prefixLength);
}

// ---- validation (pure) ---------------------------------------------------------------------

/** The label printouts use for a node. */
export function labelOf(node: NodeSpec): string {
  return node.label ?? node.name.toUpperCase();
}

function forwardingOf(node: NodeSpec): boolean {
  return node.forwarding ?? node.kind === 'router';
}

/** Every problem with the description, as sentences; empty when it can be built. */
export function validateTopology(spec: TopologySpec): string[] {
  const problems: string[] = [];
  const nodes = new Map<string, NodeSpec>();
  /** node -> interface names (veth ends and bridges). */
  const ifaces = new Map<string, Set<string>>();
  /** node -> connected IPv4 subnets with the node's own address. */
  const subnets = new Map<string, Cidr[]>();
  const addressOwner = new Map<string, string>();

  for (const node of spec.nodes) {
    if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(node.name)) {
      problems.push(`node "${node.name}": the name must be 1-16 of a-z, 0-9 and '-', starting with a letter or digit`);
    }
    if (nodes.has(node.name)) problems.push(`node "${node.name}" is defined twice`);
    if (!['host', 'router', 'container'].includes(node.kind)) problems.push(`node "${node.name}": unknown kind "${node.kind}"`);
    nodes.set(node.name, node);
    ifaces.set(node.name, new Set(['lo']));
    subnets.set(node.name, []);
  }

  const addInterface = (node: string, ifname: string, where: string): void => {
    if (!validIfname(ifname)) problems.push(`${where}: bad interface name "${ifname}" (1-15 characters, no '/', ':' or spaces)`);
    const set = ifaces.get(node);
    if (!set) return;
    if (set.has(ifname)) problems.push(`${where}: interface "${ifname}" already exists on node "${node}"`);
    set.add(ifname);
  };
  const addAddresses = (node: string, addresses: string[] | undefined, where: string): void => {
    for (const a of addresses ?? []) {
      const c = parseCidr(a);
      if (!c) {
        problems.push(`${where}: bad address "${a}" (want address/prefix-length)`);
        continue;
      }
      const owner = addressOwner.get(c.address);
      if (owner !== undefined) problems.push(`${where}: address ${c.address} is already used by ${owner}`);
      addressOwner.set(c.address, where);
      if (c.family === 4) subnets.get(node)?.push(c);
    }
  };

  for (const node of spec.nodes) {
    for (const br of node.bridges ?? []) {
      const where = `node "${node.name}" bridge "${br.name}"`;
      addInterface(node.name, br.name, where);
      checkMtu(br.mtu, where, problems);
      addAddresses(node.name, br.addresses, where);
    }
    for (const key of Object.keys(node.sysctls ?? {})) {
      if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(key)) problems.push(`node "${node.name}": bad sysctl name "${key}"`);
      if (/[\n\r]/.test(String(node.sysctls![key]))) problems.push(`node "${node.name}": sysctl ${key} has a newline in its value`);
    }
  }

  spec.links.forEach((link, i) => {
    const where = `link ${i + 1} (${link.a.node}:${link.a.ifname} - ${link.b.node}:${link.b.ifname})`;
    checkMtu(link.mtu, where, problems);
    for (const end of [link.a, link.b]) {
      const node = nodes.get(end.node);
      if (!node) {
        problems.push(`${where}: unknown node "${end.node}"`);
        continue;
      }
      addInterface(end.node, end.ifname, where);
      if (end.bridge !== undefined) {
        if (!(node.bridges ?? []).some((b) => b.name === end.bridge)) {
          problems.push(`${where}: node "${end.node}" has no bridge "${end.bridge}"`);
        }
        if ((end.addresses ?? []).length > 0) {
          problems.push(`${where}: ${end.node}:${end.ifname} is a port of ${end.bridge}; put its addresses on the bridge`);
        }
      }
      addAddresses(end.node, end.addresses, `${where} at ${end.node}:${end.ifname}`);
    }
  });

  for (const node of spec.nodes) {
    for (const route of node.routes ?? []) {
      const where = `node "${node.name}" route to ${route.to}`;
      let family: 4 | 6 | undefined;
      if (route.to !== 'default') {
        const c = parseCidr(route.to);
        if (!c) {
          problems.push(`${where}: bad prefix (want address/prefix-length or "default")`);
        } else {
          family = c.family;
          if (c.family === 4 && c.value !== c.network) problems.push(`${where}: the prefix has host bits set`);
        }
      }
      if (route.via === undefined && route.dev === undefined) problems.push(`${where}: needs "via" or "dev"`);
      if (route.dev !== undefined && !ifaces.get(node.name)?.has(route.dev)) {
        problems.push(`${where}: node "${node.name}" has no interface "${route.dev}"`);
      }
      if (route.via !== undefined) {
        const v4 = parseIpv4Dotted(route.via);
        if (v4 === null && !isIPv6(route.via)) {
          problems.push(`${where}: bad gateway "${route.via}"`);
        } else if (family !== undefined && (v4 !== null ? 4 : 6) !== family) {
          problems.push(`${where}: gateway ${route.via} is not of the prefix's family`);
        } else if (v4 !== null) {
          const own = subnets.get(node.name) ?? [];
          if (own.some((c) => c.value === v4)) problems.push(`${where}: gateway ${route.via} is the node's own address`);
          else if (!own.some((c) => inSubnet(v4, c))) problems.push(`${where}: gateway ${route.via} is on none of the node's networks`);
        }
      }
    }
  }
  return problems;
}

function validIfname(name: string): boolean {
  return name.length > 0 && name.length < IFNAMSIZ && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

function checkMtu(mtu: number | undefined, where: string, problems: string[]): void {
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) {
    problems.push(`${where}: MTU ${mtu} is outside 68-65535`);
  }
}

/** Throws a LabError listing every problem, if any. */
export function assertValidTopology(spec: TopologySpec): void {
  const problems = validateTopology(spec);
  if (problems.length > 0) throw new LabError(`topology "${spec.name}" is not valid:\n  ${problems.join('\n  ')}`);
}

// ---- building ------------------------------------------------------------------------------

/** Sysctls of one interface must wait until it exists; `all` and `default` must come before. */
function isInterfaceSysctl(key: string): boolean {
  const m = /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\./.exec(key);
  return m !== null && m[1] !== 'all' && m[1] !== 'default';
}

/**
 * Builds the topology in `lab`: namespaces, sysctls, bridges, veths (with MTU), bridge ports,
 * addresses, links up, routes. On error the lab keeps what was made; destroy() removes it.
 */
export async function buildTopology(lab: Lab, spec: TopologySpec): Promise<BuiltTopology> {
  assertValidTopology(spec);
  const ns: Record<string, string> = {};
  for (const node of spec.nodes) ns[node.name] = await lab.addNamespace(node.name);

  const sysctlsOf = (node: NodeSpec): [string, string | number][] => {
    const all: [string, string | number][] = [];
    if (forwardingOf(node)) all.push(['net.ipv4.ip_forward', 1], ['net.ipv6.conf.all.forwarding', 1]);
    return [...all, ...Object.entries(node.sysctls ?? {})];
  };
  for (const node of spec.nodes) {
    for (const [k, v] of sysctlsOf(node)) if (!isInterfaceSysctl(k)) await lab.setSysctl(node.name, k, v);
    for (const br of node.bridges ?? []) await lab.addBridge(node.name, br.name, { mtu: br.mtu });
  }
  for (const link of spec.links) {
    const mtu = link.mtu ?? DEFAULT_MTU;
    await lab.addVeth({ ns: link.a.node, ifname: link.a.ifname }, { ns: link.b.node, ifname: link.b.ifname }, { mtu });
    for (const end of [link.a, link.b]) if (end.bridge !== undefined) await lab.setMaster(end.node, end.ifname, end.bridge);
  }
  for (const node of spec.nodes) {
    for (const [k, v] of sysctlsOf(node)) if (isInterfaceSysctl(k)) await lab.setSysctl(node.name, k, v);
    for (const br of node.bridges ?? []) {
      for (const a of br.addresses ?? []) await lab.addAddress(node.name, br.name, a);
      await lab.linkUp(node.name, br.name);
    }
  }
  for (const link of spec.links) {
    for (const end of [link.a, link.b]) {
      for (const a of end.addresses ?? []) await lab.addAddress(end.node, end.ifname, a);
      await lab.linkUp(end.node, end.ifname);
    }
  }
  for (const node of spec.nodes) {
    for (const r of node.routes ?? []) await lab.addRoute(node.name, r.to, { via: r.via, dev: r.dev });
  }
  return { spec, ns };
}

/**
 * A few lines per node for people: label, kind, namespace, interfaces with addresses and peers, routes.
 * `ns` maps node names to namespace names (from BuiltTopology), or is omitted.
 */
export function describeTopology(spec: TopologySpec, ns: Record<string, string> = {}): string[] {
  const lines: string[] = [];
  const width = Math.max(1, ...spec.nodes.map((n) => labelOf(n).length));
  const byName = new Map(spec.nodes.map((n) => [n.name, n]));
  for (const node of spec.nodes) {
    const fwd = forwardingOf(node) ? ', forwarding' : '';
    const where = ns[node.name] ? `  netns ${ns[node.name]}` : '';
    lines.push(`${labelOf(node).padEnd(width)}  ${node.kind}${fwd}${where}`);
    const pad = ' '.repeat(width + 2);
    for (const br of node.bridges ?? []) {
      const ports = spec.links.flatMap((l) => [l.a, l.b]).filter((e) => e.node === node.name && e.bridge === br.name);
      lines.push(`${pad}${br.name} ${[...(br.addresses ?? []), `(bridge; ports ${ports.map((p) => p.ifname).join(', ') || 'none'})`].join(' ')}`);
    }
    for (const link of spec.links) {
      for (const [end, peer] of [[link.a, link.b], [link.b, link.a]] as const) {
        if (end.node !== node.name) continue;
        const peerNode = byName.get(peer.node);
        const to = `to ${peerNode ? labelOf(peerNode) : peer.node} ${peer.ifname}`;
        const inBridge = end.bridge ? `in ${end.bridge}, ` : '';
        lines.push(`${pad}${[end.ifname, ...(end.addresses ?? [])].join(' ')} (${inBridge}${to}, mtu ${link.mtu ?? DEFAULT_MTU})`);
      }
    }
    for (const r of node.routes ?? []) {
      lines.push(`${pad}route ${[r.to, ...(r.via ? ['via', r.via] : []), ...(r.dev ? ['dev', r.dev] : [])].join(' ')}`);
    }
  }
  return lines;
}
