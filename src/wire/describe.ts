/**
 * A tcpdump-like one-line description of a packet, walking every layer wire/ understands:
 * Ethernet → ARP | IPv4 | IPv6 → ICMP | ICMPv6 | GRE | UDP → VXLAN | TCP | ESP | IP-in-IP | IPv6-in-IP.
 *
 * ```
 * IP 192.168.1.10 > 192.168.2.20: GRE, key=0x2a, proto IPv4: IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64
 * ```
 * For logs, traces and test failure messages. It never throws, whatever the bytes (the top fuzz target):
 * every layer goes through its view's `check()` and a layer that fails it is shown as `[|name: reason]`,
 * tcpdump's mark for a cut-off layer. Not on the hot path: it allocates freely.
 */
import { formatIpv4, formatIpv6, readIpv4 } from './address.js';
import { ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.js';
import { ArpView, ARP_OP_REPLY, ARP_OP_REQUEST } from './arp.js';
import { EthernetView, formatMac } from './ethernet.js';
import { GreView } from './gre.js';
import { IcmpView } from './icmp.js';
import { Icmpv6View } from './icmpv6.js';
import { Ipv4View } from './ipv4.js';
import { Ipv6View } from './ipv6.js';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_MPLS,
  ETHERTYPE_TEB,
  ETHERTYPE_VLAN,
  ETHERTYPE_WCCP,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_ESP,
  IPPROTO_FRAGMENT,
  IPPROTO_GRE,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IPIP,
  IPPROTO_IPV6,
  IPPROTO_NONE,
  IPPROTO_ROUTING,
  IPPROTO_TCP,
  IPPROTO_UDP,
  VXLAN_PORT_IANA,
  VXLAN_PORT_LINUX,
} from './numbers.js';
import { UdpView } from './udp.js';
import { VxlanView } from './vxlan.js';

/** What the first byte of the input is: an IP packet (version from the first nibble) or an Ethernet frame. */
export type DescribeLayer = 'ip' | 'ethernet';

/** Deeper nesting than this is cut short (a tunnel-in-tunnel bomb should not make a megabyte string). */
const MAX_DEPTH = 12;

/**
 * Describes `bytes[offset .. offset+length)`; out-of-range offset or length are clamped to the buffer.
 * UDP to port 4789 or 8472 is taken as VXLAN.
 */
export function describe(bytes: Uint8Array, offset = 0, length?: number, layer: DescribeLayer = 'ip'): string {
  const start = Number.isInteger(offset) && offset > 0 ? Math.min(offset, bytes.length) : 0;
  const room = bytes.length - start;
  const len = length === undefined || !Number.isInteger(length) ? room : Math.max(0, Math.min(length, room));
  return layer === 'ethernet' ? ethernet(bytes, start, len, 0) : ip(bytes, start, len, 0);
}

function ip(b: Uint8Array, o: number, len: number, depth: number): string {
  if (depth > MAX_DEPTH) return '[|depth]';
  if (len < 1) return '[|ip]';
  const version = b[o] >> 4;
  if (version === 4) return ipv4(b, o, len, depth);
  if (version === 6) return ipv6(b, o, len, depth);
  return `IP version ${version} (unknown), length ${len}`;
}

function ipv4(b: Uint8Array, o: number, len: number, depth: number): string {
  const view = new Ipv4View(b, o, len);
  const reason = view.check();
  if (reason !== null) {
    if (len < 20) return `IP [|ip: ${reason}]`;
    return `IP ${formatIpv4(readIpv4(b, o + 12))} > ${formatIpv4(readIpv4(b, o + 16))}: [|ip: ${reason}]`;
  }
  const src = formatIpv4(view.src);
  const dst = formatIpv4(view.dst);
  const protocol = view.protocol;
  const at = view.payloadOffset;
  const plen = view.payloadLength;
  if (view.fragmentOffset !== 0) {
    return `IP ${src} > ${dst}: ip-proto-${protocol} (frag id ${view.id}, offset ${view.fragmentOffset}${
      view.moreFragments ? '+' : ''
    }), length ${plen}`;
  }
  const frag = view.moreFragments ? `(frag id ${view.id}, offset 0+) ` : '';
  const ports = portsOf(protocol, b, at, plen);
  const from = ports === null ? src : `${src}.${ports[0]}`;
  const to = ports === null ? dst : `${dst}.${ports[1]}`;
  const pseudo = ipv4PseudoHeaderSum(view.src, view.dst, protocol, plen);
  return `IP ${from} > ${to}: ${frag}${transport(protocol, b, at, plen, depth, pseudo, false, frag !== '')}`;
}

