/**
 * ipip: IPv4 in IPv4, IP protocol 4, no header of its own (RFC 2003; net/ipv4/ipip.c).
 * The device carries IPv4 only: anything else it is given counts as a transmit error, as on the kernel's.
 */
import { ipv4DstUnchecked, ipv4SrcUnchecked } from '../wire/ipv4.js';
import type { DropReason } from './drop.js';
import { finishReceive, innerVersion, transmitIp } from './ip-tunnel.js';
import type { DecapResult, EncapResult } from './mode.js';
import type { PacketKey, TunnelTable } from './table.js';
import type { Tunnel } from './tunnel.js';

export const IPPROTO_IPIP = 4;
const NO_KEY: PacketKey = { present: false, value: 0 };

export function encapsulateIpip(t: Tunnel, bytes: Uint8Array, start: number, length: number, out: EncapResult): DropReason | null {
  const version = innerVersion(bytes, start, length);
  if (version !== 4) return version === 0 ? 'tx-malformed' : 'tx-wrong-protocol';
  return transmitIp(t, bytes, start, length, 4, 0, IPPROTO_IPIP, out);
}

export function receiveIpip(
  table: TunnelTable,
  bytes: Uint8Array,
  outer: number,
  payload: number,
  payloadLength: number,
  ifindex: number,
  out: DecapResult,
): DropReason | null {
  const t = table.lookupIp(IPPROTO_IPIP, ifindex, NO_KEY, ipv4SrcUnchecked(bytes, outer), ipv4DstUnchecked(bytes, outer));
  if (t === null) return 'no-tunnel';
  out.tunnel = t;
  return finishReceive(bytes, outer, payload, payloadLength, 4, out);
}
