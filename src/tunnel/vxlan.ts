/**
 * vxlan: Ethernet frames in UDP (RFC 7348; drivers/net/vxlan/vxlan_core.c), as pure functions over
 * buffers plus the device's configuration and state.
 *
 * Transmit (vxlan_xmit, vxlan_xmit_one): the inner frame's destination MAC picks an FDB entry (else
 * the all-zeros default entry); each of its remotes gets one copy. `encapsulateVxlan` writes, in front
 * of the frame, an outer IPv4 header, a UDP header whose source port is a hash of the inner flow
 * (`vxlanSourcePort`, the kernel's udp_flow_src_port) and whose checksum covers the datagram (udpcsum),
 * and the 8-byte VXLAN header. TTL, TOS and DF follow the device's `ttl`, `tos` and `df`.
 * Receive (vxlan_rcv): the VXLAN header is checked (I flag required, reserved bits zero), the VNI picks
 * the device among those on the UDP port, the inner source is learned, the inner frame is checked and
 * ECN decapsulated, and it goes into the device.
 *
 * Nothing here allocates per packet, throws, or reads a clock: time comes in as `now` (ms).
 */
import { ipv4SetEcnCeUnchecked, writeIpv4Header } from '../wire/ipv4.js';
import { ipv6SetEcnCeUnchecked } from '../wire/ipv6.js';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  ICMP_DEST_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMPV6_PACKET_TOO_BIG,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from '../wire/numbers.js';
import { buildIcmpError, icmpErrorPermitted } from '../wire/icmp.js';
import { buildIcmpv6Error, icmpv6ErrorPermitted } from '../wire/icmpv6.js';
import { IPV6_MIN_MTU } from '../wire/ipv6.js';
import { ipv4PseudoHeaderSum } from '../wire/checksum.js';
import { fillUdpChecksum, UDP_HEADER_LENGTH, writeUdpHeader } from '../wire/udp.js';
import { VXLAN_FLAG_VNI, VXLAN_HEADER_LENGTH, writeVxlanHeader } from '../wire/vxlan.js';
import { ETHERNET_HEADER_LENGTH, writeEthernetHeader } from '../wire/ethernet.js';
import { isLoopbackIpv6, isMulticastIpv4, readIpv4 } from '../wire/address.js';
import { ARP_HARDWARE_ETHERNET, ARP_LENGTH, ARP_OP_REPLY, ARP_OP_REQUEST, emitArp } from '../wire/arp.js';
import { BurrowError } from '../errors.js';
import { countDrop, type DropReason } from './drop.js';
import { Fdb, macKey, type FdbEntry, type FdbRemote } from './fdb.js';
import { ecnDecapsulate, EcnAction, outerTos } from './rules.js';
import { emptyStats, type TunnelStats } from './stats.js';

/** IPv4 + UDP + VXLAN: what the tunnel puts in front of the inner Ethernet frame. */
export const VXLAN_OUTER_LENGTH = 20 + UDP_HEADER_LENGTH + VXLAN_HEADER_LENGTH;
/** The kernel's VXLAN_HEADROOM for IPv4 (outer headers plus the inner Ethernet header): 50. */
export const VXLAN_OVERHEAD = VXLAN_OUTER_LENGTH + ETHERNET_HEADER_LENGTH;
/** Defaults the kernel applies (vxlan_config_validate): Linux's port and 300 s of ageing. */
export const VXLAN_DEFAULT_PORT = 8472;
export const VXLAN_DEFAULT_AGEING = 300;
/** The source port range when `srcport 0 0`: net.ipv4.ip_local_port_range's default. */
export const DEFAULT_LOCAL_PORT_RANGE: readonly [number, number] = [32768, 60999];

export type VxlanDf = 'unset' | 'set' | 'inherit';

/**
 * A vxlan device's configuration, as `ip link add NAME type vxlan ...` gives it (IFLA_VXLAN_*), with
 * the kernel's defaults applied by the daemon. IPv4 addresses are host-order numbers (0 = none).
 */
