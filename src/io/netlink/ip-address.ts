/**
 * An IP address of either family, as netlink carries it: a host-order number for IPv4, 16 bytes for
 * IPv6 (docs/conventions.md), so `IpAddress` tells the family by its type. The text forms and masks are
 * wire/address.ts's (glibc's inet_pton and inet_ntop, as `ip` uses); this file only joins the families.
 */
import { BurrowError } from '../../errors.js';
import {
  formatIpv4,
  formatIpv6,
  ipv4PrefixMask,
  ipv6Equal,
  ipv6PrefixMask,
  parseIpv4Dotted,
  parseIpv6,
} from '../../wire/address.js';

export type IpAddress = number | Uint8Array;
/** 4 or 6; the rtnetlink family is AF_INET or AF_INET6. */
export type IpFamily = 4 | 6;

export function familyOf(address: IpAddress): IpFamily {
  return typeof address === 'number' ? 4 : 6;
}

/** 32 or 128: the prefix length of a single address. */
export function bitLength(address: IpAddress): number {
  return typeof address === 'number' ? 32 : 128;
}

/** Parses dotted-quad or IPv6 text (inet_pton's rules); throws BurrowError EINVAL on anything else. */
export function parseIp(text: string): IpAddress {
  const address = parseIpv4Dotted(text) ?? parseIpv6(text);
  if (address === null) throw new BurrowError('EINVAL', `not an IP address: ${JSON.stringify(text)}`);
  return address;
}

/** Parses "addr/len" (len defaults to the full length). */
export function parsePrefix(text: string): { address: IpAddress; length: number } {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  const max = bitLength(address);
  if (slash < 0) return { address, length: max };
  const lenText = text.slice(slash + 1);
  const length = Number(lenText);
  if (!/^\d+$/.test(lenText) || length > max) {
    throw new BurrowError('EINVAL', `bad prefix length: ${JSON.stringify(text)}`);
  }
  return { address, length };
}

export function formatIp(address: IpAddress): string {
  return typeof address === 'number' ? formatIpv4(address) : formatIpv6(address);
}

export function ipEquals(a: IpAddress | undefined, b: IpAddress | undefined): boolean {
  if (a === undefined || b === undefined || typeof a === 'number' || typeof b === 'number') return a === b;
  return a.length === 16 && b.length === 16 && ipv6Equal(a, b);
}

/** The address with its bits past `length` cleared (the network of a prefix). */
export function maskIp(address: IpAddress, length: number): IpAddress {
  if (typeof address === 'number') return (address & ipv4PrefixMask(length)) >>> 0;
  const mask = ipv6PrefixMask(length);
  return address.map((byte, i) => byte & mask[i]!);
}