function ipv6(b: Uint8Array, o: number, len: number, depth: number): string {
  const view = new Ipv6View(b, o, len);
  const reason = view.check();
  if (reason !== null) {
    if (len < 40) return `IP6 [|ip6: ${reason}]`;
    return `IP6 ${formatIpv6(b, o + 8)} > ${formatIpv6(b, o + 24)}: [|ip6: ${reason}]`;
  }
  const src = formatIpv6(b, view.srcOffset);
  const dst = formatIpv6(b, view.dstOffset);
  // Walk the extension headers tcpdump would walk.
  let next = view.nextHeader;
  let at = view.payloadOffset;
  const end = at + view.payloadLength;
  let prefix = '';
  let partial = false;
  for (let hops = 0; hops < 8; hops++) {
    if (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS) {
      if (at + 8 > end) return `IP6 ${src} > ${dst}: [|ext ${next}]`;
      const skip = (b[at + 1] + 1) * 8;
      if (at + skip > end) return `IP6 ${src} > ${dst}: [|ext ${next}]`;
      prefix += next === IPPROTO_HOPOPTS ? 'HBH ' : next === IPPROTO_ROUTING ? 'srcrt ' : 'DSTOPT ';
      next = b[at];
      at += skip;
    } else if (next === IPPROTO_FRAGMENT) {
      if (at + 8 > end) return `IP6 ${src} > ${dst}: [|frag]`;
      const word = (b[at + 2] << 8) | b[at + 3];
      const id = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
      const fragOffset = word & 0xfff8;
      const more = (word & 1) !== 0;
      if (fragOffset !== 0) {
        return `IP6 ${src} > ${dst}: ${prefix}frag (id ${id}, offset ${fragOffset}${more ? '+' : ''}), length ${end - at - 8}`;
      }
      prefix += `frag (id ${id}, offset 0${more ? '+' : ''}) `;
      partial = more;
      next = b[at];
      at += 8;
    } else {
      break;
    }
  }
  const plen = end - at;
  const ports = portsOf(next, b, at, plen);
  const from = ports === null ? src : `${src}.${ports[0]}`;
  const to = ports === null ? dst : `${dst}.${ports[1]}`;
  const pseudo = ipv6PseudoHeaderSum(b, view.srcOffset, b, view.dstOffset, plen, next);
  return `IP6 ${from} > ${to}: ${prefix}${transport(next, b, at, plen, depth, pseudo, true, partial)}`;
}

/** Source and destination port of a UDP or TCP header that has at least its first 4 bytes. */
function portsOf(protocol: number, b: Uint8Array, at: number, len: number): [number, number] | null {
  if ((protocol !== IPPROTO_UDP && protocol !== IPPROTO_TCP) || len < 4) return null;
  return [(b[at] << 8) | b[at + 1], (b[at + 2] << 8) | b[at + 3]];
}

/**
 * The payload of an IP packet. `partial`: a first fragment, whose checksums cover bytes not here, so
 * checksum failures are not reported.
 */
function transport(
  protocol: number,
  b: Uint8Array,
  at: number,
  len: number,
  depth: number,
  pseudo: number,
  v6: boolean,
  partial: boolean,
): string {
  switch (protocol) {
    case IPPROTO_ICMP:
      return v6 ? `ip-proto-1, length ${len}` : icmp(b, at, len, partial);
    case IPPROTO_ICMPV6:
      return icmpv6(b, at, len, pseudo, partial);
    case IPPROTO_IPIP:
    case IPPROTO_IPV6:
      return ip(b, at, len, depth + 1);
    case IPPROTO_GRE:
      return gre(b, at, len, depth, partial);
    case IPPROTO_UDP:
      return udp(b, at, len, depth, pseudo, v6, partial);
    case IPPROTO_TCP:
      return tcp(b, at, len);
    case IPPROTO_ESP:
      if (len < 8) return '[|esp]';
      return `ESP(spi=0x${hex32(readIpv4(b, at))},seq=0x${readIpv4(b, at + 4).toString(16)}), length ${len}`;
    case IPPROTO_AH:
      return `AH, length ${len}`;
    case IPPROTO_NONE:
      return `no next header, length ${len}`;
    default:
      return `ip-proto-${protocol}, length ${len}`;
  }
}

function icmp(b: Uint8Array, at: number, len: number, partial: boolean): string {
  const view = new IcmpView(b, at, len);
  const reason = view.check();
  if (reason === 'truncated') return '[|icmp]';
  const bad = reason === 'bad-checksum' && !partial ? ' [bad icmp cksum]' : '';
  const type = view.type;
  const code = view.code;
  let text: string;
  if (type === 0 || type === 8) {
    text = `ICMP echo ${type === 8 ? 'request' : 'reply'}, id ${view.echoId}, seq ${view.echoSequence}`;
  } else if (type === 3) {
    text = `ICMP ${unreachable(b, view.payloadOffset, view.payloadLength, code, view.nextHopMtu)}`;
  } else if (type === 11) {
    text = code === 0 ? 'ICMP time exceeded in-transit' : code === 1 ? 'ICMP ip reassembly time exceeded' : `ICMP time exceeded, code ${code}`;
  } else {
    text = `ICMP type ${type}, code ${code}`;
  }
  return `${text}, length ${len}${bad}`;
}

