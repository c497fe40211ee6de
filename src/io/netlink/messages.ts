/**
 * rtnetlink on the wire: constants, message and attribute codecs, and the decoders that turn the
 * kernel's link, address and route messages into records. Pure: bytes in, records out; no sockets.
 *
 * Layout (linux/netlink.h, linux/rtnetlink.h). A datagram holds one or more messages, each a 16-byte
 * `nlmsghdr` (length u32 including the header, type u16, flags u16, seq u32, port id u32) followed by a
 * family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`) and then attributes. An attribute is
 * `rtattr` (length u16 including its 4-byte header, type u16) and its value; every message and
 * attribute starts on a 4-byte boundary, and the padding is not counted in the length. Attribute types
 * carry two flag bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER) that readers mask off. Numbers are in host
 * order (little-endian on every machine burrow runs on) except addresses and ports, which are in network
 * order.
 *
 * Ownership: decoders read from the caller's buffer during the call and copy whatever they keep
 * (addresses become numbers or fresh Uint8Arrays), so a receive buffer can be reused at once.
 * A truncated or inconsistent message is a BurrowError EIO: the kernel never sends one, so it means
 * a bug on our side, and it must not be read as zeros (see STYLE.md section 7).
 *
 * Every numeric UPPER_SNAKE constant below is checked against the uapi headers by uapi.test.ts.
 */
import { BurrowError } from '../../errors.js';
import { errnoName } from '../native/index.js';
import type { IpAddress, IpFamily } from './ip-address.js';

// ---------------------------------------------------------------------------------------------
// Sockets: bits/socket.h, bits/socket_type.h, asm-generic/socket.h, linux/netlink.h

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;

/** The AF_* number of an address family. */
export function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}
export const SOCK_RAW = 3;
export const NETLINK_ROUTE = 0;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const SOL_NETLINK = 270;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;
export const MSG_PEEK = 0x02;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;

/** struct sockaddr_nl: family u16, pad u16, port id u32, groups u32. */
export const SIZEOF_SOCKADDR_NL = 12;

