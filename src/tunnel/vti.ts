/**
 * vti: route-based IPsec (net/ipv4/ip_vti.c; spec 3.10). The device has no header of its own: what
 * goes in is handed to the xfrm layer with mark = okey and leaves as ESP through a tunnel-mode state
 * whose endpoints are the vti's local and remote; what comes in is ESP from the vti's peer, decrypted
 * by the state its SPI names (looked up with mark = ikey), and checked against the inbound policy with
 * mark = ikey. The database and its rules are src/xfrm/; the ESP transforms src/xfrm/sa.ts.
 *
 * Transmit (vti_tunnel_xmit, vti_xmit):
 *   1. the inner packet's flow finds the out policy (mark okey); none, or no template resolving to a
 *      valid state, is xfrm-out-no-state (the kernel's bundle lookup ends on the plain route or a
 *      blackhole), a blocking policy xfrm-out-policy-block: tx_carrier_errors and an ICMP unreachable;
 *   2. the state must be tunnel mode with the vti's endpoints (vti_state_check), else the same;
 *   3. the outer route: no route is tx_carrier_errors too, the tunnel itself is DeadLoop (collisions);
 *   4. an inner packet over the state's MTU (the outer MTU less ESP's header, IV, ICV, alignment and
 *      trailer: xfrm_state_mtu) gets frag-needed / Packet Too Big with that MTU;
 *   5. ESP is built around the inner packet in place and the outer IPv4 header written in front:
 *      the state's addresses, protocol 50, TTL 64, the inner DSCP and ECN (CE sent as ECT(0)), and
 *      the inner DF (xfrm4_tunnel_encap_add); ID 0 with DF, as ip_select_ident gives.
 * Receive (vti_rcv, xfrm_input, vti_rcv_cb):
 *   1. the vti whose endpoints match the outer addresses (no key), else not a vti's (esp-no-tunnel);
 *   2. the inbound policy check of the outer packet itself (mark 0, not through IPsec);
 *   3. the state by destination, SPI and mark = ikey (xfrm-in-no-state), replay window, ICV,
 *      decryption and trailer (xfrm/sa.ts), IPv4 inside;
 *   4. ECN (outer CE marks an ECN-capable inner packet), then the inbound policy check of the inner
 *      packet with mark = ikey. Every failure after step 1 counts rx_errors and rx_dropped on the vti.
 */
import { ipv4DfUnchecked, ipv4DstUnchecked, ipv4SetEcnCeUnchecked, ipv4SrcUnchecked, ipv4TosUnchecked, writeIpv4Header } from '../wire/ipv4.js';
import { XfrmDatabase } from '../xfrm/database.js';
import { XFRM_POLICY_ALLOW, XFRM_POLICY_OUT } from '../xfrm/policy.js';
import type { OpenedEsp } from '../xfrm/sa.js';
import { decodeIpv4Flow, emptyFlow } from '../xfrm/selector.js';
import { IPPROTO_ESP, XFRM_MODE_TUNNEL, type XfrmState } from '../xfrm/state.js';
import type { DropReason } from './drop.js';
import { innerVersion } from './ip-tunnel.js';
import type { DecapResult, EncapResult } from './mode.js';
import { outerTos } from './rules.js';
import type { TunnelTable } from './table.js';
import type { Tunnel } from './tunnel.js';

/** The outer TTL: the route's hop limit, the kernel's default 64 (vti's own ttl is not used). */
const OUTER_TTL = 64;
const IPPROTO_IPIP = 4;

const flow = emptyFlow();
const opened: OpenedEsp = { start: 0, length: 0, nextHeader: 0 };

/** vti_state_check: a tunnel-mode state with the vti's remote as destination and its local (if any) as source. */
export function stateFitsVti(x: XfrmState, remote: number, local: number): boolean {
  if (x.mode !== XFRM_MODE_TUNNEL) return false;
  if (remote === 0) return x.src === local;
  return x.dst === remote && (local === 0 || x.src === local || x.src === 0);
}

/** The state that carries an inner IPv4 flow out of the vti, or why none does. */
function outboundState(xfrm: XfrmDatabase, t: Tunnel): XfrmState | 'xfrm-out-no-state' | 'xfrm-out-policy-block' {
  const policy = xfrm.lookupPolicy(XFRM_POLICY_OUT, flow, t.params.okey);
  if (policy === null) return 'xfrm-out-no-state';
  if (policy.action !== XFRM_POLICY_ALLOW) return 'xfrm-out-policy-block';
  // burrow's policies have at most one template, ESP in tunnel mode (xfrm/policy.ts).
  const tmpl = policy.tmpls[0];
  if (tmpl === undefined) return 'xfrm-out-no-state';
  return xfrm.outboundState(policy, tmpl, flow, t.params.local) ?? 'xfrm-out-no-state';
}

