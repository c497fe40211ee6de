/**
 * The typed door to `build/Release/pktio.node` (pktio.c beside this file), burrow's syscall boundary.
 *
 * Error convention (the same as pktio.c, restated for callers):
 * - Data-path and message calls (`readBatch`, `writeBatch`, `recvBatch`, `sendBatch`, `send`, `recv`)
 *   return a count or a negative errno (`-EAGAIN` when nothing is queued); batch writers also store the
 *   errno of every entry in `errors`. Turn a number into a name with `errnoName`.
 * - Control-plane calls throw. The wrappers exported here turn the addon's error (an Error with
 *   `code`, `errno`, `syscall`) into a `BurrowError` whenever errors.ts knows the code, and otherwise
 *   let the addon's Error through (it carries the same `code`).
 * - Wrong argument types or spans outside a buffer are bugs: TypeError / RangeError.
 *
 * The addon is loaded on first use, so modules that only import types (or the memory port) work on a
 * machine where it has not been built.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BurrowError, isErrnoName } from '../../errors.js';

/** Values from the kernel and libc headers, read by the addon at build time. */
export interface NativeConstants {
  readonly IFF_TUN: number;
  readonly IFF_TAP: number;
  readonly IFF_NO_PI: number;
  readonly IFF_VNET_HDR: number;
  readonly IFF_MULTI_QUEUE: number;
  readonly IFF_TUN_EXCL: number;
  readonly TUN_F_CSUM: number;
  readonly TUN_F_TSO4: number;
  readonly TUN_F_TSO6: number;
  readonly TUN_F_TSO_ECN: number;
  readonly TUN_F_UFO: number;
  readonly VIRTIO_NET_HDR_F_NEEDS_CSUM: number;
  readonly VIRTIO_NET_HDR_F_DATA_VALID: number;
  readonly VIRTIO_NET_HDR_GSO_NONE: number;
  readonly VIRTIO_NET_HDR_GSO_TCPV4: number;
  readonly VIRTIO_NET_HDR_GSO_TCPV6: number;
  readonly VIRTIO_NET_HDR_GSO_ECN: number;
  /** sizeof(struct virtio_net_hdr): the header IFF_VNET_HDR puts before each packet by default. */
  readonly VIRTIO_NET_HDR_SIZE: number;
  readonly SOL_UDP: number;
  readonly UDP_SEGMENT: number;
  readonly UDP_GRO: number;
  readonly ARPHRD_NONE: number;
  readonly ARPHRD_ETHER: number;
  readonly ARPHRD_TUNNEL: number;
  readonly ARPHRD_SIT: number;
  readonly ARPHRD_IPGRE: number;
  readonly AF_UNIX: number;
  readonly AF_INET: number;
  readonly AF_INET6: number;
  readonly AF_NETLINK: number;
  readonly AF_PACKET: number;
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  readonly SOCK_RAW: number;
  readonly SOL_SOCKET: number;
  readonly SO_REUSEADDR: number;
  readonly SO_ERROR: number;
  readonly SO_RCVBUF: number;
  readonly SO_SNDBUF: number;
  readonly SO_RCVBUFFORCE: number;
  readonly SO_SNDBUFFORCE: number;
  readonly SO_BINDTODEVICE: number;
  readonly SO_BINDTOIFINDEX: number;
  readonly SO_NETNS_COOKIE: number;
  readonly IPPROTO_IP: number;
  readonly IPPROTO_ICMP: number;
  readonly IPPROTO_IPIP: number;
  readonly IPPROTO_TCP: number;
  readonly IPPROTO_UDP: number;
  readonly IPPROTO_IPV6: number;
  readonly IPPROTO_GRE: number;
  readonly IPPROTO_ESP: number;
  readonly IPPROTO_RAW: number;
  readonly IP_TOS: number;
  readonly IP_TTL: number;
  readonly IP_HDRINCL: number;
  readonly IP_PKTINFO: number;
  readonly IP_MTU_DISCOVER: number;
  readonly IP_MTU: number;
  readonly IP_RECVERR: number;
  readonly IP_RECVTOS: number;
  readonly IP_PMTUDISC_DONT: number;
  readonly IP_PMTUDISC_WANT: number;
  readonly IP_PMTUDISC_DO: number;
  readonly IP_PMTUDISC_PROBE: number;
  readonly MSG_PEEK: number;
  readonly MSG_TRUNC: number;
  readonly MSG_DONTWAIT: number;
  readonly NETLINK_ROUTE: number;
  readonly SOL_NETLINK: number;
  readonly NETLINK_ADD_MEMBERSHIP: number;
  readonly NETLINK_DROP_MEMBERSHIP: number;
  readonly NETLINK_CAP_ACK: number;
  readonly NETLINK_EXT_ACK: number;
  readonly NETLINK_GET_STRICT_CHK: number;
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_NB: number;
  readonly LOCK_UN: number;
  readonly CLONE_NEWNET: number;
  /** Largest batch one recvBatch call returns (sendBatch takes more, in chunks of this size). */
  readonly MAX_BATCH: number;
}

