/**
 * Routes: `ip route get|show|add|del` over a NetlinkHandle, IPv4 and IPv6.
 *
 * `routeGet` is the question the tunnel code asks the kernel: which device, gateway, source and MTU
 * would a packet to `dst` (from `src`, out of `oif`, with `mark`) use. It sends what
 * `ip route get DST from SRC oif DEV mark M` sends (RTM_GETROUTE; for IPv4 with RTM_F_LOOKUP_TABLE, so
 * the answer names the table that matched) and returns the kernel's answer, including a cached PMTU exception
 * (its `mtu` and `expires`). The kernel's refusals arrive as BurrowErrors; on Linux 6.18 (checked in
 * test/integration/netlink.test.ts against `ip`): ENETUNREACH when no route matches and also when `src`
 * is not a local address; EHOSTUNREACH, EACCES and EINVAL for `unreachable`, `prohibit` and `blackhole`
 * routes; EINVAL for a multicast or broadcast `src`.
 */
import {
  AF_UNSPEC,
  MessageBuilder,
  afOf,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  ROUTE_TYPES,
  RTAX_LOCK,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_IIF,
  RTA_MARK,
  RTA_METRICS,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_SRC,
  RTA_TABLE,
  RTA_UID,
  RTM_DELROUTE,
  RTM_F_FIB_MATCH,
  RTM_F_LOOKUP_TABLE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_ANYCAST,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_UNICAST,
  RTPROT_BOOT,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
  decodeRoute,
  encodeRtMsg,
  type NlMessage,
  type Route,
  type RouteType,
} from './messages.js';
import { BurrowError } from '../../errors.js';
import { bitLength, familyOf, formatIp, maskIp, type IpAddress, type IpFamily } from './ip-address.js';
import { linkIndex, type LinkRef } from './link.js';
import type { NetlinkHandle } from './socket.js';

export type { Nexthop, Route, RouteType } from './messages.js';

export interface RouteGetOptions {
  /** `from SRC`: the source address (must be local, unless `iif` is given). */
  src?: IpAddress;
  /** `oif DEV`: force the output device. */
  oif?: LinkRef;
  /** `iif DEV`: look up as if the packet arrived on DEV (forwarding); needs `src`. */
  iif?: LinkRef;
  /** `mark M`: the fwmark policy routing sees. */
  mark?: number;
  /** `uid U`: the uid policy routing sees. */
  uid?: number;
  /** `fibmatch`: return the FIB entry that matched instead of the resolved route. */
  fibMatch?: boolean;
}

function decodeRouteMessage(m: NlMessage): Route | null {
  return m.header.type === RTM_NEWROUTE ? decodeRoute(m.payload) : null;
}

/** `ip route get DST [from SRC] [oif DEV] [iif DEV] [mark M] [uid U] [fibmatch]`. */
export function routeGet(nl: NetlinkHandle, dst: IpAddress, options: RouteGetOptions = {}): Route {
  const family = familyOf(dst);
  if (options.src !== undefined && familyOf(options.src) !== family) {
    throw new BurrowError('EINVAL', `route get ${formatIp(dst)} from ${formatIp(options.src)}: families differ`);
  }
  const b = new MessageBuilder(RTM_GETROUTE, 0);
  b.header(
    encodeRtMsg({
      family: afOf(family),
      dstLength: bitLength(dst),
      srcLength: options.src === undefined ? 0 : bitLength(options.src),
      // ip asks IPv4 for the table that matched; IPv6 answers with it anyway.
      flags: (family === 4 ? RTM_F_LOOKUP_TABLE : 0) | (options.fibMatch === true ? RTM_F_FIB_MATCH : 0),
    }),
  );
  b.attrIp(RTA_DST, dst);
  if (options.src !== undefined) b.attrIp(RTA_SRC, options.src);
  if (options.iif !== undefined) b.attrU32(RTA_IIF, linkIndex(nl, options.iif));
  if (options.oif !== undefined) b.attrU32(RTA_OIF, linkIndex(nl, options.oif));
  if (options.mark !== undefined) b.attrU32(RTA_MARK, options.mark);
  if (options.uid !== undefined) b.attrU32(RTA_UID, options.uid);
  let what = `route get ${formatIp(dst)}`;
  if (options.src !== undefined) what += ` from ${formatIp(options.src)}`;
  const [route] = nl.request(b.finish(), decodeRouteMessage, what);
  if (route === undefined) throw new BurrowError('EIO', `${what}: the kernel answered without a route`);
  return route;
}

export interface RouteListOptions {
  family?: IpFamily;
  /** Table id, or 'all'; default the main table (as `ip route show`). */
  table?: number | 'all';
  /** Only routes out of this device. */
  oif?: number;
}

/** `ip [-6] route show [table T] [dev D]`. Cached entries (PMTU exceptions) are not listed. */
export function routeList(nl: NetlinkHandle, options: RouteListOptions = {}): Route[] {
  const table = options.table === 'all' ? RT_TABLE_UNSPEC : (options.table ?? RT_TABLE_MAIN);
  const b = new MessageBuilder(RTM_GETROUTE, 0);
  b.header(
    encodeRtMsg({
      family: options.family === undefined ? AF_UNSPEC : afOf(options.family),
      table: table < 256 ? table : RT_TABLE_UNSPEC,
    }),
  );
  // Filters the kernel applies under NETLINK_GET_STRICT_CHK; repeated below for kernels that do not.
  if (table !== RT_TABLE_UNSPEC) b.attrU32(RTA_TABLE, table);
  if (options.oif !== undefined) b.attrU32(RTA_OIF, options.oif);
  const decode = (m: NlMessage): Route | null => {
    const r = decodeRouteMessage(m);
    if (r === null) return null;
    if (options.family !== undefined && r.family !== options.family) return null;
    if (table !== RT_TABLE_UNSPEC && r.table !== table) return null;
    if (options.oif !== undefined && r.oif !== options.oif) return null;
    return r;
  };
  return nl.dump(b.finish(), decode, 'dump routes');
}

