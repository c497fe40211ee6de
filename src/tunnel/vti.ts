/**
 * vti: route-based IPsec (net/ipv4/ip_vti.c; spec 3.10). The device has no header of its own: what
 * goes in is handed to the xfrm layer with mark = okey and must leave as ESP through a tunnel-mode
 * state whose endpoints are the vti's local and remote; what comes in is ESP from the vti's peer,
 * decrypted by the state its SPI names, and checked against the inbound policy with mark = ikey.
 *
 * burrow's ESP transforms are in src/xfrm/sa.ts (checked against the kernel's esp4). The state and
 * policy database and `burrow xfrm` are not built yet, so a vti has no state to use: every packet
 * is dropped and counted as the kernel counts a vti without a matching state, tx_carrier_errors and
 * tx_errors going out (vti_xmit: xfrm_lookup_route finds no bundle), rx_errors and rx_dropped coming
 * in from the vti's peer (xfrm_input finds no state; vti_rcv_cb charges the tunnel).
 */
import { ipv4DstUnchecked, ipv4SrcUnchecked } from '../wire/ipv4.js';
import type { DropReason } from './drop.js';
import { innerVersion } from './ip-tunnel.js';
import type { DecapResult, EncapResult } from './mode.js';
import type { TunnelTable } from './table.js';
import type { Tunnel } from './tunnel.js';

export function encapsulateVti(_t: Tunnel, bytes: Uint8Array, start: number, length: number, _out: EncapResult): DropReason | null {
  if (innerVersion(bytes, start, length) === 0) return 'tx-malformed';
  return 'xfrm-out-no-state';
}

export function receiveVti(
  table: TunnelTable,
  bytes: Uint8Array,
  outer: number,
  _payload: number,
  _payloadLength: number,
  ifindex: number,
  out: DecapResult,
): DropReason | null {
  // Charged to the vti whose endpoints match; without one the kernel drops it uncounted on any device.
  out.tunnel = table.lookupVti(ifindex, ipv4SrcUnchecked(bytes, outer), ipv4DstUnchecked(bytes, outer));
  return 'xfrm-in-no-state';
}