/**
 * Called with no arguments when the fd is readable; with `(-errno, fatal)` when epoll reports an error.
 * `fatal` false: a socket's pending error (say ENOPROTOOPT from an ICMP protocol unreachable) was read
 * and cleared, and the watch continues. `fatal` true: the watch has stopped for good (a TUN whose
 * device was deleted); close the Poll and the fd.
 */
export type PollCallback = (errno?: number, fatal?: boolean) => void;

/** A libuv poll handle: level-triggered readable notifications for one fd, in the event loop. */
export interface NativePoll {
  /** Arms it (again); a started Poll keeps the process alive unless `unref()`ed. Throws on a closed fd. */
  start(): void;
  stop(): void;
  /** Stops for good and releases the handle; no callback runs afterwards. Call it before closing the fd. */
  close(): void;
  ref(): void;
  unref(): void;
}

export interface PktioAddon {
  tunOpen(name: string, flags: number): { fd: number; name: string };
  tunSetPersist(fd: number, persist: boolean): void;
  tunSetOffload(fd: number, flags: number): void;
  tunSetVnetHdrSize(fd: number, size: number): void;
  tunSetLinkType(fd: number, arphrd: number): void;
  socket(domain: number, type: number, protocol: number): number;
  close(fd: number): void;
  setsockoptInt(fd: number, level: number, name: number, value: number): void;
  setsockoptBuf(fd: number, level: number, name: number, value: Uint8Array): void;
  getsockoptInt(fd: number, level: number, name: number): number;
  getsockoptBuf(fd: number, level: number, name: number, buffer: Uint8Array): number;
  bind(fd: number, sockaddr: Uint8Array): void;
  connect(fd: number, sockaddr: Uint8Array): void;
  getsockname(fd: number, buffer: Uint8Array): number;
  send(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  recv(fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): number;
  waitReadable(fd: number, timeoutMs: number): boolean;
  ioctl(fd: number, request: number, arg: Uint8Array | number): number;
  netnsCookie(): bigint;
  flock(fd: number, op: number): void;
  setns(fd: number, nstype: number): void;
  ifNameToIndex(name: string): number;
  ifIndexToName(index: number): string;
  readBatch(
    fd: number, data: Uint8Array, slotSize: number, headroom: number,
    offsets: Uint32Array, lengths: Uint32Array, max: number, errors?: Int32Array | null,
    vnet?: Uint8Array | null, vnetLength?: number,
  ): number;
  /** With `vnet`, entry i is written after its header vnet[i*vnetLength, +vnetLength) (IFF_VNET_HDR). */
  writeBatch(
    fd: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, errors: Int32Array, count: number,
    vnet?: Uint8Array | null, vnetLength?: number,
  ): number;
  recvBatch(
    fd: number, data: Uint8Array, slotSize: number, headroom: number, offsets: Uint32Array,
    lengths: Uint32Array, addrs: Uint32Array, ports: Uint16Array, ifindexes: Uint32Array, max: number,
    errors?: Int32Array | null, tos?: Uint8Array | null,
  ): number;
  sendBatch(
    fd: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array,
    ports: Uint16Array, errors: Int32Array, count: number,
  ): number;
  Poll: new (fd: number, callback: PollCallback) => NativePoll;
  constants: NativeConstants;
}

const ADDON_PATH = path.join('build', 'Release', 'pktio.node');

/** The repository root: the first ancestor of this module holding binding.gyp (src/ or dist/src/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new BurrowError('ENOENT', 'binding.gyp not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let addon: PktioAddon | undefined;

/** The addon, loaded on first call. Throws ENOENT with a hint when it has not been built. */
export function native(): PktioAddon {
  if (addon !== undefined) return addon;
  const root = packageRoot();
  const file = path.join(root, ADDON_PATH);
  if (!fs.existsSync(file)) {
    throw new BurrowError(
      'ENOENT',
      `burrow's native addon ${file} is not built: run \`npm install\` in ${root} ` +
        '(needs python3, make, a C compiler and the Node headers in /usr/include/node)',
    );
  }
  addon = createRequire(import.meta.url)(file) as PktioAddon;
  return addon;
}

/** Whether the addon is built (for tests that can run without it). */
export function nativeAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}

