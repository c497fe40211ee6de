/**
 * Links (network devices): the verbs of `ip link` that burrow needs, over a NetlinkHandle.
 *
 * A device is named by its ifindex (a number) or its name (a string); names go to the kernel as
 * IFLA_IFNAME, so a lookup by name costs no extra round trip. Changes are RTM_NEWLINK requests on an
 * existing device, as `ip link set` sends them; the kernel's refusal comes back as a BurrowError with
 * its errno (ENODEV for a missing device, EINVAL with the kernel's text for an MTU out of range, ...).
 */
import {
  AF_INET6,
  AF_UNSPEC,
  IFF_MULTICAST,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_IFNAME,
  IFLA_INET6_ADDR_GEN_MODE,
  IFLA_MTU,
  IFLA_TXQLEN,
  ADDR_GEN_MODES,
  MessageBuilder,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  decodeLink,
  encodeIfInfoMsg,
  type AddrGenMode,
  type IfInfoMsg,
  type Link,
  type NlMessage,
} from './messages.js';
import { BurrowError } from '../../errors.js';
import type { NetlinkHandle } from './socket.js';

export type { AddrGenMode, Link, LinkFlags, LinkKindInfo, LinkStats64, OperState } from './messages.js';
export { linkTypeName } from './messages.js';

/** A device: its ifindex, or its name. */
export type LinkRef = number | string;

function describe(ref: LinkRef): string {
  return typeof ref === 'number' ? `ifindex ${ref}` : `dev ${ref}`;
}

/** An ifinfomsg-led message addressed to `ref`. */
function linkMessage(type: number, flags: number, ref: LinkRef, ifi: Partial<IfInfoMsg> = {}): MessageBuilder {
  if (typeof ref === 'number' && !(Number.isInteger(ref) && ref > 0)) {
    throw new BurrowError('ENODEV', `bad ifindex ${ref}`);
  }
  const b = new MessageBuilder(type, flags);
  b.header(encodeIfInfoMsg({ family: AF_UNSPEC, ...ifi, index: typeof ref === 'number' ? ref : 0 }));
  if (typeof ref === 'string') b.attrString(IFLA_IFNAME, ref);
  return b;
}

function decodeLinkMessage(m: NlMessage): Link | null {
  return m.header.type === RTM_NEWLINK ? decodeLink(m.payload) : null;
}

/** `ip link show dev NAME` / by index. Throws ENODEV when there is no such device. */
export function linkGet(nl: NetlinkHandle, ref: LinkRef): Link {
  const what = `get link ${describe(ref)}`;
  const [link] = nl.request(linkMessage(RTM_GETLINK, 0, ref).finish(), decodeLinkMessage, what);
  if (link === undefined) throw new BurrowError('ENODEV', what);
  return link;
}

/** The ifindex of `ref`: itself when it is a number, else asked of the kernel (ENODEV when absent). */
export function linkIndex(nl: NetlinkHandle, ref: LinkRef): number {
  return typeof ref === 'number' ? ref : linkGet(nl, ref).index;
}

export function linkByName(nl: NetlinkHandle, name: string): Link {
  return linkGet(nl, name);
}

export function linkByIndex(nl: NetlinkHandle, index: number): Link {
  return linkGet(nl, index);
}

/** `ip link show`: every device of the handle's namespace. */
export function linkList(nl: NetlinkHandle): Link[] {
  const b = new MessageBuilder(RTM_GETLINK, 0);
  b.header(encodeIfInfoMsg({ family: AF_UNSPEC }));
  return nl.dump(b.finish(), decodeLinkMessage, 'dump links');
}

function change(nl: NetlinkHandle, b: MessageBuilder, what: string): void {
  nl.request(b.finish(), () => null, what);
}

/** `ip link set dev X mtu N`. */
export function linkSetMtu(nl: NetlinkHandle, ref: LinkRef, mtu: number): void {
  change(nl, linkMessage(RTM_NEWLINK, 0, ref).attrU32(IFLA_MTU, mtu), `set mtu ${mtu} on ${describe(ref)}`);
}

/** `ip link set dev X address LLADDR`. */
export function linkSetAddress(nl: NetlinkHandle, ref: LinkRef, address: Uint8Array): void {
  change(nl, linkMessage(RTM_NEWLINK, 0, ref).attr(IFLA_ADDRESS, address), `set address on ${describe(ref)}`);
}

/** `ip link set dev X up`. */
export function linkSetUp(nl: NetlinkHandle, ref: LinkRef): void {
  change(nl, linkMessage(RTM_NEWLINK, 0, ref, { flags: IFF_UP, change: IFF_UP }), `set ${describe(ref)} up`);
}

/** `ip link set dev X down`. */
export function linkSetDown(nl: NetlinkHandle, ref: LinkRef): void {
  change(nl, linkMessage(RTM_NEWLINK, 0, ref, { flags: 0, change: IFF_UP }), `set ${describe(ref)} down`);
}

/** `ip link set dev X multicast on|off`. */
export function linkSetMulticast(nl: NetlinkHandle, ref: LinkRef, on: boolean): void {
  const msg = linkMessage(RTM_NEWLINK, 0, ref, { flags: on ? IFF_MULTICAST : 0, change: IFF_MULTICAST });
  change(nl, msg, `set ${describe(ref)} multicast ${on ? 'on' : 'off'}`);
}

/**
 * `ip link set dev X addrgenmode eui64|none|stable_secret|random`: how the kernel makes the IPv6
 * link-local address when the device comes up. burrow's L3 tunnels use `none`, as the kernel's do not
 * get EUI-64 addresses. The kernel refuses (EAFNOSUPPORT) a device without IPv6 state, e.g. one whose
 * MTU is below 1280.
 */
export function linkSetAddrGenMode(nl: NetlinkHandle, ref: LinkRef, mode: AddrGenMode): void {
  const value = ADDR_GEN_MODES.indexOf(mode);
  if (value < 0) throw new BurrowError('EINVAL', `unknown addrgenmode ${String(mode)}`);
  const b = linkMessage(RTM_NEWLINK, 0, ref);
  const spec = b.beginNest(IFLA_AF_SPEC);
  const inet6 = b.beginNest(AF_INET6);
  b.attrU8(IFLA_INET6_ADDR_GEN_MODE, value);
  b.endNest(inet6);
  b.endNest(spec);
  change(nl, b, `set addrgenmode ${mode} on ${describe(ref)}`);
}

/** `ip link set dev X txqueuelen N`. */
export function linkSetTxQueueLen(nl: NetlinkHandle, ref: LinkRef, txqlen: number): void {
  change(nl, linkMessage(RTM_NEWLINK, 0, ref).attrU32(IFLA_TXQLEN, txqlen), `set txqueuelen ${txqlen} on ${describe(ref)}`);
}

/** `ip link del dev X`. */
export function linkDel(nl: NetlinkHandle, ref: LinkRef): void {
  change(nl, linkMessage(RTM_DELLINK, 0, ref), `delete ${describe(ref)}`);
}
