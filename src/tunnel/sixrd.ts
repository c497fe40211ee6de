/**
 * 6to4 (RFC 3056) and 6rd (RFC 5969) on sit tunnels (spec 1.8, 3.9; net/ipv6/sit.c try_6rd,
 * check_6rd, is_spoofed_6rd, only_dnatted, ipip6_tunnel_6rdctl).
 *
 * A site whose IPv4 address is A is delegated the 6rd prefix P/plen followed by the low (32 - rlen)
 * bits of A, where R/rlen is the relay prefix that every site's IPv4 address shares. So an IPv6
 * destination inside P/plen names its IPv4 tunnel endpoint: the (32 - rlen) bits after P, OR-ed with
 * R. The defaults, P = 2002::/16 and R = 0/0, are 6to4: 2002:c633:6401::1 is 198.51.100.1.
 */
import { BurrowError } from '../errors.js';
import { ipv6InPrefix } from '../wire/address.js';
import type { SixRdParams } from './params.js';

/** What a new sit tunnel copies from sit0, and what `6rd-reset` brings back: 2002::/16, no relay. */
export function defaultSixRd(): SixRdParams {
  const prefix = new Uint8Array(16);
  prefix[0] = 0x20;
  prefix[1] = 0x02;
  return { prefix, prefixLength: 16, relayPrefix: 0, relayPrefixLength: 0 };
}

function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

/**
 * SIOCADD6RD's checks (EINVAL): relay prefix length at most 32, the delegated prefix
 * (plen + 32 - rlen) at most 64 bits, and no bits set past either prefix's length. Returns the
 * configuration as the kernel stores it.
 */
export function validateSixRd(c: SixRdParams): SixRdParams {
  const invalid = (why: string) => new BurrowError('EINVAL', why);
  if (!Number.isInteger(c.prefixLength) || c.prefixLength < 0 || c.prefixLength > 128) throw invalid('bad 6rd prefix length');
  if (!Number.isInteger(c.relayPrefixLength) || c.relayPrefixLength < 0 || c.relayPrefixLength > 32) {
    throw invalid('the relay prefix is longer than 32 bits');
  }
  if (c.prefixLength + (32 - c.relayPrefixLength) > 64) throw invalid('the delegated prefix is longer than 64 bits');
  const masked = new Uint8Array(16);
  masked.set(c.prefix.subarray(0, 16));
  for (let bit = c.prefixLength; bit < 128; bit++) masked[bit >> 3] &= ~(0x80 >> (bit & 7));
  for (let i = 0; i < 16; i++) if (masked[i] !== c.prefix[i]) throw invalid('the 6rd prefix has bits past its length');
  const relayMask = c.relayPrefixLength === 0 ? 0 : (0xffffffff << (32 - c.relayPrefixLength)) >>> 0;
  if ((c.relayPrefix & relayMask) >>> 0 !== c.relayPrefix >>> 0) throw invalid('the relay prefix has bits past its length');
  return { prefix: masked, prefixLength: c.prefixLength, relayPrefix: c.relayPrefix >>> 0, relayPrefixLength: c.relayPrefixLength };
}

/**
 * The IPv4 address embedded in an IPv6 address under this 6rd configuration (try_6rd, check_6rd),
 * or 0 when the address is outside the 6rd prefix. A prefix of length 0 takes every address, as in
 * the kernel (the first 32 bits are then the IPv4 address).
 */
export function sixRdIpv4(c: SixRdParams, bytes: Uint8Array, offset: number): number {
  if (!ipv6InPrefix(bytes, c.prefix, c.prefixLength, offset)) return 0;
  const wordIndex = c.prefixLength >> 5;
  const bitIndex = c.prefixLength & 31;
  const rlen = c.relayPrefixLength;
  let d = rlen < 32 ? ((word(bytes, offset + 4 * wordIndex) << bitIndex) >>> 0) >>> rlen : 0;
  const carry = bitIndex - rlen;
  if (carry > 0) d = (d | (word(bytes, offset + 4 * (wordIndex + 1)) >>> (32 - carry))) >>> 0;
  return (c.relayPrefix | d) >>> 0;
}

/** Whether an IPv6 address lies in the 6rd prefix and embeds another IPv4 address (is_spoofed_6rd). */
export function sixRdSpoofed(c: SixRdParams, v4: number, bytes: Uint8Array, offset: number): boolean {
  if (!ipv6InPrefix(bytes, c.prefix, c.prefixLength, offset)) return false;
  return sixRdIpv4(c, bytes, offset) !== v4 >>> 0;
}

/** An IPv6 address on the tunnel device, with its prefix length. */
export interface DeviceAddress {
  address: Uint8Array;
  prefixLength: number;
}

/**
 * The receive checks of an NBMA sit tunnel (packet_is_spoofed, spec 3.9): an inner source inside the
 * 6rd prefix must embed the outer source; an inner destination inside it must embed the outer
 * destination, unless its delegated prefix is one the device has an address in (only_dnatted: the
 * packet was destination-NATed to us).
 */
export function sixRdCheck(
  c: SixRdParams,
  outerSource: number,
  outerDestination: number,
  bytes: Uint8Array,
  inner: number,
  deviceAddresses: readonly DeviceAddress[],
): 'sixrd-source-spoofed' | 'sixrd-destination-spoofed' | null {
  if (sixRdSpoofed(c, outerSource, bytes, inner + 8)) return 'sixrd-source-spoofed';
  if (!sixRdSpoofed(c, outerDestination, bytes, inner + 24)) return null;
  const delegated = c.prefixLength + 32 - c.relayPrefixLength;
  for (const a of deviceAddresses) if (ipv6InPrefix(bytes, a.address, delegated, inner + 24)) return null;
  return 'sixrd-destination-spoofed';
}