export function constants(): NativeConstants {
  return native().constants;
}

// ---------- errno names ----------

/** Linux names that Node's os.constants.errno (POSIX only) leaves out. From include/uapi/asm-generic/errno.h. */
const LINUX_ONLY_ERRNO: Record<string, number> = { EBADFD: 77, ENONET: 64, EHOSTDOWN: 112, ENOTUNIQ: 76 };
/** Where two names share a number, the one glibc's strerrorname_np gives. */
const PREFERRED = new Set(['EAGAIN', 'EDEADLK', 'EOPNOTSUPP']);

const errnoNames = new Map<number, string>();
const errnoNumbers = new Map<string, number>();
for (const [name, value] of [...Object.entries(os.constants.errno), ...Object.entries(LINUX_ONLY_ERRNO)]) {
  errnoNumbers.set(name, value);
  if (!errnoNames.has(value) || PREFERRED.has(name)) errnoNames.set(value, name);
}

/** 'EAGAIN' for 11 or -11; 'E<n>' for a number without a name. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return errnoNames.get(n) ?? `E${n}`;
}

/** The positive errno for a name, or undefined. */
export function errnoNumber(name: string): number | undefined {
  return errnoNumbers.get(name);
}

/**
 * An operational error for an errno: a BurrowError when errors.ts knows the name, else an Error with
 * the same `code` (errors.ts lists only the names burrow prints).
 */
export function errnoError(errno: number, detail?: string): Error & { code: string } {
  const code = errnoName(errno);
  if (isErrnoName(code)) return new BurrowError(code, detail);
  const error = new Error(detail === undefined ? code : `${code}: ${detail}`) as Error & { code: string };
  error.code = code;
  return error;
}

/** Re-throws the addon's errno error as `errnoError`; anything else (TypeError, RangeError) unchanged. */
function rethrow(e: unknown): never {
  const err = e as { code?: unknown; errno?: unknown; syscall?: unknown };
  if (e instanceof Error && typeof err.code === 'string' && typeof err.errno === 'number') {
    throw errnoError(err.errno, typeof err.syscall === 'string' ? err.syscall : undefined);
  }
  throw e;
}

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    return rethrow(e);
  }
}

// ---------- control-plane wrappers (throw BurrowError) ----------

export const tunOpen = (name: string, flags: number) => call(() => native().tunOpen(name, flags));
export const tunSetPersist = (fd: number, persist: boolean) => call(() => native().tunSetPersist(fd, persist));
export const tunSetOffload = (fd: number, flags: number) => call(() => native().tunSetOffload(fd, flags));
export const tunSetVnetHdrSize = (fd: number, size: number) => call(() => native().tunSetVnetHdrSize(fd, size));
/** TUNSETLINK: the kernel refuses it with EBUSY while the device is up. */
export const tunSetLinkType = (fd: number, arphrd: number) => call(() => native().tunSetLinkType(fd, arphrd));
/** socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC added. */
export const socket = (domain: number, type: number, protocol: number) =>
  call(() => native().socket(domain, type, protocol));
export const close = (fd: number) => call(() => native().close(fd));
export const setsockoptInt = (fd: number, level: number, name: number, value: number) =>
  call(() => native().setsockoptInt(fd, level, name, value));
export const setsockoptBuf = (fd: number, level: number, name: number, value: Uint8Array) =>
  call(() => native().setsockoptBuf(fd, level, name, value));
export const getsockoptInt = (fd: number, level: number, name: number) =>
  call(() => native().getsockoptInt(fd, level, name));
