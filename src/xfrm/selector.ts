/**
 * xfrm selectors and flows (IPv4): what a policy or a state's `sel` matches, and the flow a packet
 * presents to it, with the kernel's rules (include/net/xfrm.h __xfrm4_selector_match,
 * xfrm_flowi_sport/dport; net/xfrm/xfrm_policy.c decode_session4).
 *
 * A selector holds the "ports" as the kernel does: for TCP, UDP, SCTP and DCCP the ports; for ICMP the
 * type in `sport` and the code in `dport`; for GRE the key's high and low 16 bits. A flow is decoded
 * from a packet the same way, except that the kernel's port helpers know no DCCP ports (a DCCP flow
 * matches port selectors as port 0) and a fragment that is not the first has no ports at all.
 */
import { ipv4InPrefix } from '../wire/address.js';
import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../wire/numbers.js';

export const IPPROTO_SCTP = 132;
export const IPPROTO_DCCP = 33;
export const IPPROTO_UDPLITE = 136;
/** Mobility header (IPv6 only, but the selector grammar knows it). */
export const IPPROTO_MH = 135;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** struct xfrm_selector for IPv4 (addresses host order, ports host order). */
export interface Selector {
  /** AF_INET, or AF_UNSPEC when nothing set it (a state's `sel` then takes the state's family). */
  family: number;
  src: number;
  srcLength: number;
  dst: number;
  dstLength: number;
  /** 0: any. */
  proto: number;
  sport: number;
  sportMask: number;
  dport: number;
  dportMask: number;
  /** `dev`: 0 for any. */
  ifindex: number;
}

export function emptySelector(): Selector {
  return { family: AF_UNSPEC, src: 0, srcLength: 0, dst: 0, dstLength: 0, proto: 0, sport: 0, sportMask: 0, dport: 0, dportMask: 0, ifindex: 0 };
}

/** What a packet presents to selectors: addresses, protocol, and the two "ports" as the kernel reads them. */
export interface Flow {
  src: number;
  dst: number;
  proto: number;
  /** xfrm_flowi_sport: TCP/UDP/UDP-Lite/SCTP source port, ICMP type, GRE key >> 16, else 0. */
  sport: number;
  /** xfrm_flowi_dport: destination port, ICMP code, GRE key & 0xffff, else 0. */
  dport: number;
}

export function emptyFlow(): Flow {
  return { src: 0, dst: 0, proto: 0, sport: 0, dport: 0 };
}

/**
 * Decodes the flow of the IPv4 packet at bytes[start, start + length) into `out` (decode_session4,
 * not reversed). The caller has checked that 20 bytes of header are there. Returns `out`.
 */
export function decodeIpv4Flow(bytes: Uint8Array, start: number, length: number, out: Flow): Flow {
  const ihl = (bytes[start] & 0x0f) << 2;
  const proto = bytes[start + 9];
  out.src = ((bytes[start + 12] << 24) | (bytes[start + 13] << 16) | (bytes[start + 14] << 8) | bytes[start + 15]) >>> 0;
  out.dst = ((bytes[start + 16] << 24) | (bytes[start + 17] << 16) | (bytes[start + 18] << 8) | bytes[start + 19]) >>> 0;
  out.proto = proto;
  out.sport = 0;
  out.dport = 0;
  // ip_is_fragment: MF or a non-zero offset; such a packet has no transport header to read.
  if (((bytes[start + 6] << 8) | bytes[start + 7]) & 0x3fff) return out;
  const l4 = start + ihl;
  const available = length - ihl;
  switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
    case IPPROTO_SCTP:
      if (available >= 4) {
        out.sport = (bytes[l4] << 8) | bytes[l4 + 1];
        out.dport = (bytes[l4 + 2] << 8) | bytes[l4 + 3];
      }
      break;
    case IPPROTO_ICMP:
      if (available >= 2) {
        out.sport = bytes[l4];
        out.dport = bytes[l4 + 1];
      }
      break;
    case IPPROTO_GRE:
      // The key, when the K flag is set, follows the checksum word if C is set too.
      if (available >= 4 && bytes[l4] & 0x20) {
        const at = l4 + (bytes[l4] & 0x80 ? 8 : 4);
        if (at + 4 <= start + length) {
          out.sport = (bytes[at] << 8) | bytes[at + 1];
          out.dport = (bytes[at + 2] << 8) | bytes[at + 3];
        }
      }
      break;
  }
  return out;
}

/** __xfrm4_selector_match (the flow's output interface is not known to burrow: `dev` selectors are refused). */
export function selectorMatches(sel: Selector, flow: Flow): boolean {
  return (
    ipv4InPrefix(flow.dst, sel.dst, sel.dstLength) &&
    ipv4InPrefix(flow.src, sel.src, sel.srcLength) &&
    ((flow.dport ^ sel.dport) & sel.dportMask) === 0 &&
    ((flow.sport ^ sel.sport) & sel.sportMask) === 0 &&
    (flow.proto === sel.proto || sel.proto === 0) &&
    sel.ifindex === 0
  );
}

/** selector_cmp: every field equal (policies with equal selectors are the same policy). */
export function selectorsEqual(a: Selector, b: Selector): boolean {
  return (
    a.family === b.family &&
    a.src === b.src &&
    a.srcLength === b.srcLength &&
    a.dst === b.dst &&
    a.dstLength === b.dstLength &&
    a.proto === b.proto &&
    a.sport === b.sport &&
    a.sportMask === b.sportMask &&
    a.dport === b.dport &&
    a.dportMask === b.dportMask &&
    a.ifindex === b.ifindex
  );
}

/** Whether the protocol's "ports" are ports (for `sport`/`dport`) or ICMP type/code, as the grammar knows them. */
export function hasPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP || proto === IPPROTO_DCCP;
}

export function hasTypeCode(proto: number): boolean {
  return proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 || proto === IPPROTO_MH;
}
