/**
 * Rules every IP tunnel mode shares (the kernel's net/ipv4/ip_tunnel.c and include/net/inet_ecn.h):
 * outer TTL, TOS and DF from the tunnel's settings and the inner packet, and ECN across the tunnel
 * boundary (RFC 6040). Pure functions over numbers, so the transmit and receive loops can call them per
 * packet without allocating.
 */

export const ECN_MASK = 0x03;
export const ECN_NOT_ECT = 0x00;
export const ECN_ECT_1 = 0x01;
export const ECN_ECT_0 = 0x02;
export const ECN_CE = 0x03;

/**
 * Outer TTL (ip_tunnel_xmit): a fixed value is copied; 0 (inherit) takes the inner IPv4 TTL or IPv6 hop
 * limit as it stands at encapsulation; other payloads get the route's default (64).
 * `innerTtl` is negative when the payload is not IP.
 */
export function outerTtl(tunnelTtl: number, innerTtl: number): number {
  if (tunnelTtl !== 0) return tunnelTtl;
  return innerTtl >= 0 ? innerTtl : 64;
}

/**
 * Outer TOS byte (ip_tunnel_xmit + INET_ECN_encapsulate): with bit 0 set (inherit) the inner DS field is
 * copied, for non-IP payloads the configured value without bit 0; then the ECN bits follow the inner
 * packet, with inner CE sent as ECT(0) (RFC 6040 normal mode). `innerDsfield` is negative for non-IP.
 */
export function outerTos(tunnelTos: number, innerDsfield: number): number {
  let tos = tunnelTos;
  if (tos & 0x01) {
    tos &= ~0x01;
    if (innerDsfield >= 0) tos = innerDsfield;
  }
  const innerEcn = innerDsfield >= 0 ? innerDsfield & ECN_MASK : ECN_NOT_ECT;
  return (tos & ~ECN_MASK) | (innerEcn === ECN_CE ? ECN_ECT_0 : innerEcn);
}

/** Outer DF: the tunnel's pmtudisc, or the inner IPv4 DF (IPv6 and others only get the tunnel's). */
export function outerDf(pmtudisc: boolean, innerIsIpv4: boolean, innerDf: boolean): boolean {
  return pmtudisc || (innerIsIpv4 && innerDf);
}

/** What decapsulation does with the ECN field (INET_ECN_decapsulate). */
export const enum EcnAction {
  /** Deliver unchanged. */
  Keep = 0,
  /** Deliver, but the outer was ECT and the inner Not-ECT: the kernel logs it (rate-limited). */
  KeepLogged = 1,
  /** Outer CE on an ECN-capable inner: mark the inner CE. */
  SetCe = 2,
  /** Outer CE on a Not-ECT inner cannot be signalled: drop (rx_frame_errors). */
  Drop = 3,
  /** Outer ECT(1) on an ECT(0) inner: the inner becomes ECT(1) (RFC 6040 4.2; Linux since 5.8). */
  SetEct1 = 4,
}

/**
 * RFC 6040 figure 4 (rows: arriving inner, columns: arriving outer), as INET_ECN_decapsulate applies it:
 *
 *   inner \ outer  Not-ECT  ECT(0)    ECT(1)    CE
 *   Not-ECT        Not-ECT  Not-ECT*  Not-ECT*  drop*
 *   ECT(0)         ECT(0)   ECT(0)    ECT(1)    CE
 *   ECT(1)         ECT(1)   ECT(1)    ECT(1)    CE
 *   CE             CE       CE        CE        CE          (* logged)
 */
export function ecnDecapsulate(outerTos: number, innerDsfield: number): EcnAction {
  const outer = outerTos & ECN_MASK;
  const inner = innerDsfield & ECN_MASK;
  if (inner === ECN_NOT_ECT) {
    if (outer === ECN_NOT_ECT) return EcnAction.Keep;
    return outer === ECN_CE ? EcnAction.Drop : EcnAction.KeepLogged;
  }
  if (outer === ECN_CE) return inner === ECN_CE ? EcnAction.Keep : EcnAction.SetCe;
  return outer === ECN_ECT_1 && inner === ECN_ECT_0 ? EcnAction.SetEct1 : EcnAction.Keep;
}

/**
 * GRE iseq window (ip_tunnel_rcv): with `expected` 0 any number is accepted; otherwise a number whose
 * signed 32-bit distance from `expected` is negative is old. Returns the next expected value, or -1 to
 * drop.
 */
export function acceptSequence(expected: number, seq: number): number {
  if (expected !== 0 && ((seq - expected) | 0) < 0) return -1;
  return (seq + 1) >>> 0;
}