export interface RouteSpec {
  /** Destination prefix; 0 (IPv4) or 16 zero bytes (IPv6) with dstLength 0 for the default route. */
  dst: IpAddress;
  /** Default: the full length (a host route). */
  dstLength?: number;
  /** `via GW`. */
  gateway?: IpAddress;
  /** `dev DEV`. */
  oif?: LinkRef;
  /** Default 'unicast' (for a delete: any). */
  type?: RouteType;
  /** Default main. */
  table?: number;
  /** RT_SCOPE_*; default as `ip route add` picks it (host, link or universe). */
  scope?: number;
  /** RTPROT_*; default boot, as `ip route add`. */
  protocol?: number;
  /** `src ADDR`. */
  prefsrc?: IpAddress;
  /** `metric N`. */
  priority?: number;
  /** `mtu N` (and `mtu lock N` with mtuLocked). */
  mtu?: number;
  mtuLocked?: boolean;
}

function routeMessage(nl: NetlinkHandle, type: number, flags: number, spec: RouteSpec): MessageBuilder {
  const family = familyOf(spec.dst);
  const dstLength = spec.dstLength ?? bitLength(spec.dst);
  if (!Number.isInteger(dstLength) || dstLength < 0 || dstLength > bitLength(spec.dst)) {
    throw new BurrowError('EINVAL', `prefix length ${dstLength} for ${formatIp(spec.dst)}`);
  }
  // A delete without a type matches any type (RTN_UNSPEC), as `ip route del` sends it.
  const rtType = ROUTE_TYPES.indexOf(spec.type ?? (type === RTM_DELROUTE ? 'unspec' : 'unicast'));
  if (rtType < 0) throw new BurrowError('EINVAL', `unknown route type ${String(spec.type)}`);
  const table = spec.table ?? RT_TABLE_MAIN;
  // iproute2's defaults (iproute_modify): delete matches any scope; local and nat routes are host
  // scope; broadcast, multicast and anycast link; unicast without a gateway link; else universe.
  let scope = spec.scope;
  if (scope === undefined) {
    if (type === RTM_DELROUTE) scope = RT_SCOPE_NOWHERE;
    else if (rtType === RTN_LOCAL || rtType === RTN_NAT) scope = RT_SCOPE_HOST;
    else if (rtType === RTN_BROADCAST || rtType === RTN_MULTICAST || rtType === RTN_ANYCAST) scope = RT_SCOPE_LINK;
    else if (rtType === RTN_UNICAST && spec.gateway === undefined) scope = RT_SCOPE_LINK;
    else scope = RT_SCOPE_UNIVERSE;
  }
  const b = new MessageBuilder(type, flags);
  b.header(
    encodeRtMsg({
      family: afOf(family),
      dstLength,
      table: table < 256 ? table : RT_TABLE_UNSPEC,
      protocol: type === RTM_DELROUTE ? (spec.protocol ?? 0) : (spec.protocol ?? RTPROT_BOOT),
      scope,
      type: rtType,
    }),
  );
  // Host bits are cleared, as `ip route` does; the kernel refuses a prefix that has them.
  if (dstLength > 0) b.attrIp(RTA_DST, maskIp(spec.dst, dstLength));
  if (table >= 256) b.attrU32(RTA_TABLE, table);
  if (spec.gateway !== undefined) b.attrIp(RTA_GATEWAY, spec.gateway);
  if (spec.oif !== undefined) b.attrU32(RTA_OIF, linkIndex(nl, spec.oif));
  if (spec.prefsrc !== undefined) b.attrIp(RTA_PREFSRC, spec.prefsrc);
  if (spec.priority !== undefined) b.attrU32(RTA_PRIORITY, spec.priority);
  if (spec.mtu !== undefined) {
    const metrics = b.beginNest(RTA_METRICS);
    b.attrU32(RTAX_MTU, spec.mtu);
    if (spec.mtuLocked === true) b.attrU32(RTAX_LOCK, 1 << RTAX_MTU);
    b.endNest(metrics);
  }
  return b;
}

function describe(spec: RouteSpec): string {
  let s = `${formatIp(spec.dst)}/${spec.dstLength ?? bitLength(spec.dst)}`;
  if (spec.gateway !== undefined) s += ` via ${formatIp(spec.gateway)}`;
  if (spec.oif !== undefined) s += ` dev ${spec.oif}`;
  return s;
}

/** `ip route add` (EEXIST when present), or `ip route replace` with `{ replace: true }`. */
export function routeAdd(nl: NetlinkHandle, spec: RouteSpec, options: { replace?: boolean } = {}): void {
  const flags = NLM_F_CREATE | (options.replace === true ? NLM_F_REPLACE : NLM_F_EXCL);
  nl.request(routeMessage(nl, RTM_NEWROUTE, flags, spec).finish(), () => null, `add route ${describe(spec)}`);
}

/** `ip route del`: ESRCH when no route matches. */
export function routeDel(nl: NetlinkHandle, spec: RouteSpec): void {
  nl.request(routeMessage(nl, RTM_DELROUTE, 0, spec).finish(), () => null, `delete route ${describe(spec)}`);
}