/** The text tcpdump uses for destination unreachable, read from the quoted IPv4 header when present. */
function unreachable(b: Uint8Array, q: number, qlen: number, code: number, mtu: number): string {
  const quoted = qlen >= 20 && b[q] >> 4 === 4;
  const dst = quoted ? formatIpv4(readIpv4(b, q + 16)) : '?';
  const protocol = quoted ? b[q + 9] : -1;
  switch (code) {
    case 0:
      return `net ${dst} unreachable`;
    case 1:
      return `host ${dst} unreachable`;
    case 2:
      return `${dst} protocol ${protocol} unreachable`;
    case 3: {
      const ihl = quoted ? (b[q] & 0x0f) << 2 : 0;
      if (quoted && ihl >= 20 && qlen >= ihl + 4 && (protocol === IPPROTO_UDP || protocol === IPPROTO_TCP)) {
        const port = (b[q + ihl + 2] << 8) | b[q + ihl + 3];
        return `${dst} ${protocol === IPPROTO_UDP ? 'udp' : 'tcp'} port ${port} unreachable`;
      }
      return `${dst} port unreachable`;
    }
    case 4:
      return `${dst} unreachable - need to frag (mtu ${mtu})`;
    default:
      return `${dst} unreachable, code ${code}`;
  }
}

const ICMPV6_NAMES: Record<number, string> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  143: 'multicast listener report v2',
};

const ICMPV6_UNREACH: Record<number, string> = {
  0: 'unreachable route',
  1: 'unreachable prohibited',
  2: 'beyond scope',
  3: 'unreachable address',
  4: 'unreachable port',
};

function icmpv6(b: Uint8Array, at: number, len: number, pseudo: number, partial: boolean): string {
  const view = new Icmpv6View(b, at, len);
  const reason = view.check(pseudo);
  if (reason === 'truncated') return '[|icmp6]';
  const bad = reason === 'bad-checksum' && !partial ? ' [bad icmp6 cksum]' : '';
  const type = view.type;
  const code = view.code;
  const name = Object.prototype.hasOwnProperty.call(ICMPV6_NAMES, type) ? ICMPV6_NAMES[type] : `type ${type}`;
  let text = `ICMP6, ${name}`;
  if (type === 128 || type === 129) text += `, id ${view.echoId}, seq ${view.echoSequence}`;
  else if (type === 2) text += `, mtu ${view.mtu}`;
  else if (type === 1) text += `, ${Object.prototype.hasOwnProperty.call(ICMPV6_UNREACH, code) ? ICMPV6_UNREACH[code] : `code ${code}`}`;
  else if (type === 3) text += code === 0 ? ' in-transit' : code === 1 ? ' reassembly' : `, code ${code}`;
  else if (type < 128 || !Object.prototype.hasOwnProperty.call(ICMPV6_NAMES, type)) text += `, code ${code}`;
  return `${text}, length ${len}${bad}`;
}

const ETHERTYPE_NAMES: Record<number, string> = {
  [ETHERTYPE_IPV4]: 'IPv4',
  [ETHERTYPE_IPV6]: 'IPv6',
  [ETHERTYPE_ARP]: 'ARP',
  [ETHERTYPE_TEB]: 'TEB',
  [ETHERTYPE_MPLS]: 'MPLS',
  [ETHERTYPE_WCCP]: 'WCCP',
  [ETHERTYPE_VLAN]: '802.1Q',
};

function etherTypeName(type: number): string {
  return Object.prototype.hasOwnProperty.call(ETHERTYPE_NAMES, type) ? ETHERTYPE_NAMES[type] : `0x${hex16(type)}`;
}

function gre(b: Uint8Array, at: number, len: number, depth: number, partial: boolean): string {
  const view = new GreView(b, at, len);
  const reason = view.check();
  if (reason !== null && !(reason === 'bad-checksum' && partial)) return `GRE [|gre: ${reason}]`;
  let text = 'GRE';
  if (view.checksumPresent) text += `, csum 0x${hex16(view.checksum)}`;
  if (view.keyPresent) text += `, key=0x${view.key.toString(16)}`;
  if (view.sequencePresent) text += `, seq ${view.sequence}`;
  const protocol = view.payloadProtocol;
  text += `, proto ${etherTypeName(view.protocolType)}`;
  return `${text}: ${byEtherType(protocol, b, view.payloadOffset, view.payloadLength, depth + 1)}`;
}

