/**
 * ISATAP (RFC 5214) on sit tunnels (`mode isatap`; spec 1.7, 3.9; net/ipv6/sit.c
 * ipip6_tunnel_add_prl, ipip6_tunnel_del_prl, isatap_chksrc and the ISATAP branch of
 * ipip6_tunnel_xmit).
 *
 * An ISATAP interface identifier is 00-00-5E-FE (or 02-00-5E-FE for a global IPv4 address) followed
 * by the node's IPv4 address, so every ISATAP IPv6 address names its IPv4 endpoint. The potential
 * router list (PRL) holds the routers this node accepts packets from whatever their inner source.
 */
import { BurrowError } from '../errors.js';
import { ipv6InPrefix } from '../wire/address.js';
import type { DeviceAddress } from './sixrd.js';

/** One potential router (SIOCADDPRL's struct ip_tunnel_prl). */
export interface PrlEntry {
  /** IPv4, host order. */
  address: number;
  /** PRL_DEFAULT: a default router (`pdr` in show), else `pr`. */
  isDefault: boolean;
}

/** Most routers `ip tunnel show` prints (it asks for 15 entries). */
export const PRL_SHOWN = 15;

/**
 * SIOCADDPRL (`prl-default`, `prl-nodefault`): a new list with the router first, as the kernel puts
 * a new entry at the head. 0.0.0.0 is EINVAL; an address already listed is EEXIST, whatever its flag.
 */
export function prlAdd(list: readonly PrlEntry[], entry: PrlEntry): PrlEntry[] {
  if (entry.address >>> 0 === 0) throw new BurrowError('EINVAL', 'a potential router cannot be 0.0.0.0');
  if (list.some((e) => e.address === entry.address >>> 0)) throw new BurrowError('EEXIST', 'the router is listed already');
  return [{ address: entry.address >>> 0, isDefault: entry.isDefault }, ...list];
}

/** SIOCDELPRL (`prl-delete`): 0.0.0.0 empties the list; an address not listed is ENXIO. */
export function prlDelete(list: readonly PrlEntry[], address: number): PrlEntry[] {
  if (address >>> 0 === 0) return [];
  const i = list.findIndex((e) => e.address === address >>> 0);
  if (i < 0) throw new BurrowError('ENXIO', 'the router is not listed');
  return [...list.slice(0, i), ...list.slice(i + 1)];
}

/** ipv6_addr_is_isatap: the interface identifier is [02|00]-00-5E-FE. */
export function isIsatapAddress(bytes: Uint8Array, offset: number): boolean {
  return (bytes[offset + 8] | 0x02) === 0x02 && bytes[offset + 9] === 0 && bytes[offset + 10] === 0x5e && bytes[offset + 11] === 0xfe;
}

/** The IPv4 address in the low 32 bits of an IPv6 address. */
export function lowIpv4(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset + 12] << 24) | (bytes[offset + 13] << 16) | (bytes[offset + 14] << 8) | bytes[offset + 15]) >>> 0;
}

/**
 * The ISATAP transmit rule: the neighbour the route names must be a unicast ISATAP address, and its
 * IPv4 part is the outer destination. 0 otherwise (the kernel's tx_error).
 */
export function isatapNextHop(neighbour: Uint8Array, offset: number): number {
  if (neighbour[offset] === 0xff || !isIsatapAddress(neighbour, offset)) return 0;
  return lowIpv4(neighbour, offset);
}

/**
 * isatap_chksrc: a packet from a potential router is accepted; any other must have an ISATAP inner
 * source that embeds the outer source and lies in a prefix the device has an address in.
 */
export function isatapSourceOk(
  prl: readonly PrlEntry[],
  outerSource: number,
  bytes: Uint8Array,
  inner: number,
  deviceAddresses: readonly DeviceAddress[],
): boolean {
  for (let i = 0; i < prl.length; i++) if (prl[i].address === outerSource) return true;
  const source = inner + 8;
  if (!isIsatapAddress(bytes, source) || lowIpv4(bytes, source) !== outerSource >>> 0) return false;
  for (const a of deviceAddresses) if (ipv6InPrefix(bytes, a.address, a.prefixLength, source)) return true;
  return false;
}
