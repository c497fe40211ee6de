/**
 * gre: IPv4 or IPv6 in GRE in IPv4, IP protocol 47 (RFC 2784, RFC 2890; net/ipv4/ip_gre.c).
 *
 * Transmit writes the GRE header from the output flags: checksum over GRE header and payload (ocsum),
 * the output key (okey), and a per-tunnel sequence number starting at 0 (oseq), taken also by a packet
 * the route or MTU checks then refuse; the protocol type is the inner packet's EtherType.
 * Receive follows gre_parse_header then ipgre_rcv: version, routing bit, length and checksum are checked
 * before the lookup (silent drops), the key takes part in the lookup, and the chosen tunnel then wants
 * the checksum flag to agree with icsum both ways and, with iseq, a sequence number not older than the
 * one expected.
 */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_TEB } from '../wire/numbers.js';
import { GreView, fillGreChecksum, writeGreHeader } from '../wire/gre.js';
import { ipv4DstUnchecked, ipv4SrcUnchecked } from '../wire/ipv4.js';
import type { DropReason } from './drop.js';
import { finishReceive, innerVersion, transmitIp } from './ip-tunnel.js';
import type { DecapResult, EncapResult } from './mode.js';
import { GRE_CSUM, GRE_KEY, GRE_SEQ } from './params.js';
import { acceptSequence } from './rules.js';
import type { PacketKey, TunnelTable } from './table.js';
import { tunnelHeaderLength, type Tunnel } from './tunnel.js';

export const IPPROTO_GRE = 47;

export function encapsulateGre(t: Tunnel, bytes: Uint8Array, start: number, length: number, out: EncapResult): DropReason | null {
  const version = innerVersion(bytes, start, length);
  if (version === 0) return 'tx-malformed';
  const p = t.params;
  const headerLength = tunnelHeaderLength(p);
  const greStart = start - headerLength;
  const flags = p.oflags & (GRE_CSUM | GRE_KEY | GRE_SEQ);
  // The kernel numbers the packet before its route and MTU checks (gre_build_header comes before
  // ip_tunnel_xmit), so a packet refused there still uses up a sequence number.
  let sequence = 0;
  if (flags & GRE_SEQ) {
    sequence = t.txSeq;
    t.txSeq = (t.txSeq + 1) >>> 0;
  }
  const refused = transmitIp(t, bytes, start, length, version, headerLength, IPPROTO_GRE, out);
  if (refused !== null) return refused;
  writeGreHeader(bytes, greStart, flags, version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, p.okey, sequence);
  if (flags & GRE_CSUM) fillGreChecksum(bytes, greStart, headerLength + length);
  return null;
}

const gre = new GreView();
const packetKey: PacketKey = { present: false, value: 0 };

export function receiveGre(
  table: TunnelTable,
  bytes: Uint8Array,
  outer: number,
  payload: number,
  payloadLength: number,
  ifindex: number,
  out: DecapResult,
): DropReason | null {
  gre.reset(bytes, payload, payloadLength);
  switch (gre.check()) {
    case null:
      break;
    case 'truncated':
      return 'gre-truncated';
    case 'bad-version':
      return 'gre-version';
    case 'routing-set':
      return 'gre-routing';
    case 'bad-checksum':
      return 'gre-bad-checksum';
  }
  const protocol = gre.payloadProtocol;
  // Ethernet over GRE belongs to gretap devices, which burrow does not have: no tunnel takes it.
  if (protocol === ETHERTYPE_TEB) return 'no-tunnel';
  packetKey.present = gre.keyPresent;
  packetKey.value = gre.key;
  const t = table.lookupIp(IPPROTO_GRE, ifindex, packetKey, ipv4SrcUnchecked(bytes, outer), ipv4DstUnchecked(bytes, outer));
  if (t === null) return 'no-tunnel';
  out.tunnel = t;
  const iflags = t.params.iflags;
  if (gre.checksumPresent !== ((iflags & GRE_CSUM) !== 0)) return 'csum-mismatch';
  if (iflags & GRE_SEQ) {
    if (!gre.sequencePresent) return 'seq-out-of-order';
    const next = acceptSequence(t.rxSeq, gre.sequence);
    if (next < 0) return 'seq-out-of-order';
    t.rxSeq = next;
  }
  if (protocol !== ETHERTYPE_IPV4 && protocol !== ETHERTYPE_IPV6) return 'inner-protocol';
  return finishReceive(bytes, outer, gre.payloadOffset, gre.payloadLength, protocol === ETHERTYPE_IPV4 ? 4 : 6, out);
}
