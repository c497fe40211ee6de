/**
 * rtnetlink sockets: `NetlinkHandle` for synchronous requests and dumps, `NetlinkMonitor` for events.
 *
 * Namespace: a socket belongs to the network namespace it was created in, for its whole life. A handle
 * or monitor is opened in the caller's namespace, or in the one named by `netns` (a path such as
 * `/run/netns/NAME` or `/proc/PID/ns/net`), and answers for that namespace only. There is no default
 * handle: every verb in link.ts, addr.ts and route.ts takes one as its first argument.
 *
 * Requests block. `request` and `dump` send one message and wait (poll(2) on the socket, up to
 * `timeoutMs`) for the kernel's answer: the control plane asks rarely (tunnel setup, after a monitor
 * event) and the kernel answers in microseconds, so a blocking exchange is simpler than a callback
 * chain and cheaper than a thread. Never call them on the packet path.
 *
 * Protocol (netlink(7)): every request carries NLM_F_REQUEST and a fresh sequence number; answers with
 * another sequence number are left-overs of an earlier request that timed out or failed, and are
 * skipped. A request also carries NLM_F_ACK, so it ends with an NLMSG_ERROR whose error is 0 (an ack)
 * or a negative errno; a dump ends with NLMSG_DONE. A kernel errno becomes a BurrowError with that name
 * and, as detail, the request and the kernel's extended-ack text when there is one; an errno that
 * errors.ts does not list (EAFNOSUPPORT, say) is an Error carrying the same `code` (io/native's
 * `errnoError`), so callers match on `code`. A dump the kernel flags as interrupted (NLM_F_DUMP_INTR:
 * the table changed under it) is run again.
 *
 * Events: a monitor joins rtnetlink multicast groups and decodes what arrives into link, address and
 * route events. When the socket's receive queue overflows the kernel drops messages and says so
 * (ENOBUFS); the monitor then emits `resync`, after which its user must re-read whatever it tracks.
 */
import { constants as osConstants } from 'node:os';
import { BurrowError } from '../../errors.js';
import * as nat from '../native/index.js';
import {
  AF_NETLINK,
  MSG_TRUNC,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  decodeAddress,
  decodeDone,
  decodeError,
  decodeLink,
  decodeRoute,
  encodeSockaddrNl,
  parseMessages,
  setSequence,
  type Address,
  type Link,
  type NlMessage,
  type Route,
} from './messages.js';

/** The socket calls a handle makes; the addon's by default, a fake in unit tests. */
export interface NetlinkSocketOps {
  socket(domain: number, type: number, protocol: number): number;
  close(fd: number): void;
  setsockoptInt(fd: number, level: number, name: number, value: number): void;
  bind(fd: number, sockaddr: Uint8Array): void;
  /** Bytes sent or -errno. */
  send(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** Bytes (the full size with MSG_TRUNC) or -errno; -EAGAIN when nothing is queued. */
  recv(fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): number;
  /** Blocks up to timeoutMs; true when readable. */
  waitReadable(fd: number, timeoutMs: number): boolean;
}

const nativeOps: NetlinkSocketOps = {
  socket: nat.socket,
  close: nat.close,
  setsockoptInt: nat.setsockoptInt,
  bind: nat.bind,
  send: nat.send,
  recv: nat.recv,
  waitReadable: nat.waitReadable,
};

export interface NetlinkOptions {
  /** Namespace to open the socket in (`/run/netns/NAME`, `/proc/PID/ns/net`); default: the caller's. */
  netns?: string;
  /** Longest wait for an answer, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** For unit tests only: the socket calls to use instead of the addon's. */
  ops?: NetlinkSocketOps;
}

export const DEFAULT_TIMEOUT_MS = 5000;
/** Dumps come in datagrams of at most 32 KiB (netlink_dump caps them); replies to a GET are smaller. */
const RECV_BUFFER = 64 * 1024;
const DUMP_ATTEMPTS = 4;

const { EAGAIN, EINTR, ENOBUFS } = osConstants.errno;

/** The BurrowError for a positive errno; an errno errors.ts does not list keeps its code (io/native). */
export function netlinkError(errno: number, detail?: string): Error & { code: string } {
  return nat.errnoError(errno, detail);
}

function openSocket(ops: NetlinkSocketOps, netns: string | undefined): number {
  const make = (): number => ops.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  return netns === undefined ? make() : nat.inNetns(netns, make);
}

/** Reads the socket's namespace cookie (SO_NETNS_COOKIE); undefined where the kernel lacks it. */
function socketNetnsCookie(fd: number): string | undefined {
  try {
    const b = Buffer.alloc(8);
    nat.getsockoptBuf(fd, SOL_SOCKET, nat.constants().SO_NETNS_COOKIE, b);
    return b.readBigUInt64LE(0).toString();
  } catch {
    return undefined;
  }
}

/** Thrown inside an exchange when a datagram did not fit: the buffer grew, the request may be re-sent. */
class Truncated extends Error {}

export class NetlinkHandle {
  readonly timeoutMs: number;
  /** Cookie of the namespace the socket lives in (SO_NETNS_COOKIE), for logs and sanity checks. */
  readonly netnsCookie: string | undefined;
  private readonly ops: NetlinkSocketOps;
  private fd: number;
  private seq = 0;
  private buffer = Buffer.alloc(RECV_BUFFER);