function byEtherType(type: number, b: Uint8Array, at: number, len: number, depth: number): string {
  if (depth > MAX_DEPTH) return '[|depth]';
  switch (type) {
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6: {
      // The payload must be the IP version the type names; say so if it is not.
      if (len >= 1 && b[at] >> 4 !== (type === ETHERTYPE_IPV4 ? 4 : 6)) return `[|ip: version ${b[at] >> 4} in ${etherTypeName(type)}]`;
      return ip(b, at, len, depth);
    }
    case ETHERTYPE_TEB:
      return ethernet(b, at, len, depth);
    case ETHERTYPE_ARP:
      return arp(b, at, len);
    default:
      return `${etherTypeName(type)}, length ${len}`;
  }
}

function udp(b: Uint8Array, at: number, len: number, depth: number, pseudo: number, v6: boolean, partial: boolean): string {
  const view = new UdpView(b, at, len);
  // A zero checksum over IPv6 is left for the receiver's rules; describe only checks non-zero ones.
  const reason = view.check(partial ? undefined : pseudo);
  if (reason === 'truncated' || reason === 'bad-length') return `UDP [|udp: ${reason}]`;
  const bad = reason === 'bad-checksum' ? ' [bad udp cksum]' : '';
  const zero = v6 && view.checksum === 0 ? ' [zero udp6 cksum]' : '';
  const dport = view.dstPort;
  if (dport === VXLAN_PORT_IANA || dport === VXLAN_PORT_LINUX) {
    return `${vxlan(b, view.payloadOffset, view.payloadLength, depth)}${bad}${zero}`;
  }
  return `UDP, length ${view.payloadLength}${bad}${zero}`;
}

function vxlan(b: Uint8Array, at: number, len: number, depth: number): string {
  const view = new VxlanView(b, at, len);
  const reason = view.check();
  if (reason === 'truncated') return 'VXLAN [|vxlan: truncated]';
  const flags = `VXLAN, flags [${view.flags & 0x08 ? 'I' : '.'}] (0x${hex8(view.flags)}), vni ${view.vni}`;
  if (reason !== null) return `${flags} [|vxlan: ${reason}]`;
  return `${flags}: ${ethernet(b, view.payloadOffset, view.payloadLength, depth + 1)}`;
}

function ethernet(b: Uint8Array, at: number, len: number, depth: number): string {
  if (depth > MAX_DEPTH) return '[|depth]';
  const view = new EthernetView(b, at, len);
  if (view.check() !== null) return '[|ether]';
  const type = view.etherType;
  const name = Object.prototype.hasOwnProperty.call(ETHERTYPE_NAMES, type) ? ETHERTYPE_NAMES[type] : 'Unknown';
  const head = `${formatMac(b, view.srcOffset)} > ${formatMac(b, view.dstOffset)}, ethertype ${name} (0x${hex16(type)}), length ${len}`;
  return `${head}: ${byEtherType(type, b, view.payloadOffset, view.payloadLength, depth + 1)}`;
}

function arp(b: Uint8Array, at: number, len: number): string {
  const view = new ArpView(b, at, len);
  const reason = view.check();
  if (reason !== null) return `ARP [|arp: ${reason}]`;
  const op = view.operation;
  if (op === ARP_OP_REQUEST) {
    return `ARP, Request who-has ${formatIpv4(view.targetIp)} tell ${formatIpv4(view.senderIp)}, length ${len}`;
  }
  if (op === ARP_OP_REPLY) {
    return `ARP, Reply ${formatIpv4(view.senderIp)} is-at ${formatMac(b, view.senderMacOffset)}, length ${len}`;
  }
  return `ARP, op ${op}, length ${len}`;
}

const TCP_FLAGS = ['F', 'S', 'R', 'P', '.', 'U', 'E', 'W'];

function tcp(b: Uint8Array, at: number, len: number): string {
  if (len < 20) return '[|tcp]';
  const dataOffset = (b[at + 12] >> 4) * 4;
  if (dataOffset < 20 || dataOffset > len) return '[|tcp: bad header length]';
  const bits = b[at + 13];
  let flags = '';
  for (let i = 0; i < 8; i++) if (bits & (1 << i)) flags += TCP_FLAGS[i];
  const seq = readIpv4(b, at + 4);
  const ack = readIpv4(b, at + 8);
  const window = (b[at + 14] << 8) | b[at + 15];
  return `Flags [${flags === '' ? 'none' : flags}], seq ${seq}${bits & 0x10 ? `, ack ${ack}` : ''}, win ${window}, length ${len - dataOffset}`;
}

function hex8(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function hex16(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