/** Fills `buffer`, returns the option's length. */
export const getsockoptBuf = (fd: number, level: number, name: number, buffer: Uint8Array) =>
  call(() => native().getsockoptBuf(fd, level, name, buffer));
/** `sockaddr` is the raw struct (sockaddr_nl, sockaddr_in) built by the caller. */
export const bind = (fd: number, sockaddr: Uint8Array) => call(() => native().bind(fd, sockaddr));
export const connect = (fd: number, sockaddr: Uint8Array) => call(() => native().connect(fd, sockaddr));
/** Writes the socket's own sockaddr into `buffer`; returns its length (a netlink socket's port id, a UDP port). */
export const getsockname = (fd: number, buffer: Uint8Array) => call(() => native().getsockname(fd, buffer));
/**
 * poll(2) for one fd: true when readable (or an error is pending), false after timeoutMs.
 * BLOCKS the event loop: for synchronous control-plane exchanges (netlink) only.
 */
export const waitReadable = (fd: number, timeoutMs: number) => call(() => native().waitReadable(fd, timeoutMs));
/** ioctl(2); a Buffer argument is passed by address, a number by value. Returns ioctl's result. */
export const ioctl = (fd: number, request: number, arg: Uint8Array | number) =>
  call(() => native().ioctl(fd, request, arg));
/** flock(2) on an fd from fs.openSync; with LOCK_NB a held lock throws EAGAIN. */
export const flock = (fd: number, op: number) => call(() => native().flock(fd, op));
export const ifNameToIndex = (name: string) => call(() => native().ifNameToIndex(name));
export const ifIndexToName = (index: number) => call(() => native().ifIndexToName(index));

// ---------- message calls (return bytes or -errno; never throw for a failed syscall) ----------

/** send(2) with MSG_DONTWAIT: bytes sent or -errno. */
export const send = (fd: number, buffer: Uint8Array, offset: number, length: number): number =>
  native().send(fd, buffer, offset, length);
/** recv(2) with MSG_DONTWAIT added: bytes (the full datagram size with MSG_TRUNC) or -errno (-EAGAIN: empty). */
export const recv = (fd: number, buffer: Uint8Array, offset: number, length: number, flags = 0): number =>
  native().recv(fd, buffer, offset, length, flags);

// ---------- sockaddr_in ----------

const AF_INET = 2; // the one value the layout below needs; constants().AF_INET agrees (tested)

/** struct sockaddr_in (16 bytes): family in host order, then port and address in network order. */
export function sockaddrIn(addr: number, port: number): Buffer {
  const b = Buffer.alloc(16);
  if (os.endianness() === 'LE') b.writeUInt16LE(AF_INET, 0);
  else b.writeUInt16BE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  b.writeUInt32BE(addr >>> 0, 4);
  return b;
}

/** The address and port of a sockaddr_in (from getsockname). */
export function parseSockaddrIn(b: Uint8Array): { addr: number; port: number } {
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const family = os.endianness() === 'LE' ? view.readUInt16LE(0) : view.readUInt16BE(0);
  if (view.length < 8 || family !== AF_INET) throw new RangeError('not a sockaddr_in');
  return { addr: view.readUInt32BE(4), port: view.readUInt16BE(2) };
}

// ---------- namespaces ----------

/** The calling thread's network namespace cookie (SO_NETNS_COOKIE), as a decimal string. */
export function netnsCookie(): string {
  return call(() => native().netnsCookie()).toString();
}

/**
 * Runs `fn` with Node's main thread inside the network namespace at `nsPath` (`/run/netns/NAME` or
 * `/proc/PID/ns/net`), then returns to the original one even when `fn` throws. Devices and sockets
 * opened inside stay in that namespace. `fn` must be synchronous: nothing else may run meanwhile.
 */
export function inNetns<T>(nsPath: string, fn: () => T): T {
  const nsType = native().constants.CLONE_NEWNET;
  const home = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    const target = fs.openSync(nsPath, 'r');
    try {
      call(() => native().setns(target, nsType));
    } finally {
      fs.closeSync(target);
    }
    try {
      return fn();
    } finally {
      call(() => native().setns(home, nsType));
    }
  } finally {
    fs.closeSync(home);
  }
}