  private constructor(fd: number, ops: NetlinkSocketOps, timeoutMs: number, cookie: string | undefined) {
    this.fd = fd;
    this.ops = ops;
    this.timeoutMs = timeoutMs;
    this.netnsCookie = cookie;
  }

  static open(options: NetlinkOptions = {}): NetlinkHandle {
    const ops = options.ops ?? nativeOps;
    const fd = openSocket(ops, options.netns);
    try {
      ops.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, 32 * 1024);
      ops.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, 1024 * 1024);
      // Errors carry the kernel's text, without an echo of our request; dumps honour their filters.
      ops.setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      ops.setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      ops.setsockoptInt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      ops.bind(fd, encodeSockaddrNl(0, 0));
    } catch (e) {
      ops.close(fd);
      throw e;
    }
    const cookie = options.ops === undefined ? socketNetnsCookie(fd) : undefined;
    return new NetlinkHandle(fd, ops, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, cookie);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    this.ops.close(fd);
  }

  /**
   * Sends `message` (built with MessageBuilder; NLM_F_REQUEST and NLM_F_ACK are added) and returns the
   * decoded replies that came before the ack: none for a change, one for a GET. Throws the kernel's
   * errno as a BurrowError; `what` names the request in its detail.
   */
  request<T>(message: Buffer, decode: (m: NlMessage) => T | null, what: string): T[] {
    message.writeUInt16LE(message.readUInt16LE(6) | NLM_F_REQUEST | NLM_F_ACK, 6);
    return this.exchange(message, false, decode, what);
  }

  /** Sends a dump request (NLM_F_REQUEST | NLM_F_DUMP added) and returns every decoded answer. */
  dump<T>(message: Buffer, decode: (m: NlMessage) => T | null, what: string): T[] {
    message.writeUInt16LE(message.readUInt16LE(6) | NLM_F_REQUEST | NLM_F_DUMP, 6);
    for (let attempt = 1; ; attempt++) {
      const interrupted = { value: false };
      const out = this.exchange(message, true, decode, what, interrupted);
      if (!interrupted.value) return out;
      if (attempt >= DUMP_ATTEMPTS) {
        throw new BurrowError('EAGAIN', `${what}: dump interrupted ${attempt} times by concurrent changes`);
      }
    }
  }

  private exchange<T>(
    message: Buffer,
    isDump: boolean,
    decode: (m: NlMessage) => T | null,
    what: string,
    interrupted?: { value: boolean },
  ): T[] {
    // An answer too big for the buffer is lost; the buffer has grown, and a GET (RTM_GET* types are
    // 2 modulo 4) is harmless to send again. A change is not: its answer is only an ack, so it never
    // gets here in practice, and if it did the caller learns EMSGSIZE.
    const readOnly = message.readUInt16LE(4) % 4 === 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.exchangeOnce(message, isDump, decode, what, interrupted);
      } catch (e) {
        if (!(e instanceof Truncated)) throw e;
        if (!readOnly || attempt > 0) throw new BurrowError('EMSGSIZE', `${what}: ${e.message}`);
      }
    }
  }

  private exchangeOnce<T>(
    message: Buffer,
    isDump: boolean,
    decode: (m: NlMessage) => T | null,
    what: string,
    interrupted?: { value: boolean },
  ): T[] {
    if (this.fd < 0) throw new BurrowError('EBADF', `${what}: netlink handle is closed`);
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    setSequence(message, seq);
    const sent = this.ops.send(this.fd, message, 0, message.length);
    if (sent < 0) throw netlinkError(-sent, what);

    const out: T[] = [];
    let failure: Error | undefined;
    const deadline = performance.now() + this.timeoutMs;
    for (;;) {
      const n = this.ops.recv(this.fd, this.buffer, 0, this.buffer.length, MSG_TRUNC);
      if (n === -EAGAIN) {
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0 || !this.ops.waitReadable(this.fd, left)) {
          throw new BurrowError('ETIMEDOUT', `${what}: no answer from the kernel in ${this.timeoutMs} ms`);
        }
        continue;
      }
      if (n === -EINTR) continue;
      if (n === -ENOBUFS && isDump) {
        // Our own receive queue overflowed: the dump lost a part and must start again.
        if (interrupted !== undefined) interrupted.value = true;
        this.drain();
        return out;
      }
      if (n < 0) throw netlinkError(-n, what);
      if (n > this.buffer.length) {
        // The rest of the datagram is gone (its NLMSG_DONE or ack with it). Throw the whole answer away:
        // the kernel queues a GET's reply and ack at once, and makes each dump part inside the recv
        // that takes the one before, so reading until empty leaves nothing of it behind.
        const why = `a ${n}-byte answer did not fit in ${this.buffer.length} bytes`;
        this.buffer = Buffer.alloc(Math.max(n, this.buffer.length * 2));
        this.drain();
        throw new Truncated(why);
      }
      for (const m of parseMessages(this.buffer, 0, n)) {
        const h = m.header;
        if (h.seq !== seq || h.type === NLMSG_NOOP) continue;
        if (h.type === NLMSG_ERROR) {
          const e = decodeError(m.payload, h.flags);
          if (e.errno !== 0 && failure === undefined) {
            failure = netlinkError(e.errno, e.message === undefined ? what : `${what}: ${e.message}`);
          }
          return this.finish(out, failure);
        }
        if (h.type === NLMSG_DONE) {
          const d = decodeDone(m.payload, h.flags);
          if (d.errno !== 0 && failure === undefined) {
            failure = netlinkError(d.errno, d.message === undefined ? what : `${what}: ${d.message}`);
          }
          return this.finish(out, failure);
        }
        if (h.type === NLMSG_OVERRUN) {
          failure ??= new BurrowError('ENOBUFS', `${what}: NLMSG_OVERRUN`);
          continue;
        }
        if ((h.flags & NLM_F_DUMP_INTR) !== 0 && interrupted !== undefined) interrupted.value = true;
        if (failure !== undefined) continue;
        try {
          const v = decode(m);
          if (v !== null) out.push(v);
        } catch (e) {
          failure = e as Error;
        }
      }
    }
  }

  private finish<T>(out: T[], failure: Error | undefined): T[] {
    if (failure !== undefined) throw failure;
    return out;
  }

  /** Throws away whatever is queued (after an overrun). */
  private drain(): void {
    for (;;) {
      const n = this.ops.recv(this.fd, this.buffer, 0, this.buffer.length, MSG_TRUNC);
      if (n === -EAGAIN || (n < 0 && n !== -EINTR && n !== -ENOBUFS)) return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Monitor

export type NetlinkEvent =
  | { type: 'link'; action: 'new' | 'del'; link: Link }
  | { type: 'addr'; action: 'new' | 'del'; addr: Address }
  | { type: 'route'; action: 'new' | 'del'; route: Route }
  /** Messages were lost (ENOBUFS): re-read links, addresses and routes. */
  | { type: 'resync' }
  /** A message could not be decoded, or the socket failed; `fatal` when the monitor has stopped. */
  | { type: 'error'; error: Error; fatal: boolean };

export const DEFAULT_MONITOR_GROUPS: readonly number[] = [
  RTNLGRP_LINK,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
];

export interface MonitorOptions {
  netns?: string;
  /** RTNLGRP_* groups to join (default: links, IPv4/IPv6 addresses and routes). */
  groups?: readonly number[];
  /** Receive queue size in bytes (default 4 MiB; SO_RCVBUFFORCE when permitted). */
  receiveBuffer?: number;
}

/** Decodes one multicast message into an event; null for message types the monitor does not follow. */
export function decodeEvent(m: NlMessage): NetlinkEvent | null {
  switch (m.header.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return { type: 'link', action: m.header.type === RTM_NEWLINK ? 'new' : 'del', link: decodeLink(m.payload) };
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      const addr = decodeAddress(m.payload);
      return addr === null ? null : { type: 'addr', action: m.header.type === RTM_NEWADDR ? 'new' : 'del', addr };
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      const route = decodeRoute(m.payload);
      return route === null ? null : { type: 'route', action: m.header.type === RTM_NEWROUTE ? 'new' : 'del', route };
    }
    default:
      return null;
  }
}

/** Datagrams read per readiness callback before yielding to the event loop (the poll is level-triggered). */
const MONITOR_BUDGET = 256;

export class NetlinkMonitor {
  readonly netnsCookie: string | undefined;
  private fd: number;
  private poll: nat.NativePoll | undefined;
  private readonly onEvent: (e: NetlinkEvent) => void;
  private readonly buffer = Buffer.alloc(RECV_BUFFER);

  private constructor(fd: number, onEvent: (e: NetlinkEvent) => void) {
    this.fd = fd;
    this.onEvent = onEvent;
    this.netnsCookie = socketNetnsCookie(fd);
  }

  /** Joins the groups and starts delivering events to `onEvent` from the event loop. */
  static open(onEvent: (e: NetlinkEvent) => void, options: MonitorOptions = {}): NetlinkMonitor {
    const fd = openSocket(nativeOps, options.netns);
    let monitor: NetlinkMonitor | undefined;
    try {
      const size = options.receiveBuffer ?? 4 * 1024 * 1024;
      try {
        nat.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size);
      } catch {
        nat.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, size); // capped by net.core.rmem_max without CAP_NET_ADMIN
      }
      nat.bind(fd, encodeSockaddrNl(0, 0));
      for (const group of options.groups ?? DEFAULT_MONITOR_GROUPS) {
        nat.setsockoptInt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group);
      }
      const m = new NetlinkMonitor(fd, onEvent);
      monitor = m;
      m.poll = new (nat.native().Poll)(fd, (errno?: number, fatal?: boolean) => m.onReady(errno, fatal));
      m.poll.start();
      return m;
    } catch (e) {
      monitor?.poll?.close();
      nat.close(fd);
      throw e;
    }
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** Lets the process exit while the monitor is open (a daemon keeps it referenced). */
  unref(): void {
    this.poll?.unref();
  }

  close(): void {
    if (this.fd < 0) return;
    this.poll?.close();
    this.poll = undefined;
    nat.close(this.fd);
    this.fd = -1;
  }

  /**
   * Reads and delivers everything queued now, synchronously; returns the number of events. The event
   * loop does this by itself; tests call it to avoid waiting for a tick.
   */
  drain(budget = Number.POSITIVE_INFINITY): number {
    let events = 0;
    for (let i = 0; i < budget && this.fd >= 0; i++) {
      const n = nat.recv(this.fd, this.buffer, 0, this.buffer.length, MSG_TRUNC);
      if (n === -EAGAIN) break;
      if (n === -EINTR) continue;
      if (n === -ENOBUFS) {
        this.emit({ type: 'resync' });
        events++;
        continue;
      }
      if (n < 0) {
        this.emit({ type: 'error', error: netlinkError(-n, 'netlink monitor recv'), fatal: false });
        break;
      }
      if (n > this.buffer.length) {
        // Events are small; one that does not fit is lost like an overrun, and handled the same way.
        this.emit({ type: 'resync' });
        events++;
        continue;
      }
      let messages: NlMessage[];
      try {
        messages = parseMessages(this.buffer, 0, n);
      } catch (e) {
        this.emit({ type: 'error', error: e as Error, fatal: false });
        continue;
      }
      for (const m of messages) {
        let event: NetlinkEvent | null;
        try {
          event = decodeEvent(m);
        } catch (e) {
          event = { type: 'error', error: e as Error, fatal: false };
        }
        if (event !== null) {
          this.emit(event);
          events++;
        }
      }
    }
    return events;
  }

  private emit(e: NetlinkEvent): void {
    if (this.fd >= 0) this.onEvent(e);
  }

  private onReady(errno: number | undefined, fatal: boolean | undefined): void {
    if (errno !== undefined && errno < 0) {
      if (-errno === ENOBUFS) this.emit({ type: 'resync' });
      else this.emit({ type: 'error', error: netlinkError(-errno, 'netlink monitor poll'), fatal: fatal === true });
      if (fatal === true) this.close();
      if (this.fd < 0) return;
    }
    this.drain(MONITOR_BUDGET);
  }
}