export interface VxlanParams {
  name: string;
  vni: number;
  /** The default destination: a unicast `remote` or a multicast `group`; 0 for none. */
  remote: number;
  local: number;
  /** `dev`: ifindex of the underlay device, 0 for none. */
  link: number;
  dstPort: number;
  /** `srcport MIN MAX`; 0 0 means net.ipv4.ip_local_port_range. */
  srcPortMin: number;
  srcPortMax: number;
  /** Fixed outer TTL; 0 is `auto` (64, or 1 towards a multicast group). */
  ttl: number;
  ttlInherit: boolean;
  /** Outer DS field; 1 is `inherit`. */
  tos: number;
  df: VxlanDf;
  learning: boolean;
  proxy: boolean;
  /** Kept and shown, without effect in burrow (see README). */
  rsc: boolean;
  l2miss: boolean;
  l3miss: boolean;
  /** Seconds. */
  ageing: number;
  /** `maxaddress`; 0 for unlimited. */
  maxAddresses: number;
  udpCsum: boolean;
  udp6ZeroCsumTx: boolean;
  udp6ZeroCsumRx: boolean;
}

export function defaultVxlanParams(): VxlanParams {
  return {
    name: '',
    vni: 0,
    remote: 0,
    local: 0,
    link: 0,
    dstPort: VXLAN_DEFAULT_PORT,
    srcPortMin: 0,
    srcPortMax: 0,
    ttl: 0,
    ttlInherit: false,
    tos: 0,
    df: 'unset',
    learning: true,
    proxy: false,
    rsc: false,
    l2miss: false,
    l3miss: false,
    ageing: VXLAN_DEFAULT_AGEING,
    maxAddresses: 0,
    udpCsum: true,
    udp6ZeroCsumTx: false,
    udp6ZeroCsumRx: false,
  };
}

/** Whether a value from outside (a request, the state file) has the shape of VxlanParams. */
export function isVxlanParams(value: unknown): value is VxlanParams {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  const defaults = defaultVxlanParams() as unknown as Record<string, unknown>;
  return Object.keys(defaults).every((k) => typeof p[k] === typeof defaults[k]) && ['unset', 'set', 'inherit'].includes(p.df as string);
}

/**
 * The checks the kernel makes of a new device's configuration that need nothing but the configuration
 * (vxlan_validate, vxlan_config_validate), with its extended-ack texts; null when it passes. Whether
 * the VNI is taken, or `dev` exists, is the daemon's to check.
 */
export function validateVxlanParams(p: VxlanParams): BurrowError | null {
  if (!Number.isInteger(p.vni) || p.vni < 0 || p.vni > 0xffffff) {
    return BurrowError.withExtack('ERANGE', 'VXLAN ID must be lower than 16777216');
  }
  if (p.srcPortMax < p.srcPortMin) return BurrowError.withExtack('EINVAL', 'Invalid source port range');
  if (isMulticastIpv4(p.local)) return BurrowError.withExtack('EINVAL', 'Local address cannot be multicast');
  if (p.link === 0 && isMulticastIpv4(p.remote)) {
    return BurrowError.withExtack('EINVAL', 'Local interface required for multicast remote destination');
  }
  return null;
}

/**
 * The MTU the kernel gives a new device (vxlan_config_apply): the `dev` device's MTU less 50 when
 * there is one (never below 68), else 1500, whatever the route to the remote (spec 3.2).
 */
export function vxlanDefaultMtu(linkMtu: number | null): number {
  if (linkMtu === null) return 1500;
  return Math.max(linkMtu - VXLAN_OVERHEAD, 68);
}

/** One vxlan device's runtime state: configuration, FDB, counters. */
export class VxlanDevice {
  params: VxlanParams;
  readonly fdb: Fdb;
  ifindex = 0;
  /** Administratively up: only an up device sends and receives. */
  up = false;
  /** The device's own MAC as a key (frames from it are loops); -1 until known. */
  macKey = -1;
  readonly stats: TunnelStats = emptyStats();
  readonly drops = new Map<DropReason, number>();

  constructor(params: VxlanParams) {
    this.params = params;
    this.fdb = new Fdb({
      vni: params.vni,
      port: params.dstPort,
      learning: params.learning,
      ageing: params.ageing,
      maxAddresses: params.maxAddresses,
    });
  }

  get name(): string {
    return this.params.name;
  }

  drop(reason: DropReason): DropReason {
    countDrop(this.stats, this.drops, reason);
    return reason;
  }

  /** The default entry a device with a remote or group starts with. */
  defaultRemote(): FdbRemote | null {
    const p = this.params;
    if (p.remote === 0) return null;
    return { ip: p.remote, port: p.dstPort, vni: p.vni, ifindex: p.link };
  }
}

// ---- source port (udp_flow_src_port) ---------------------------------------------------------------

