/**
 * Addresses: `ip addr add|del|show` over a NetlinkHandle, for IPv4 and IPv6.
 *
 * An address is sent as iproute2 sends it: IFA_LOCAL is the local address and IFA_ADDRESS the peer of a
 * point-to-point address (or the local address again), flags above 0xff go in IFA_FLAGS, and an IPv4
 * loopback address defaults to host scope. Adding an address that exists is EEXIST (as `ip addr add`);
 * deleting one that does not is EADDRNOTAVAIL.
 */
import {
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_FLAGS,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_LABEL,
  IFA_LOCAL,
  IFA_RT_PRIORITY,
  INFINITY_LIFE_TIME,
  MessageBuilder,
  afOf,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RT_SCOPE_HOST,
  RT_SCOPE_UNIVERSE,
  SIZEOF_IFA_CACHEINFO,
  decodeAddress,
  encodeIfAddrMsg,
  type Address,
  type NlMessage,
} from './messages.js';
import { BurrowError } from '../../errors.js';
import { bitLength, familyOf, formatIp, type IpAddress, type IpFamily } from './ip-address.js';
import { linkIndex, type LinkRef } from './link.js';
import type { NetlinkHandle } from './socket.js';

export type { Address } from './messages.js';

export interface AddrSpec {
  /** The device: ifindex or name. */
  link: LinkRef;
  address: IpAddress;
  prefixLength: number;
  /** Point-to-point peer (`peer`). */
  peer?: IpAddress;
  /** IPv4 broadcast (`brd`). */
  broadcast?: IpAddress;
  /** IPv4 label (`label eth0:1`). */
  label?: string;
  /** RT_SCOPE_*; default universe (host for 127.0.0.0/8). */
  scope?: number;
  /** IFA_F_* flags to add to the ones below. */
  flags?: number;
  /** IPv6: skip duplicate address detection (`nodad`). */
  nodad?: boolean;
  /** Do not add the prefix route (`noprefixroute`). */
  noprefixroute?: boolean;
  /** Seconds; default forever. */
  validLifetime?: number;
  preferredLifetime?: number;
  /** Metric of the prefix route (`metric`). */
  metric?: number;
}

function addrMessage(nl: NetlinkHandle, type: number, flags: number, spec: AddrSpec): MessageBuilder {
  const family = familyOf(spec.address);
  if (!Number.isInteger(spec.prefixLength) || spec.prefixLength < 0 || spec.prefixLength > bitLength(spec.address)) {
    throw new BurrowError('EINVAL', `prefix length ${spec.prefixLength} for ${formatIp(spec.address)}`);
  }
  let ifaFlags = spec.flags ?? 0;
  if (spec.nodad === true) ifaFlags |= IFA_F_NODAD;
  if (spec.noprefixroute === true) ifaFlags |= IFA_F_NOPREFIXROUTE;
  const loopback = typeof spec.address === 'number' && spec.address >>> 24 === 127;
  const scope = spec.scope ?? (type === RTM_NEWADDR && loopback ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE);
  const b = new MessageBuilder(type, flags);
  b.header(
    encodeIfAddrMsg({
      family: afOf(family),
      prefixLength: spec.prefixLength,
      flags: ifaFlags & 0xff,
      scope,
      index: linkIndex(nl, spec.link),
    }),
  );
  b.attrIp(IFA_LOCAL, spec.address);
  b.attrIp(IFA_ADDRESS, spec.peer ?? spec.address);
  if (ifaFlags > 0xff) b.attrU32(IFA_FLAGS, ifaFlags);
  if (spec.broadcast !== undefined) b.attrIp(IFA_BROADCAST, spec.broadcast);
  if (spec.label !== undefined) b.attrString(IFA_LABEL, spec.label);
  if (spec.metric !== undefined) b.attrU32(IFA_RT_PRIORITY, spec.metric);
  if (spec.validLifetime !== undefined || spec.preferredLifetime !== undefined) {
    const ci = Buffer.alloc(SIZEOF_IFA_CACHEINFO);
    const valid = spec.validLifetime ?? INFINITY_LIFE_TIME;
    ci.writeUInt32LE((spec.preferredLifetime ?? valid) >>> 0, 0);
    ci.writeUInt32LE(valid >>> 0, 4);
    b.attr(IFA_CACHEINFO, ci);
  }
  return b;
}

function describe(spec: AddrSpec): string {
  return `${formatIp(spec.address)}/${spec.prefixLength} on ${typeof spec.link === 'number' ? `ifindex ${spec.link}` : spec.link}`;
}

/** `ip addr add` (EEXIST when present), or `ip addr replace` with `{ replace: true }`. */
export function addrAdd(nl: NetlinkHandle, spec: AddrSpec, options: { replace?: boolean } = {}): void {
  const flags = NLM_F_CREATE | (options.replace === true ? NLM_F_REPLACE : NLM_F_EXCL);
  const b = addrMessage(nl, RTM_NEWADDR, flags, spec);
  nl.request(b.finish(), () => null, `add address ${describe(spec)}`);
}

/** `ip addr del`: EADDRNOTAVAIL when the device has no such address. */
export function addrDel(nl: NetlinkHandle, spec: AddrSpec): void {
  const b = addrMessage(nl, RTM_DELADDR, 0, spec);
  nl.request(b.finish(), () => null, `delete address ${describe(spec)}`);
}

/** `ip [-4|-6] addr show [dev X]`: the addresses of one family or both, of one device or all. */
export function addrList(nl: NetlinkHandle, family?: IpFamily, ifindex?: number): Address[] {
  const b = new MessageBuilder(RTM_GETADDR, 0);
  // With NETLINK_GET_STRICT_CHK the kernel filters by ifa_index itself; the check below covers
  // kernels that ignore it.
  b.header(encodeIfAddrMsg({ family: family === undefined ? AF_UNSPEC : afOf(family), index: ifindex ?? 0 }));
  const decode = (m: NlMessage): Address | null => {
    if (m.header.type !== RTM_NEWADDR) return null;
    const a = decodeAddress(m.payload);
    if (a === null || (family !== undefined && a.family !== family)) return null;
    if (ifindex !== undefined && ifindex !== 0 && a.index !== ifindex) return null;
    return a;
  };
  return nl.dump(b.finish(), decode, 'dump addresses');
}