export function encodeSockaddrNl(portId = 0, groups = 0): Buffer {
  const b = Buffer.alloc(SIZEOF_SOCKADDR_NL);
  b.writeUInt16LE(AF_NETLINK, 0);
  b.writeUInt32LE(portId >>> 0, 4);
  b.writeUInt32LE(groups >>> 0, 8);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Messages: linux/netlink.h

export const SIZEOF_NLMSGHDR = 16;
export const NLMSG_ALIGNTO = 4;
export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
export const NLMSG_MIN_TYPE = 0x10;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_ATOMIC = 0x400;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** In NLMSG_ERROR: the request was echoed without its payload (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** In NLMSG_ERROR and NLMSG_DONE: extended-ack attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

/** struct nlmsgerr: error int + the request's nlmsghdr. */
export const SIZEOF_NLMSGERR = 20;
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_ALIGNTO = 4;
export const SIZEOF_NLATTR = 4;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export function nlmsgAlign(length: number): number {
  return (length + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

// ---------------------------------------------------------------------------------------------
// rtnetlink message types and groups: linux/rtnetlink.h

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const RTNLGRP_LINK = 1;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV6_IFADDR = 9;
export const RTNLGRP_IPV6_ROUTE = 11;

// ---------------------------------------------------------------------------------------------
// Links: linux/rtnetlink.h (ifinfomsg), linux/if.h, linux/if_arp.h, linux/if_link.h, linux/if_tun.h

/** struct ifinfomsg: family u8, pad u8, type u16, index i32, flags u32, change u32. */
export const SIZEOF_IFINFOMSG = 16;

export const IFF_UP = 1 << 0;
export const IFF_BROADCAST = 1 << 1;
export const IFF_DEBUG = 1 << 2;
export const IFF_LOOPBACK = 1 << 3;
export const IFF_POINTOPOINT = 1 << 4;
export const IFF_NOTRAILERS = 1 << 5;
export const IFF_RUNNING = 1 << 6;
export const IFF_NOARP = 1 << 7;
export const IFF_PROMISC = 1 << 8;
export const IFF_ALLMULTI = 1 << 9;
export const IFF_MASTER = 1 << 10;
export const IFF_SLAVE = 1 << 11;
export const IFF_MULTICAST = 1 << 12;
export const IFF_PORTSEL = 1 << 13;
export const IFF_AUTOMEDIA = 1 << 14;
export const IFF_DYNAMIC = 1 << 15;
export const IFF_LOWER_UP = 1 << 16;
export const IFF_DORMANT = 1 << 17;
export const IFF_ECHO = 1 << 18;

export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_NOTPRESENT = 1;
export const IF_OPER_DOWN = 2;
export const IF_OPER_LOWERLAYERDOWN = 3;
export const IF_OPER_TESTING = 4;
export const IF_OPER_DORMANT = 5;
export const IF_OPER_UP = 6;

export const IF_LINK_MODE_DEFAULT = 0;
export const IF_LINK_MODE_DORMANT = 1;
export const IF_LINK_MODE_TESTING = 2;

export const ARPHRD_ETHER = 1;
export const ARPHRD_TUNNEL = 768;
export const ARPHRD_TUNNEL6 = 769;
export const ARPHRD_LOOPBACK = 772;
export const ARPHRD_SIT = 776;
export const ARPHRD_IPGRE = 778;
export const ARPHRD_IP6GRE = 823;
export const ARPHRD_VOID = 0xffff;
export const ARPHRD_NONE = 0xfffe;

export const IFLA_UNSPEC = 0;
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_STATS64 = 23;
export const IFLA_AF_SPEC = 26;
export const IFLA_GROUP = 27;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
export const IFLA_CARRIER = 33;
export const IFLA_CARRIER_CHANGES = 35;
export const IFLA_GSO_MAX_SEGS = 40;
export const IFLA_GSO_MAX_SIZE = 41;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_PAD = 42;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_PROP_LIST = 52;
export const IFLA_ALT_IFNAME = 53;
export const IFLA_PERM_ADDRESS = 54;
export const IFLA_GRO_MAX_SIZE = 58;
export const IFLA_TSO_MAX_SIZE = 59;
export const IFLA_TSO_MAX_SEGS = 60;
export const IFLA_ALLMULTI = 61;

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;

export const IFLA_INET6_FLAGS = 1;
export const IFLA_INET6_ADDR_GEN_MODE = 8;

export const IN6_ADDR_GEN_MODE_EUI64 = 0;
export const IN6_ADDR_GEN_MODE_NONE = 1;
export const IN6_ADDR_GEN_MODE_STABLE_PRIVACY = 2;
export const IN6_ADDR_GEN_MODE_RANDOM = 3;

export const IFLA_TUN_OWNER = 1;
export const IFLA_TUN_GROUP = 2;
export const IFLA_TUN_TYPE = 3;
export const IFLA_TUN_PI = 4;
export const IFLA_TUN_VNET_HDR = 5;
export const IFLA_TUN_PERSIST = 6;
export const IFLA_TUN_MULTI_QUEUE = 7;
export const IFLA_TUN_NUM_QUEUES = 8;
export const IFLA_TUN_NUM_DISABLED_QUEUES = 9;
export const IFF_TUN = 0x0001;
export const IFF_TAP = 0x0002;

export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_GROUP = 2;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_TOS = 6;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_GROUP6 = 16;
export const IFLA_VXLAN_LOCAL6 = 17;
export const IFLA_VXLAN_UDP_CSUM = 18;

/** IFLA_EXT_MASK bit: leave IFLA_STATS/IFLA_STATS64 out of the answer. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** Field names of struct rtnl_link_stats64, in order (u64 each). */
export const LINK_STATS64_FIELDS = [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxErrors',
  'txErrors',
  'rxDropped',
  'txDropped',
  'multicast',
  'collisions',
  'rxLengthErrors',
  'rxOverErrors',
  'rxCrcErrors',
  'rxFrameErrors',
  'rxFifoErrors',
  'rxMissedErrors',
  'txAbortedErrors',
  'txCarrierErrors',
  'txFifoErrors',
  'txHeartbeatErrors',
  'txWindowErrors',
  'rxCompressed',
  'txCompressed',
  'rxNohandler',
  'rxOtherhostDropped',
] as const;

// ---------------------------------------------------------------------------------------------
// Addresses: linux/if_addr.h

/** struct ifaddrmsg: family u8, prefixlen u8, flags u8, scope u8, index u32. */
export const SIZEOF_IFADDRMSG = 8;
/** struct ifa_cacheinfo: preferred u32, valid u32, cstamp u32, tstamp u32. */
export const SIZEOF_IFA_CACHEINFO = 16;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_ANYCAST = 5;
export const IFA_CACHEINFO = 6;
export const IFA_MULTICAST = 7;
export const IFA_FLAGS = 8;
export const IFA_RT_PRIORITY = 9;
export const IFA_PROTO = 11;

export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_OPTIMISTIC = 0x04;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;
export const IFA_F_MCAUTOJOIN = 0x400;
export const IFA_F_STABLE_PRIVACY = 0x800;

/** ifa_cacheinfo lifetime meaning "forever". */
export const INFINITY_LIFE_TIME = 0xffffffff;

// ---------------------------------------------------------------------------------------------
// Routes: linux/rtnetlink.h

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags u32. */
export const SIZEOF_RTMSG = 12;
/** struct rta_cacheinfo: clntref, lastuse, expires (s32), error, used, id, ts, tsage. */
export const SIZEOF_RTA_CACHEINFO = 32;
/** struct rtnexthop: len u16, flags u8, hops u8, ifindex i32. */
export const SIZEOF_RTNEXTHOP = 8;

export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTN_THROW = 9;
export const RTN_NAT = 10;
export const RTN_XRESOLVE = 11;

export const RTPROT_UNSPEC = 0;
export const RTPROT_REDIRECT = 1;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RTPROT_RA = 9;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

export const RTM_F_NOTIFY = 0x100;
export const RTM_F_CLONED = 0x200;
export const RTM_F_LOOKUP_TABLE = 0x1000;
export const RTM_F_FIB_MATCH = 0x2000;

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_MULTIPATH = 9;
export const RTA_CACHEINFO = 12;
export const RTA_TABLE = 15;
export const RTA_MARK = 16;
export const RTA_VIA = 18;
export const RTA_PREF = 20;
export const RTA_EXPIRES = 23;
export const RTA_UID = 25;

export const RTAX_LOCK = 1;
export const RTAX_MTU = 2;
export const RTAX_ADVMSS = 8;
export const RTAX_HOPLIMIT = 10;

export const RTNH_F_DEAD = 1;
export const RTNH_F_ONLINK = 4;
export const RTNH_F_LINKDOWN = 16;

/** USER_HZ: the unit of rta_cacheinfo.rta_expires (clock_t ticks); `ip` divides by it too. */
export const USER_HZ = 100;

function malformed(what: string): BurrowError {
  return new BurrowError('EIO', `malformed netlink message: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Writes one netlink message: the nlmsghdr, a family header, attributes (nests included).
 * The sequence number is left 0; the handle stamps it when it sends (`setSequence`).
 */
export class MessageBuilder {
  private buf: Buffer;
  private len = 0;

  constructor(type: number, flags: number, capacity = 256) {
    this.buf = Buffer.alloc(capacity);
    this.buf.writeUInt16LE(type, 4);
    this.buf.writeUInt16LE(flags, 6);
    this.len = SIZEOF_NLMSGHDR;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + nlmsgAlign(n);
    if (need > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.len = need;
    return at;
  }

  /** Appends a fixed family header (its bytes are padded to 4). */
  header(bytes: Uint8Array): this {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }

  attr(type: number, value: Uint8Array): this {
    const at = this.reserve(SIZEOF_NLATTR + value.length);
    this.buf.writeUInt16LE(SIZEOF_NLATTR + value.length, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.set(value, at + SIZEOF_NLATTR);
    return this;
  }

  attrU8(type: number, value: number): this {
    return this.attr(type, Uint8Array.of(value & 0xff));
  }

  attrU16(type: number, value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(value & 0xffff);
    return this.attr(type, b);
  }

  attrU32(type: number, value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    return this.attr(type, b);
  }

  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING/NLA_STRING policies accept. */
  attrString(type: number, value: string): this {
    const s = Buffer.from(value, 'utf8');
    const b = Buffer.alloc(s.length + 1);
    s.copy(b);
    return this.attr(type, b);
  }

  /** An address in network order: 4 bytes for a number, 16 for an IPv6 array. */
  attrIp(type: number, address: IpAddress): this {
    return this.attr(type, encodeIp(address));
  }

  /**
   * Opens a nest; pass the result to `endNest`. Like iproute2, it leaves NLA_F_NESTED clear: the
   * kernel's policies for the nests burrow sends (IFLA_AF_SPEC, RTA_METRICS) predate the flag and take
   * both forms, and the bytes stay identical to what `ip` sends, which the tests compare against.
   */
  beginNest(type: number): number {
    const at = this.reserve(SIZEOF_NLATTR);
    this.buf.writeUInt16LE(type, at + 2);
    return at;
  }

  endNest(at: number): this {
    this.buf.writeUInt16LE(this.len - at, at);
    return this;
  }

  /** The finished message (a copy, so the builder could be reused). */
  finish(): Buffer {
    this.buf.writeUInt32LE(this.len, 0);
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

export function encodeIp(address: IpAddress): Buffer {
  if (typeof address === 'number') {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(address >>> 0);
    return b;
  }
  if (address.length !== 16) throw new BurrowError('EINVAL', 'an IPv6 address has 16 bytes');
  return Buffer.from(address);
}

/** Stamps the sequence number and port id into a message built by MessageBuilder. */
export function setSequence(message: Buffer, seq: number, portId = 0): void {
  message.writeUInt32LE(seq >>> 0, 8);
  message.writeUInt32LE(portId >>> 0, 12);
}

export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

export function encodeIfInfoMsg(m: Partial<IfInfoMsg>): Buffer {
  const b = Buffer.alloc(SIZEOF_IFINFOMSG);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}

export interface IfAddrMsg {
  family: number;
  prefixLength: number;
  flags: number;
  scope: number;
  index: number;
}

export function encodeIfAddrMsg(m: Partial<IfAddrMsg>): Buffer {
  const b = Buffer.alloc(SIZEOF_IFADDRMSG);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt8(m.prefixLength ?? 0, 1);
  b.writeUInt8(m.flags ?? 0, 2);
  b.writeUInt8(m.scope ?? 0, 3);
  b.writeUInt32LE((m.index ?? 0) >>> 0, 4);
  return b;
}

export interface RtMsg {
  family: number;
  dstLength: number;
  srcLength: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function encodeRtMsg(m: Partial<RtMsg>): Buffer {
  const b = Buffer.alloc(SIZEOF_RTMSG);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt8(m.dstLength ?? 0, 1);
  b.writeUInt8(m.srcLength ?? 0, 2);
  b.writeUInt8(m.tos ?? 0, 3);
  b.writeUInt8(m.table ?? 0, 4);
  b.writeUInt8(m.protocol ?? 0, 5);
  b.writeUInt8(m.scope ?? 0, 6);
  b.writeUInt8(m.type ?? 0, 7);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Decoding: messages and attributes

export interface NlMsgHeader {
  length: number;
  type: number;
  flags: number;
  seq: number;
  portId: number;
}

/** One message of a datagram. `payload` is a view of the caller's buffer, valid while it is. */
export interface NlMessage {
  header: NlMsgHeader;
  payload: Buffer;
}

function readHeader(b: Buffer, at: number): NlMsgHeader {
  return {
    length: b.readUInt32LE(at),
    type: b.readUInt16LE(at + 4),
    flags: b.readUInt16LE(at + 6),
    seq: b.readUInt32LE(at + 8),
    portId: b.readUInt32LE(at + 12),
  };
}

/**
 * Splits a datagram into messages (NLMSG_OK/NLMSG_NEXT). Throws EIO when a header does not fit or
 * claims more bytes than there are.
 */
export function parseMessages(data: Buffer, offset = 0, length = data.length - offset): NlMessage[] {
  const out: NlMessage[] = [];
  const end = offset + length;
  let at = offset;
  while (at < end) {
    if (end - at < SIZEOF_NLMSGHDR) throw malformed(`${end - at} trailing bytes`);
    const header = readHeader(data, at);
    if (header.length < SIZEOF_NLMSGHDR || header.length > end - at) {
      throw malformed(`nlmsg_len ${header.length} with ${end - at} bytes left`);
    }
    out.push({ header, payload: data.subarray(at + SIZEOF_NLMSGHDR, at + header.length) });
    at += nlmsgAlign(header.length);
  }
  return out;
}

/**
 * Calls `visit` for each attribute in `data[offset, end)`, with the type (flag bits masked off) and a
 * view of the value. Throws EIO when an attribute overruns its container.
 */
export function forEachAttr(
  data: Buffer,
  offset: number,
  end: number,
  visit: (type: number, value: Buffer, nested: boolean) => void,
): void {
  let at = offset;
  while (end - at >= SIZEOF_NLATTR) {
    const len = data.readUInt16LE(at);
    const rawType = data.readUInt16LE(at + 2);
    if (len < SIZEOF_NLATTR || len > end - at) throw malformed(`rta_len ${len} with ${end - at} bytes left`);
    visit(rawType & NLA_TYPE_MASK, data.subarray(at + SIZEOF_NLATTR, at + len), (rawType & NLA_F_NESTED) !== 0);
    at += nlmsgAlign(len);
  }
}

/** Attributes by type (the last one wins when a type repeats). Values are views. */
export type AttrTable = (Buffer | undefined)[];

export function parseAttrs(data: Buffer, offset = 0, end = data.length): AttrTable {
  const table: AttrTable = [];
  forEachAttr(data, offset, end, (type, value) => {
    table[type] = value;
  });
  return table;
}

export function attrU8(v: Buffer | undefined): number | undefined {
  return v !== undefined && v.length >= 1 ? v.readUInt8(0) : undefined;
}

export function attrU16(v: Buffer | undefined): number | undefined {
  return v !== undefined && v.length >= 2 ? v.readUInt16LE(0) : undefined;
}

export function attrU32(v: Buffer | undefined): number | undefined {
  return v !== undefined && v.length >= 4 ? v.readUInt32LE(0) : undefined;
}

export function attrS32(v: Buffer | undefined): number | undefined {
  return v !== undefined && v.length >= 4 ? v.readInt32LE(0) : undefined;
}

/** A string up to its first NUL (the kernel NUL-terminates most, not all, strings). */
export function attrString(v: Buffer | undefined): string | undefined {
  if (v === undefined) return undefined;
  const nul = v.indexOf(0);
  return v.toString('utf8', 0, nul < 0 ? v.length : nul);
}

/** An address of the given family in network order, copied out; undefined when the size is wrong. */
export function attrIp(v: Buffer | undefined, family: number): IpAddress | undefined {
  if (v === undefined) return undefined;
  if (family === AF_INET && v.length === 4) return v.readUInt32BE(0);
  if (family === AF_INET6 && v.length === 16) return Uint8Array.from(v);
  return undefined;
}

function attrBytes(v: Buffer | undefined): Uint8Array | undefined {
  return v === undefined ? undefined : Uint8Array.from(v);
}

// ---------------------------------------------------------------------------------------------
// NLMSG_ERROR and NLMSG_DONE

export interface NlError {
  /** Positive errno, 0 for an acknowledgement. */
  errno: number;
  /** errno name, '' for an acknowledgement. */
  name: string;
  /** Header of the request this answers. */
  request: NlMsgHeader;
  /** Extended ack text (NLMSGERR_ATTR_MSG), e.g. "Invalid prefix for given prefix length." */
  message?: string;
  /** Byte offset in the request of the attribute the kernel objected to (NLMSGERR_ATTR_OFFS). */
  offset?: number;
}

/** Decodes struct nlmsgerr and its extended-ack attributes. */
export function decodeError(payload: Buffer, flags: number): NlError {
  if (payload.length < SIZEOF_NLMSGERR) throw malformed(`nlmsgerr of ${payload.length} bytes`);
  const error = payload.readInt32LE(0);
  const request = readHeader(payload, 4);
  const errno = error === 0 ? 0 : -error;
  const out: NlError = { errno, name: errno === 0 ? '' : errnoName(errno), request };
  if ((flags & NLM_F_ACK_TLVS) !== 0) {
    // Without NLM_F_CAPPED the whole request is echoed before the attributes.
    const echoed = (flags & NLM_F_CAPPED) !== 0 ? SIZEOF_NLMSGHDR : nlmsgAlign(request.length);
    const start = 4 + echoed;
    if (start <= payload.length) {
      const attrs = parseAttrs(payload, start, payload.length);
      const message = attrString(attrs[NLMSGERR_ATTR_MSG]);
      if (message !== undefined) out.message = message;
      const offset = attrU32(attrs[NLMSGERR_ATTR_OFFS]);
      if (offset !== undefined) out.offset = offset;
    }
  }
  return out;
}

/** NLMSG_DONE carries an int: 0, or a negative errno when the dump failed part way. */
export function decodeDone(payload: Buffer, flags: number): { errno: number; message?: string } {
  if (payload.length < 4) return { errno: 0 };
  const error = payload.readInt32LE(0);
  const out: { errno: number; message?: string } = { errno: error === 0 ? 0 : -error };
  if ((flags & NLM_F_ACK_TLVS) !== 0) {
    const message = attrString(parseAttrs(payload, 4, payload.length)[NLMSGERR_ATTR_MSG]);
    if (message !== undefined) out.message = message;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Links

export type OperState = 'UNKNOWN' | 'NOTPRESENT' | 'DOWN' | 'LOWERLAYERDOWN' | 'TESTING' | 'DORMANT' | 'UP';
export const OPER_STATES: readonly OperState[] = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];

/** iproute2's addrgenmode keywords, in the kernel's order (IN6_ADDR_GEN_MODE_*). */
export type AddrGenMode = 'eui64' | 'none' | 'stable_secret' | 'random';
export const ADDR_GEN_MODES: readonly AddrGenMode[] = ['eui64', 'none', 'stable_secret', 'random'];

export interface LinkFlags {
  up: boolean;
  broadcast: boolean;
  loopback: boolean;
  pointToPoint: boolean;
  running: boolean;
  noArp: boolean;
  promisc: boolean;
  allMulti: boolean;
  multicast: boolean;
  lowerUp: boolean;
  dormant: boolean;
  /** ifi_flags as sent (IFF_*). */
  raw: number;
}

export function decodeLinkFlags(raw: number): LinkFlags {
  return {
    up: (raw & IFF_UP) !== 0,
    broadcast: (raw & IFF_BROADCAST) !== 0,
    loopback: (raw & IFF_LOOPBACK) !== 0,
    pointToPoint: (raw & IFF_POINTOPOINT) !== 0,
    running: (raw & IFF_RUNNING) !== 0,
    noArp: (raw & IFF_NOARP) !== 0,
    promisc: (raw & IFF_PROMISC) !== 0,
    allMulti: (raw & IFF_ALLMULTI) !== 0,
    multicast: (raw & IFF_MULTICAST) !== 0,
    lowerUp: (raw & IFF_LOWER_UP) !== 0,
    dormant: (raw & IFF_DORMANT) !== 0,
    raw: raw >>> 0,
  };
}

export type LinkStats64 = Record<(typeof LINK_STATS64_FIELDS)[number], number>;

/** Kind-specific data (IFLA_INFO_DATA) for the kinds burrow reads; other kinds give null. */
export type LinkKindInfo =
  | {
      kind: 'tun';
      tunType: 'tun' | 'tap';
      pi: boolean;
      vnetHdr: boolean;
      persist: boolean;
      multiQueue: boolean;
      numQueues?: number;
      numDisabledQueues?: number;
      /** uid/gid allowed to attach, when set. */
      owner?: number;
      group?: number;
    }
  | {
      kind: 'vxlan';
      vni: number;
      /** Remote (unicast) or multicast group. */
      group?: IpAddress;
      local?: IpAddress;
      /** Underlay ifindex (`dev`). */
      link?: number;
      /** Destination UDP port. */
      port?: number;
      ttl?: number;
      tos?: number;
      learning?: boolean;
      udpCsum?: boolean;
    };

export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* (ifi_type): ARPHRD_ETHER, ARPHRD_NONE for tun, ARPHRD_LOOPBACK, ... */
  type: number;
  flags: LinkFlags;
  mtu: number;
  minMtu?: number;
  maxMtu?: number;
  txqlen?: number;
  operstate: OperState;
  linkmode?: number;
  /** IFLA_LINK: the peer or lower device's ifindex (veth peer, vlan parent). */
  link?: number;
  /** IFLA_LINK_NETNSID: `link` lives in the namespace with this id. */
  linkNetnsid?: number;
  master?: number;
  /** Hardware address (6 bytes for Ethernet; the local IPv4 address for ipip/gre/sit). */
  address?: Uint8Array;
  broadcast?: Uint8Array;
  permAddress?: Uint8Array;
  qdisc?: string;
  group?: number;
  promiscuity?: number;
  numTxQueues?: number;
  numRxQueues?: number;
  /** IFLA_ALLMULTI and the offload limits `ip -d link show` prints. */
  allmulti?: number;
  gsoMaxSize?: number;
  gsoMaxSegs?: number;
  groMaxSize?: number;
  tsoMaxSize?: number;
  tsoMaxSegs?: number;
  carrier?: boolean;
  carrierChanges?: number;
  alias?: string;
  altNames: string[];
  /** IFLA_INFO_KIND: 'tun', 'veth', 'vxlan', 'dummy', ...; null for devices without one (lo, physical). */
  kind: string | null;
  slaveKind?: string;
  info: LinkKindInfo | null;
  /** IPv6 address generation mode, absent when the device has no IPv6 state. */
  addrGenMode?: AddrGenMode;
  stats64?: LinkStats64;
}

export function decodeIfInfoMsg(payload: Buffer): IfInfoMsg {
  if (payload.length < SIZEOF_IFINFOMSG) throw malformed(`ifinfomsg of ${payload.length} bytes`);
  return {
    family: payload.readUInt8(0),
    type: payload.readUInt16LE(2),
    index: payload.readInt32LE(4),
    flags: payload.readUInt32LE(8),
    change: payload.readUInt32LE(12),
  };
}

export function decodeStats64(v: Buffer): LinkStats64 {
  const out = {} as LinkStats64;
  LINK_STATS64_FIELDS.forEach((name, i) => {
    // Older kernels send fewer fields; the missing ones read as 0.
    out[name] = v.length >= (i + 1) * 8 ? Number(v.readBigUInt64LE(i * 8)) : 0;
  });
  return out;
}

function decodeTunInfo(data: AttrTable): LinkKindInfo {
  const info: LinkKindInfo = {
    kind: 'tun',
    tunType: attrU8(data[IFLA_TUN_TYPE]) === IFF_TAP ? 'tap' : 'tun',
    pi: attrU8(data[IFLA_TUN_PI]) === 1,
    vnetHdr: attrU8(data[IFLA_TUN_VNET_HDR]) === 1,
    persist: attrU8(data[IFLA_TUN_PERSIST]) === 1,
    multiQueue: attrU8(data[IFLA_TUN_MULTI_QUEUE]) === 1,
  };
  const nq = attrU32(data[IFLA_TUN_NUM_QUEUES]);
  if (nq !== undefined) info.numQueues = nq;
  const nd = attrU32(data[IFLA_TUN_NUM_DISABLED_QUEUES]);
  if (nd !== undefined) info.numDisabledQueues = nd;
  const owner = attrU32(data[IFLA_TUN_OWNER]);
  if (owner !== undefined) info.owner = owner;
  const group = attrU32(data[IFLA_TUN_GROUP]);
  if (group !== undefined) info.group = group;
  return info;
}

function decodeVxlanInfo(data: AttrTable): LinkKindInfo {
  const info: LinkKindInfo = { kind: 'vxlan', vni: attrU32(data[IFLA_VXLAN_ID]) ?? 0 };
  const group = attrIp(data[IFLA_VXLAN_GROUP], AF_INET) ?? attrIp(data[IFLA_VXLAN_GROUP6], AF_INET6);
  if (group !== undefined) info.group = group;
  const local = attrIp(data[IFLA_VXLAN_LOCAL], AF_INET) ?? attrIp(data[IFLA_VXLAN_LOCAL6], AF_INET6);
  if (local !== undefined) info.local = local;
  const link = attrU32(data[IFLA_VXLAN_LINK]);
  if (link !== undefined) info.link = link;
  const port = data[IFLA_VXLAN_PORT];
  if (port !== undefined && port.length >= 2) info.port = port.readUInt16BE(0);
  const ttl = attrU8(data[IFLA_VXLAN_TTL]);
  if (ttl !== undefined) info.ttl = ttl;
  const tos = attrU8(data[IFLA_VXLAN_TOS]);
  if (tos !== undefined) info.tos = tos;
  const learning = attrU8(data[IFLA_VXLAN_LEARNING]);
  if (learning !== undefined) info.learning = learning !== 0;
  const csum = attrU8(data[IFLA_VXLAN_UDP_CSUM]);
  if (csum !== undefined) info.udpCsum = csum !== 0;
  return info;
}

/** Decodes an RTM_NEWLINK/RTM_DELLINK payload (ifinfomsg + IFLA_*). */
export function decodeLink(payload: Buffer): Link {
  const ifi = decodeIfInfoMsg(payload);
  const a = parseAttrs(payload, SIZEOF_IFINFOMSG, payload.length);
  const name = attrString(a[IFLA_IFNAME]);
  if (name === undefined) throw malformed(`link ${ifi.index} without IFLA_IFNAME`);
  const link: Link = {
    index: ifi.index,
    name,
    type: ifi.type,
    flags: decodeLinkFlags(ifi.flags),
    mtu: attrU32(a[IFLA_MTU]) ?? 0,
    operstate: OPER_STATES[attrU8(a[IFLA_OPERSTATE]) ?? IF_OPER_UNKNOWN] ?? 'UNKNOWN',
    altNames: [],
    kind: null,
    info: null,
  };
  const optionalU32: [keyof Link, number][] = [
    ['minMtu', IFLA_MIN_MTU],
    ['maxMtu', IFLA_MAX_MTU],
    ['txqlen', IFLA_TXQLEN],
    ['link', IFLA_LINK],
    ['master', IFLA_MASTER],
    ['group', IFLA_GROUP],
    ['promiscuity', IFLA_PROMISCUITY],
    ['numTxQueues', IFLA_NUM_TX_QUEUES],
    ['numRxQueues', IFLA_NUM_RX_QUEUES],
    ['carrierChanges', IFLA_CARRIER_CHANGES],
    ['allmulti', IFLA_ALLMULTI],
    ['gsoMaxSize', IFLA_GSO_MAX_SIZE],
    ['gsoMaxSegs', IFLA_GSO_MAX_SEGS],
    ['groMaxSize', IFLA_GRO_MAX_SIZE],
    ['tsoMaxSize', IFLA_TSO_MAX_SIZE],
    ['tsoMaxSegs', IFLA_TSO_MAX_SEGS],
  ];
  const rec = link as unknown as Record<string, unknown>;
  for (const [key, type] of optionalU32) {
    const v = attrU32(a[type]);
    if (v !== undefined) rec[key] = v;
  }
  const netnsid = attrS32(a[IFLA_LINK_NETNSID]);
  if (netnsid !== undefined) link.linkNetnsid = netnsid;
  const linkmode = attrU8(a[IFLA_LINKMODE]);
  if (linkmode !== undefined) link.linkmode = linkmode;
  const carrier = attrU8(a[IFLA_CARRIER]);
  if (carrier !== undefined) link.carrier = carrier !== 0;
  const address = attrBytes(a[IFLA_ADDRESS]);
  if (address !== undefined) link.address = address;
  const broadcast = attrBytes(a[IFLA_BROADCAST]);
  if (broadcast !== undefined) link.broadcast = broadcast;
  const perm = attrBytes(a[IFLA_PERM_ADDRESS]);
  if (perm !== undefined) link.permAddress = perm;
  const qdisc = attrString(a[IFLA_QDISC]);
  if (qdisc !== undefined) link.qdisc = qdisc;
  const alias = attrString(a[IFLA_IFALIAS]);
  if (alias !== undefined && alias !== '') link.alias = alias;
  const props = a[IFLA_PROP_LIST];
  if (props !== undefined) {
    forEachAttr(props, 0, props.length, (type, value) => {
      if (type === IFLA_ALT_IFNAME) link.altNames.push(attrString(value) ?? '');
    });
  }
  const stats = a[IFLA_STATS64];
  if (stats !== undefined) link.stats64 = decodeStats64(stats);

  const linkinfo = a[IFLA_LINKINFO];
  if (linkinfo !== undefined) {
    const li = parseAttrs(linkinfo);
    link.kind = attrString(li[IFLA_INFO_KIND]) ?? null;
    const slaveKind = attrString(li[IFLA_INFO_SLAVE_KIND]);
    if (slaveKind !== undefined) link.slaveKind = slaveKind;
    const data = li[IFLA_INFO_DATA];
    if (data !== undefined) {
      if (link.kind === 'tun') link.info = decodeTunInfo(parseAttrs(data));
      else if (link.kind === 'vxlan') link.info = decodeVxlanInfo(parseAttrs(data));
    }
  }

  const afSpec = a[IFLA_AF_SPEC];
  if (afSpec !== undefined) {
    const inet6 = parseAttrs(afSpec)[AF_INET6];
    if (inet6 !== undefined) {
      const mode = attrU8(parseAttrs(inet6)[IFLA_INET6_ADDR_GEN_MODE]);
      if (mode !== undefined && ADDR_GEN_MODES[mode] !== undefined) link.addrGenMode = ADDR_GEN_MODES[mode];
    }
  }
  return link;
}

/** iproute2's name for an ARPHRD type ("link/ether", "link/none"), for the ones burrow meets. */
export function linkTypeName(type: number): string {
  switch (type) {
    case ARPHRD_ETHER:
      return 'ether';
    case ARPHRD_LOOPBACK:
      return 'loopback';
    case ARPHRD_NONE:
      return 'none';
    case ARPHRD_VOID:
      return 'void';
    case ARPHRD_TUNNEL:
      return 'ipip';
    case ARPHRD_TUNNEL6:
      return 'tunnel6';
    case ARPHRD_SIT:
      return 'sit';
    case ARPHRD_IPGRE:
      return 'gre';
    case ARPHRD_IP6GRE:
      return 'gre6';
    default:
      return `[${type}]`;
  }
}

// ---------------------------------------------------------------------------------------------
// Addresses

export interface Address {
  family: IpFamily;
  /** ifindex of the device. */
  index: number;
  /** The local address (IFA_LOCAL, else IFA_ADDRESS). */
  address: IpAddress;
  prefixLength: number;
  /** The peer of a point-to-point address (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: IpAddress;
  broadcast?: IpAddress;
  label?: string;
  /** RT_SCOPE_*. */
  scope: number;
  /** IFA_F_* (IFA_FLAGS when present, else ifa_flags). */
  flags: number;
  /** Seconds; INFINITY_LIFE_TIME for forever. */
  preferredLifetime?: number;
  validLifetime?: number;
  /** IFA_RT_PRIORITY: metric of the prefix route. */
  metric?: number;
  proto?: number;
}

export function decodeIfAddrMsg(payload: Buffer): IfAddrMsg {
  if (payload.length < SIZEOF_IFADDRMSG) throw malformed(`ifaddrmsg of ${payload.length} bytes`);
  return {
    family: payload.readUInt8(0),
    prefixLength: payload.readUInt8(1),
    flags: payload.readUInt8(2),
    scope: payload.readUInt8(3),
    index: payload.readUInt32LE(4),
  };
}

/** Decodes an RTM_NEWADDR/RTM_DELADDR payload; null for families other than IPv4 and IPv6. */
export function decodeAddress(payload: Buffer): Address | null {
  const ifa = decodeIfAddrMsg(payload);
  if (ifa.family !== AF_INET && ifa.family !== AF_INET6) return null;
  const a = parseAttrs(payload, SIZEOF_IFADDRMSG, payload.length);
  const local = attrIp(a[IFA_LOCAL], ifa.family);
  const addr = attrIp(a[IFA_ADDRESS], ifa.family);
  const address = local ?? addr;
  if (address === undefined) throw malformed(`address on ifindex ${ifa.index} without IFA_ADDRESS`);
  const out: Address = {
    family: ifa.family === AF_INET ? 4 : 6,
    index: ifa.index,
    address,
    prefixLength: ifa.prefixLength,
    scope: ifa.scope,
    flags: attrU32(a[IFA_FLAGS]) ?? ifa.flags,
  };
  if (local !== undefined && addr !== undefined && !sameIp(local, addr)) out.peer = addr;
  const brd = attrIp(a[IFA_BROADCAST], ifa.family);
  if (brd !== undefined) out.broadcast = brd;
  const label = attrString(a[IFA_LABEL]);
  if (label !== undefined) out.label = label;
  const ci = a[IFA_CACHEINFO];
  if (ci !== undefined && ci.length >= SIZEOF_IFA_CACHEINFO) {
    out.preferredLifetime = ci.readUInt32LE(0);
    out.validLifetime = ci.readUInt32LE(4);
  }
  const metric = attrU32(a[IFA_RT_PRIORITY]);
  if (metric !== undefined) out.metric = metric;
  const proto = attrU8(a[IFA_PROTO]);
  if (proto !== undefined) out.proto = proto;
  return out;
}

function sameIp(a: IpAddress, b: IpAddress): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return Buffer.compare(a, b) === 0;
}

// ---------------------------------------------------------------------------------------------
// Routes

export type RouteType =
  | 'unspec'
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat'
  | 'xresolve';
/** RTN_* in order: the names `ip route` prints. */
export const ROUTE_TYPES: readonly RouteType[] = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
];

export interface Nexthop {
  oif: number;
  gateway?: IpAddress;
  weight: number;
  flags: number;
}

export interface Route {
  family: IpFamily;
  type: RouteType;
  /** Table id (RTA_TABLE, else rtm_table). */
  table: number;
  protocol: number;
  scope: number;
  tos: number;
  /** rtm_flags (RTM_F_*, RTNH_F_*). */
  flags: number;
  dst?: IpAddress;
  dstLength: number;
  src?: IpAddress;
  srcLength: number;
  iif?: number;
  oif?: number;
  gateway?: IpAddress;
  prefsrc?: IpAddress;
  priority?: number;
  mark?: number;
  uid?: number;
  /** RTAX_MTU: the route's MTU or a cached PMTU exception; absent when the route has none. */
  mtu?: number;
  /** RTAX_LOCK has the MTU bit (`mtu lock`). */
  mtuLocked: boolean;
  advmss?: number;
  hoplimit?: number;
  /** Every RTAX_* metric by number, RTAX_LOCK included. */
  metrics: Map<number, number>;
  /** Seconds until a cached entry (a PMTU exception, an IPv6 route with a lifetime) expires. */
  expires?: number;
  /** IPv6 router preference (RTA_PREF). */
  pref?: number;
  multipath?: Nexthop[];
}

export function decodeRtMsg(payload: Buffer): RtMsg {
  if (payload.length < SIZEOF_RTMSG) throw malformed(`rtmsg of ${payload.length} bytes`);
  return {
    family: payload.readUInt8(0),
    dstLength: payload.readUInt8(1),
    srcLength: payload.readUInt8(2),
    tos: payload.readUInt8(3),
    table: payload.readUInt8(4),
    protocol: payload.readUInt8(5),
    scope: payload.readUInt8(6),
    type: payload.readUInt8(7),
    flags: payload.readUInt32LE(8),
  };
}

/** The nexthop list of RTA_MULTIPATH (struct rtnexthop, then its own attributes). */
function decodeMultipath(v: Buffer, family: number): Nexthop[] {
  const out: Nexthop[] = [];
  let at = 0;
  while (v.length - at >= SIZEOF_RTNEXTHOP) {
    const len = v.readUInt16LE(at);
    if (len < SIZEOF_RTNEXTHOP || len > v.length - at) throw malformed(`rtnh_len ${len}`);
    const nh: Nexthop = { flags: v.readUInt8(at + 2), weight: v.readUInt8(at + 3) + 1, oif: v.readInt32LE(at + 4) };
    const gw = attrIp(parseAttrs(v, at + SIZEOF_RTNEXTHOP, at + len)[RTA_GATEWAY], family);
    if (gw !== undefined) nh.gateway = gw;
    out.push(nh);
    at += nlmsgAlign(len);
  }
  return out;
}

/** Decodes an RTM_NEWROUTE/RTM_DELROUTE payload; null for families other than IPv4 and IPv6. */
export function decodeRoute(payload: Buffer): Route | null {
  const rtm = decodeRtMsg(payload);
  if (rtm.family !== AF_INET && rtm.family !== AF_INET6) return null;
  const f = rtm.family;
  const a = parseAttrs(payload, SIZEOF_RTMSG, payload.length);
  const route: Route = {
    family: f === AF_INET ? 4 : 6,
    type: ROUTE_TYPES[rtm.type] ?? 'unspec',
    table: attrU32(a[RTA_TABLE]) ?? rtm.table,
    protocol: rtm.protocol,
    scope: rtm.scope,
    tos: rtm.tos,
    flags: rtm.flags,
    dstLength: rtm.dstLength,
    srcLength: rtm.srcLength,
    mtuLocked: false,
    metrics: new Map(),
  };
  const ips: [keyof Route, number][] = [
    ['dst', RTA_DST],
    ['src', RTA_SRC],
    ['gateway', RTA_GATEWAY],
    ['prefsrc', RTA_PREFSRC],
  ];
  const rec = route as unknown as Record<string, unknown>;
  for (const [key, type] of ips) {
    const v = attrIp(a[type], f);
    if (v !== undefined) rec[key] = v;
  }
  const u32s: [keyof Route, number][] = [
    ['iif', RTA_IIF],
    ['oif', RTA_OIF],
    ['priority', RTA_PRIORITY],
    ['mark', RTA_MARK],
    ['uid', RTA_UID],
  ];
  for (const [key, type] of u32s) {
    const v = attrU32(a[type]);
    if (v !== undefined) rec[key] = v;
  }
  const pref = attrU8(a[RTA_PREF]);
  if (pref !== undefined) route.pref = pref;
  const metrics = a[RTA_METRICS];
  if (metrics !== undefined) {
    forEachAttr(metrics, 0, metrics.length, (type, value) => {
      const v = attrU32(value);
      if (v !== undefined) route.metrics.set(type, v);
    });
    const mtu = route.metrics.get(RTAX_MTU);
    if (mtu !== undefined) route.mtu = mtu;
    route.mtuLocked = ((route.metrics.get(RTAX_LOCK) ?? 0) & (1 << RTAX_MTU)) !== 0;
    const advmss = route.metrics.get(RTAX_ADVMSS);
    if (advmss !== undefined) route.advmss = advmss;
    const hoplimit = route.metrics.get(RTAX_HOPLIMIT);
    if (hoplimit !== undefined) route.hoplimit = hoplimit;
  }
  const ci = a[RTA_CACHEINFO];
  if (ci !== undefined && ci.length >= 12) {
    const expires = ci.readInt32LE(8);
    if (expires !== 0) route.expires = Math.trunc(expires / USER_HZ);
  }
  const mp = a[RTA_MULTIPATH];
  if (mp !== undefined) route.multipath = decodeMultipath(mp, f);
  return route;
}