function mixWord(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function word32(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** Hashes the (address, port) pairs in a fixed order, so both directions of a flow hash alike. */
function mixPair(h: number, a: number, b: number): number {
  return (a >>> 0) <= (b >>> 0) ? mixWord(mixWord(h, a), b) : mixWord(mixWord(h, b), a);
}

/**
 * A hash of the inner flow, as the kernel's flow dissector gives one (skb_get_hash): protocol,
 * addresses and ports of IPv4 or IPv6, both directions alike; for anything else the two MAC addresses
 * and the EtherType (what udp_flow_src_port falls back to). `seed` plays the kernel's per-boot random
 * key, so the values differ from the kernel's, as they differ between two boots of one kernel.
 */
export function flowHash(bytes: Uint8Array, start: number, length: number, seed: number): number {
  let type = length >= 14 ? (bytes[start + 12] << 8) | bytes[start + 13] : 0;
  let l3 = start + 14;
  if (type === ETHERTYPE_VLAN && length >= 18) {
    type = (bytes[start + 16] << 8) | bytes[start + 17];
    l3 += 4;
  }
  const end = start + length;
  let h = seed | 0;
  if (type === ETHERTYPE_IPV4 && end - l3 >= 20 && bytes[l3] >> 4 === 4) {
    const protocol = bytes[l3 + 9];
    h = mixWord(h, protocol);
    h = mixPair(h, word32(bytes, l3 + 12), word32(bytes, l3 + 16));
    const l4 = l3 + ((bytes[l3] & 0x0f) << 2);
    const fragment = ((bytes[l3 + 6] & 0x3f) | bytes[l3 + 7]) !== 0;
    if (!fragment) h = mixPorts(h, bytes, l4, end, protocol);
    return finish(h);
  }
  if (type === ETHERTYPE_IPV6 && end - l3 >= 40 && bytes[l3] >> 4 === 6) {
    const protocol = bytes[l3 + 6];
    h = mixWord(h, protocol);
    for (let i = 0; i < 16; i += 4) h = mixPair(h, word32(bytes, l3 + 8 + i), word32(bytes, l3 + 24 + i));
    h = mixPorts(h, bytes, l3 + 40, end, protocol);
    return finish(h);
  }
  if (length < 14) return finish(h);
  h = mixWord(h, type);
  h = mixPair(h, word32(bytes, start), word32(bytes, start + 6));
  h = mixPair(h, (bytes[start + 4] << 8) | bytes[start + 5], (bytes[start + 10] << 8) | bytes[start + 11]);
  return finish(h);
}

function mixPorts(h: number, bytes: Uint8Array, l4: number, end: number, protocol: number): number {
  if ((protocol === IPPROTO_TCP || protocol === IPPROTO_UDP) && end - l4 >= 4) {
    return mixPair(h, (bytes[l4] << 8) | bytes[l4 + 1], (bytes[l4 + 2] << 8) | bytes[l4 + 3]);
  }
  // ICMP echo: the identifier keeps one ping apart from another.
  if (protocol === IPPROTO_ICMP && end - l4 >= 6) return mixWord(h, (bytes[l4 + 4] << 8) | bytes[l4 + 5]);
  return h;
}

/**
 * udp_flow_src_port: the hash folded (h ^= h << 16) and scaled into [min, max); with min >= max the
 * namespace's local port range is used instead.
 */
export function vxlanSourcePort(hash: number, min: number, max: number, range: readonly [number, number]): number {
  let lo = min;
  let hi = max;
  if (lo >= hi) [lo, hi] = range;
  const h = (hash ^ (hash << 16)) >>> 0;
  return lo + Math.floor((h * (hi - lo)) / 0x1_0000_0000);
}

// ---- transmit ----------------------------------------------------------------------------------

/** What the route to one remote gives the transmit path (udp_tunnel_dst_lookup). */
export interface VxlanPath {
  /** The outer source address: `local`, or the one the route picks. */
  source: number;
  /** MTU of the route (the outer packet may be fragmented to it when DF is clear). */
  mtu: number;
  /** The route's hop limit: what `ttl auto` sends to a unicast remote. */
  hopLimit: number;
}

export interface VxlanEncapResult {
  /** Offset and length of the outer IPv4 packet. */
  start: number;
  length: number;
  df: boolean;
}

export function newVxlanEncapResult(): VxlanEncapResult {
  return { start: 0, length: 0, df: false };
}

/** Set by `innerNetwork`: 4 or 6 for an IP frame long enough for its header, else 0. */
let innerVersion = 0;

/**
 * Where the inner frame's IPv4 or IPv6 header starts (behind one VLAN tag at most), when the frame
 * holds all of it; 0 otherwise. `innerVersion` says which.
 */
function innerNetwork(bytes: Uint8Array, start: number, length: number): number {
  innerVersion = 0;
  if (length < ETHERNET_HEADER_LENGTH) return 0;
  let type = (bytes[start + 12] << 8) | bytes[start + 13];
  let l3 = start + 14;
  if (type === ETHERTYPE_VLAN && length >= 18) {
    type = (bytes[start + 16] << 8) | bytes[start + 17];
    l3 += 4;
  }
  const end = start + length;
  if (type === ETHERTYPE_IPV4 && end - l3 >= 20) innerVersion = 4;
  else if (type === ETHERTYPE_IPV6 && end - l3 >= 40) innerVersion = 6;
  return innerVersion === 0 ? 0 : l3;
}

/** The DS field of the IP header at `ip` (IPv4 TOS or IPv6 traffic class). */
function dsField(bytes: Uint8Array, ip: number, version: number): number {
  return version === 4 ? bytes[ip + 1] : ((bytes[ip] & 0x0f) << 4) | (bytes[ip + 1] >> 4);
}

/**
 * Writes the outer IPv4, UDP and VXLAN headers in front of the frame at bytes[start, start+length),
 * addressed to `remote` along `path`, with UDP source port `sourcePort`; fills `out`. Needs
 * VXLAN_OUTER_LENGTH bytes of headroom. Never fails: refusals (no entry, no route) are the caller's.
 */
export function encapsulateVxlan(
  device: VxlanDevice,
  bytes: Uint8Array,
  start: number,
  length: number,
  remote: FdbRemote,
  path: VxlanPath,
  sourcePort: number,
  out: VxlanEncapResult,
): void {
  const p = device.params;
  const ip = innerNetwork(bytes, start, length);
  const v4 = innerVersion === 4;
  const v6 = innerVersion === 6;
  // TTL: inherit copies the inner TTL / hop limit (ip_tunnel_get_ttl); auto is 1 to a group, else the route's.
  let ttl: number;
  if (p.ttlInherit) ttl = v4 ? bytes[ip + 8] : v6 ? bytes[ip + 7] : path.hopLimit;
  else ttl = p.ttl !== 0 ? p.ttl : isMulticastIpv4(remote.ip) ? 1 : path.hopLimit;
  // TOS: fixed, or the inner DS field; ECN encapsulated as RFC 6040 (ip_tunnel_ecn_encap).
  const inner = ip !== 0 ? dsField(bytes, ip, innerVersion) : -1;
  const tos = outerTos(p.tos === 1 ? 1 : p.tos & ~1, inner);
  const df = p.df === 'set' || (p.df === 'inherit' && (v6 || (v4 && (bytes[ip + 6] & 0x40) !== 0)));

  const vxlanStart = start - VXLAN_HEADER_LENGTH;
  const udpStart = vxlanStart - UDP_HEADER_LENGTH;
  const ipStart = udpStart - 20;
  const udpLength = UDP_HEADER_LENGTH + VXLAN_HEADER_LENGTH + length;
  writeVxlanHeader(bytes, vxlanStart, remote.vni);
  writeUdpHeader(bytes, udpStart, sourcePort, remote.port, udpLength);
  if (p.udpCsum) fillUdpChecksum(bytes, udpStart, ipv4PseudoHeaderSum(path.source, remote.ip, IPPROTO_UDP, udpLength));
  writeIpv4Header(bytes, ipStart, tos, udpLength + 20, 0, df, ttl, IPPROTO_UDP, path.source, remote.ip);
  out.start = ipStart;
  out.length = udpLength + 20;
  out.df = df;
}

/**
 * The FDB entry whose remotes a frame goes to (vxlan_xmit), or the drop: a frame shorter than an
 * Ethernet header, or no entry and no default entry (tx_dropped).
 */
export function vxlanDestination(
  device: VxlanDevice,
  bytes: Uint8Array,
  start: number,
  length: number,
  now: number,
): FdbEntry | DropReason {
  if (length < ETHERNET_HEADER_LENGTH) return 'tx-malformed';
  return device.fdb.destination(bytes, start, now) ?? 'no-fdb-entry';
}

// ---- proxy (arp_reduce) -----------------------------------------------------------------------------

/**
 * With `proxy`, ARP never crosses the tunnel (arp_reduce): a request is answered from the device's
 * neighbour table or dropped. The target address of a request that may be answered, or -1 when the
 * frame is dropped unanswered (not an Ethernet/IPv4 request, or asking for loopback or multicast).
 */
export function proxyArpTarget(bytes: Uint8Array, start: number, length: number): number {
  const arp = start + ETHERNET_HEADER_LENGTH;
  if (length < ETHERNET_HEADER_LENGTH + ARP_LENGTH) return -1;
  const ok =
    ((bytes[arp] << 8) | bytes[arp + 1]) === ARP_HARDWARE_ETHERNET &&
    ((bytes[arp + 2] << 8) | bytes[arp + 3]) === ETHERTYPE_IPV4 &&
    bytes[arp + 4] === 6 &&
    bytes[arp + 5] === 4 &&
    ((bytes[arp + 6] << 8) | bytes[arp + 7]) === ARP_OP_REQUEST;
  if (!ok) return -1;
  const target = readIpv4(bytes, arp + 24);
  if (target >>> 24 === 127 || isMulticastIpv4(target)) return -1;
  return target;
}

/**
 * arp_create(ARPOP_REPLY, ..., sip, dev, tip, sha, neighbour MAC, sha): the answer to the request at
 * `bytes[start]`, from `mac`, written at `out[at]`; returns its length (42).
 */
export function writeProxyArpReply(bytes: Uint8Array, start: number, mac: Uint8Array, out: Uint8Array, at: number): number {
  const arp = start + ETHERNET_HEADER_LENGTH;
  const sha = arp + 8;
  writeEthernetHeader(out, at, bytes, sha, mac, 0, ETHERTYPE_ARP);
  return (
    ETHERNET_HEADER_LENGTH +
    emitArp(
      {
        operation: ARP_OP_REPLY,
        senderMac: mac,
        senderIp: readIpv4(bytes, arp + 24),
        targetMac: bytes.subarray(sha, sha + 6),
        targetIp: readIpv4(bytes, arp + 14),
      },
      out,
      at + ETHERNET_HEADER_LENGTH,
    )
  );
}

// ---- path MTU (skb_tunnel_check_pmtu) -------------------------------------------------------------

/** The most a PMTU notice can take: Ethernet + IPv6 + ICMPv6 + the 1232-byte quote. */
export const VXLAN_PMTU_NOTICE_MAX = ETHERNET_HEADER_LENGTH + IPV6_MIN_MTU;

/**
 * skb_tunnel_check_pmtu: when the frame's IP packet is larger than the outer path MTU less the 50 bytes
 * of VXLAN over IPv4, the kernel lowers its sender's path MTU to that size: a local sender's route
 * directly, a sender behind a bridge with frag-needed or Packet Too Big (iptunnel_pmtud_build_icmp*).
 * burrow cannot reach the route of a local socket, so it tells both kinds of sender the same way:
 * writes into `out[at..]` the message as the kernel builds it (from the frame's destination to its
 * source, ICMP over IPv4 with TOS 0, DF, ID 0 and the packet's own TTL; ICMPv6 with its hop limit;
 * the quote cut to 576 or 1280 bytes) and returns its length. 0 when the frame fits, is not untagged
 * IPv4 or IPv6, or the message is not due (an ICMP error, a non-first fragment, a multicast or
 * unspecified source, an MTU under 576 / 1280). The frame is sent all the same, as the kernel sends a
 * local sender's; `out` must not be `bytes` and needs VXLAN_PMTU_NOTICE_MAX bytes.
 */
export function writeVxlanPmtuNotice(bytes: Uint8Array, start: number, length: number, pathMtu: number, out: Uint8Array, at: number): number {
  const mtu = pathMtu - VXLAN_OVERHEAD;
  const packet = length - ETHERNET_HEADER_LENGTH;
  if (packet <= mtu) return 0;
  const type = (bytes[start + 12] << 8) | bytes[start + 13];
  const ip = start + ETHERNET_HEADER_LENGTH;
  const l3 = at + ETHERNET_HEADER_LENGTH;
  let written: number;
  if (type === ETHERTYPE_IPV4) {
    if (mtu < 576 || !icmpErrorPermitted(bytes, ip, packet)) return 0;
    const source = readIpv4(bytes, ip + 12);
    const destination = readIpv4(bytes, ip + 16);
    const ttl = bytes[ip + 8];
    written = buildIcmpError(out, l3, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu, destination, source, bytes, ip, packet, 0, ttl);
    writeIpv4Header(out, l3, 0, written, 0, true, ttl, IPPROTO_ICMP, destination, source);
  } else if (type === ETHERTYPE_IPV6) {
    if (mtu < IPV6_MIN_MTU || !icmpv6ErrorPermitted(bytes, ip, packet, ICMPV6_PACKET_TOO_BIG)) return 0;
    if (isLoopbackIpv6(bytes, ip + 8)) return 0;
    written = buildIcmpv6Error(out, l3, ICMPV6_PACKET_TOO_BIG, 0, mtu, bytes, ip + 24, bytes, ip + 8, bytes, ip, packet, bytes[ip + 7]);
  } else {
    return 0;
  }
  writeEthernetHeader(out, at, bytes, start + 6, bytes, start, type);
  return ETHERNET_HEADER_LENGTH + written;
}

// ---- receive ----------------------------------------------------------------------------------

/** The devices on one UDP port, by VNI: what the kernel's vxlan socket finds them by. */
export type VxlanPortTable = ReadonlyMap<number, VxlanDevice>;

export interface VxlanDecapResult {
  /** The device the VNI picked; set also for drops charged to it. */
  device: VxlanDevice | null;
  /** Offset and length of the inner Ethernet frame. */
  start: number;
  length: number;
}

export function newVxlanDecapResult(): VxlanDecapResult {
  return { device: null, start: 0, length: 0 };
}

/**
 * vxlan_rcv for one UDP payload at bytes[start, start+length) from outer source `source` (host order)
 * with outer DS field `outerTos`. Returns null with `out` set, or the drop (`out.device` set when the
 * drop is charged to a device). Learns the inner source as a side effect, as the kernel does.
 */
export function receiveVxlan(
  table: VxlanPortTable,
  bytes: Uint8Array,
  start: number,
  length: number,
  source: number,
  outerTosByte: number,
  now: number,
  out: VxlanDecapResult,
): DropReason | null {
  out.device = null;
  if (length < VXLAN_HEADER_LENGTH) return 'vxlan-truncated';
  const flags = bytes[start];
  if ((flags & VXLAN_FLAG_VNI) === 0) return 'vxlan-bad-flags';
  const vni = (bytes[start + 4] << 16) | (bytes[start + 5] << 8) | bytes[start + 6];
  const device = table.get(vni);
  // An unknown VNI goes silently: no ICMP, no device to charge (SKB_DROP_REASON_VXLAN_VNI_NOT_FOUND).
  if (device === undefined) return 'vxlan-unknown-vni';
  out.device = device;
  // Linux is stricter than RFC 7348 here: a reserved bit set makes the header invalid.
  if (flags !== VXLAN_FLAG_VNI || bytes[start + 1] !== 0 || bytes[start + 2] !== 0 || bytes[start + 3] !== 0 || bytes[start + 7] !== 0) {
    return 'vxlan-reserved-bits';
  }
  const frame = start + VXLAN_HEADER_LENGTH;
  const frameLength = length - VXLAN_HEADER_LENGTH;
  if (frameLength < ETHERNET_HEADER_LENGTH) return 'inner-truncated';
  // A frame from our own MAC is a loop (or our multicast coming back).
  if (macKey(bytes, frame + 6) === device.macKey) return 'own-mac';
  if (device.params.learning) {
    const learned = device.fdb.learn(bytes, frame + 6, source, now);
    if (learned === 'invalid-source') return 'bad-source-mac';
    if (learned === 'static-conflict') return 'fdb-static-conflict';
  }
  // pskb_inet_may_pull: an IP frame must hold its network header.
  const ip = innerNetwork(bytes, frame, frameLength);
  if (ip === 0) {
    let type = (bytes[frame + 12] << 8) | bytes[frame + 13];
    if (type === ETHERTYPE_VLAN && frameLength >= 18) type = (bytes[frame + 16] << 8) | bytes[frame + 17];
    if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return 'inner-malformed';
  } else {
    // IP_ECN_decapsulate (RFC 6040); frames that are not IP pass unchanged.
    const action = ecnDecapsulate(outerTosByte, dsField(bytes, ip, innerVersion));
    if (action === EcnAction.Drop) return 'ecn-ce-not-ect';
    if (action === EcnAction.SetCe) {
      if (innerVersion === 4) ipv4SetEcnCeUnchecked(bytes, ip);
      else ipv6SetEcnCeUnchecked(bytes, ip);
    }
  }
  if (!device.up) return 'rx-device-error';
  out.start = frame;
  out.length = frameLength;
  return null;
}
