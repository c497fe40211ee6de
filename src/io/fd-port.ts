/**
 * What the fd-backed ports (TunDevice, RawIpv4Socket, UdpSocket) share: the descriptor, its readiness
 * watch (a native Poll), the error handler, and close. `DatagramPort` adds the socket batch calls
 * (recvmmsg/sendmmsg) used by the raw and UDP sockets.
 *
 * Order on close matters: the Poll is closed before the fd, because libuv must stop watching a
 * descriptor before it is closed (its number may be reused at once).
 */
import {
  close as closeFd,
  constants,
  errnoError,
  errnoNumber,
  native,
  setsockoptBuf,
  setsockoptInt,
  type NativePoll,
  type PktioAddon,
} from './native/index.js';
import { portError, type PacketBatch, type PacketPort, type PortErrorHandler } from './port.js';

const EBADF = errnoNumber('EBADF') ?? 9;

export abstract class FdPort implements PacketPort {
  readonly fd: number;
  readonly name: string;
  /** The addon, looked up once so the packet path does not go through the loader. */
  protected readonly io: PktioAddon;
  #poll: NativePoll | null = null;
  #readable: (() => void) | null = null;
  #errorHandler: PortErrorHandler | null = null;
  #closed = false;

  protected constructor(fd: number, name: string) {
    this.fd = fd;
    this.name = name;
    this.io = native();
  }

  get closed(): boolean {
    return this.#closed;
  }

  abstract readBatch(batch: PacketBatch): number;
  abstract writeBatch(batch: PacketBatch): number;

  onReadable(handler: (() => void) | null): void {
    if (this.#closed) return;
    this.#readable = handler;
    if (handler === null) {
      this.#poll?.stop();
      return;
    }
    this.#poll ??= new this.io.Poll(this.fd, this.#onPoll);
    this.#poll.start();
  }

  onError(handler: PortErrorHandler | null): void {
    this.#errorHandler = handler;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#readable = null;
    this.#poll?.close();
    this.#poll = null;
    closeFd(this.fd);
  }

  readonly #onPoll = (errno?: number, fatal?: boolean): void => {
    if (this.#closed) return;
    if (errno === undefined) this.#readable?.();
    else this.pollFailed(-errno, fatal === true);
  };

  /** epoll reported an error (see PollCallback); subclasses may name it better. */
  protected pollFailed(errno: number, fatal: boolean): void {
    this.fail(errnoError(errno, this.name), fatal);
  }

  /** Reports an error; a fatal one closes the port first. Without a handler it is a process warning. */
  protected fail(cause: Error & { code: string }, fatal: boolean): void {
    if (this.#closed) return;
    if (fatal) this.close();
    const error = portError(cause, fatal);
    const handler = this.#errorHandler;
    if (handler !== null) handler(error, fatal);
    else process.emitWarning(`${this.name}: ${error.message}${fatal ? ' (port closed)' : ''}`, {
      type: 'BurrowPortWarning',
      code: error.code,
    });
  }

  /** The answer of writeBatch on a closed port. */
  protected writeClosed(batch: PacketBatch): number {
    batch.errors.fill(EBADF, 0, batch.count);
    return 0;
  }

  protected readClosed(batch: PacketBatch): number {
    batch.count = 0;
    return 0;
  }
}

export interface SocketOptions {
  /** SO_BINDTODEVICE: only this interface's traffic, and routes through it only. */
  device?: string;
  /** SO_RCVBUF and SO_SNDBUF (the FORCE variants first, which ignore rmem_max/wmem_max as root). */
  bufferBytes?: number;
}

export const DEFAULT_SOCKET_BUFFER = 4 * 1024 * 1024;

/** Applies the options every burrow datagram socket takes; closes the fd and rethrows on failure. */
export function configureSocket(fd: number, options: SocketOptions): void {
  const c = constants();
  try {
    const bytes = options.bufferBytes ?? DEFAULT_SOCKET_BUFFER;
    for (const [force, plain] of [
      [c.SO_RCVBUFFORCE, c.SO_RCVBUF],
      [c.SO_SNDBUFFORCE, c.SO_SNDBUF],
    ] as const) {
      try {
        setsockoptInt(fd, c.SOL_SOCKET, force, bytes);
      } catch {
        setsockoptInt(fd, c.SOL_SOCKET, plain, bytes); // without CAP_NET_ADMIN: capped by [rw]mem_max
      }
    }
    // IP_PKTINFO makes recvmmsg report the ingress interface of each datagram.
    setsockoptInt(fd, c.IPPROTO_IP, c.IP_PKTINFO, 1);
    if (options.device !== undefined) {
      setsockoptBuf(fd, c.SOL_SOCKET, c.SO_BINDTODEVICE, Buffer.from(options.device + '\0'));
    }
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/** A port over an AF_INET datagram or raw socket: one recvmmsg per read, one sendmmsg per write. */
export abstract class DatagramPort extends FdPort {
  readBatch(batch: PacketBatch): number {
    if (this.closed) return this.readClosed(batch);
    const n = this.io.recvBatch(
      this.fd, batch.data, batch.slotSize, batch.headroom, batch.offsets, batch.lengths, batch.addrs,
      batch.ports, batch.ifindexes, batch.capacity, batch.errors, batch.tos,
    );
    if (n < 0) {
      // A pending socket error (an ICMP error on a connected socket) comes out of recvmmsg once.
      batch.count = 0;
      this.fail(errnoError(-n, this.name), false);
      return 0;
    }
    batch.count = n;
    return n;
  }

  writeBatch(batch: PacketBatch): number {
    if (this.closed) return this.writeClosed(batch);
    return this.io.sendBatch(
      this.fd, batch.data, batch.offsets, batch.lengths, batch.addrs, batch.ports, batch.errors, batch.count,
    );
  }
}
