/**
 * The tunnel mode contract.
 *
 * A mode is a pair of pure functions over buffers, plus its configuration (TunnelParams):
 *
 * - `encapsulate(tunnel, bytes, start, length, out)`: the inner packet sits at bytes[start, start+length)
 *   with at least HEADROOM free bytes before it. The mode writes the outer IPv4 header and its own header
 *   in front, in place, and fills `out` (where the outer packet starts, its length, the outer destination).
 *   Or it returns a DropReason; for 'too-big' `out.mtu` holds the MTU to report to the inner sender.
 * - `receive(table, bytes, outer, payload, payloadLength, ifindex, out)`: the payload of an outer IPv4
 *   packet whose header (at `outer`) `decapsulate` in ip-tunnel.ts has checked is parsed, matched to a
 *   tunnel with the kernel's lookup order, checked against that tunnel's rules, and `out` says where the
 *   inner packet is and which tunnel takes it. Or a DropReason: `out.tunnel` is set when a tunnel was
 *   chosen (the drop is then counted on it) and null otherwise.
 *
 * Neither function allocates, throws, or looks at the clock; neither keeps anything but GRE sequence
 * state and the outer IPv4 ID: the caller counts deliveries and drops (Tunnel.drop), so tests can see
 * every decision.
 * Nothing in tunnel/ touches the kernel.
 */
import type { DropReason } from './drop.js';
import type { TunnelTable } from './table.js';
import type { Tunnel } from './tunnel.js';

/** Bytes the transmit path keeps free before each inner packet: IPv4 20 + GRE up to 16. */
export const HEADROOM = 64;

export interface EncapResult {
  /** Offset of the outer IPv4 header. */
  start: number;
  /** Length of the whole outer packet. */
  length: number;
  /** Outer destination address (host order). */
  destination: number;
  /** With 'too-big': the MTU to tell the inner sender. */
  mtu: number;
}

export interface DecapResult {
  /** The tunnel the packet matched; set also for drops charged to a tunnel. */
  tunnel: Tunnel | null;
  /** Offset and length of the inner packet. */
  start: number;
  length: number;
}

export type Encapsulate = (tunnel: Tunnel, bytes: Uint8Array, start: number, length: number, out: EncapResult) => DropReason | null;

export type Receive = (
  table: TunnelTable,
  bytes: Uint8Array,
  outer: number,
  payload: number,
  payloadLength: number,
  ifindex: number,
  out: DecapResult,
) => DropReason | null;

export function newEncapResult(): EncapResult {
  return { start: 0, length: 0, destination: 0, mtu: 0 };
}

export function newDecapResult(): DecapResult {
  return { tunnel: null, start: 0, length: 0 };
}