export function encapsulateVti(
  xfrm: XfrmDatabase,
  t: Tunnel,
  bytes: Uint8Array,
  start: number,
  length: number,
  out: EncapResult,
): DropReason | null {
  const version = innerVersion(bytes, start, length);
  if (version === 0) return 'tx-malformed';
  // burrow's selectors are IPv4: an IPv6 flow finds no policy, as on a kernel with only IPv4 ones.
  if (version !== 4) return 'xfrm-out-no-state';
  decodeIpv4Flow(bytes, start, length, flow);
  const x = outboundState(xfrm, t);
  if (typeof x === 'string') return x;
  if (t.route === 'no-route') return 'no-route';
  if (!stateFitsVti(x, t.params.remote, t.params.local)) return 'xfrm-out-no-state';
  if (t.route === 'dead-loop') return 'dead-loop';
  const mtu = x.innerMtu(t.routeMtu);
  if (length > mtu) {
    // vti_xmit: frag-needed for DF; burrow reports it without DF too (see checkTransmit in ip-tunnel.ts).
    out.mtu = mtu;
    return 'too-big';
  }
  const innerTos = ipv4TosUnchecked(bytes, start);
  const df = ipv4DfUnchecked(bytes, start);
  const espLength = x.sa.seal(bytes, start, length, IPPROTO_IPIP);
  if (espLength === 0) return 'xfrm-out-seq-overflow';
  xfrm.sealed(x);
  const outer = start - x.sa.headerLength - 20;
  const total = espLength + 20;
  writeIpv4Header(bytes, outer, outerTos(1, innerTos), total, 0, df, OUTER_TTL, IPPROTO_ESP, x.src, x.dst);
  out.start = outer;
  out.length = total;
  out.destination = x.dst;
  return null;
}

export function receiveVti(
  xfrm: XfrmDatabase,
  table: TunnelTable,
  bytes: Uint8Array,
  outer: number,
  payload: number,
  payloadLength: number,
  ifindex: number,
  out: DecapResult,
): DropReason | null {
  const src = ipv4SrcUnchecked(bytes, outer);
  const dst = ipv4DstUnchecked(bytes, outer);
  const t = table.lookupVti(ifindex, src, dst);
  // Without a vti the kernel's plain esp4 handler would take it; burrow decrypts only for vti devices.
  if (t === null) return 'esp-no-tunnel';
  // vti_input: xfrm4_policy_check on the outer packet, before the tunnel is charged with anything.
  if (!xfrm.checkInbound(decodeIpv4Flow(bytes, outer, payload - outer + payloadLength, flow), 0, null)) return 'xfrm-in-policy';
  out.tunnel = t;
  if (payloadLength < 8) return 'esp-malformed';
  const spi = ((bytes[payload] << 24) | (bytes[payload + 1] << 16) | (bytes[payload + 2] << 8) | bytes[payload + 3]) >>> 0;
  // xfrm_input: with a tunnel the state is looked up with the tunnel's i_key as mark.
  const x = xfrm.lookupState(dst, spi, IPPROTO_ESP, t.params.ikey);
  if (x === null || x.mode !== XFRM_MODE_TUNNEL) return 'xfrm-in-no-state';
  const drop = x.sa.open(bytes, payload, payloadLength, opened);
  if (drop !== null) return drop;
  xfrm.opened(x);
  // xfrm4_remove_tunnel_encap: an IPv4 state's tunnel carries IPv4 (next header IPIP).
  if (opened.nextHeader !== IPPROTO_IPIP || innerVersion(bytes, opened.start, opened.length) !== 4) return 'esp-malformed';
  // ipip_ecn_decapsulate: outer CE marks the inner packet CE when it is ECN-capable (never a drop here).
  if ((ipv4TosUnchecked(bytes, outer) & 3) === 3) ipv4SetEcnCeUnchecked(bytes, opened.start);
  // vti_rcv_cb: the inbound policy with mark = ikey.
  if (!xfrm.checkInbound(decodeIpv4Flow(bytes, opened.start, opened.length, flow), t.params.ikey, x)) return 'xfrm-in-policy';
  out.start = opened.start;
  out.length = opened.length;
  return null;
}
