/**
 * A UDP socket as a packet port: the underlay of vxlan (port 4789). Same batch calls as the raw socket
 * (recvmmsg/sendmmsg), but packets are UDP payloads and `ports[i]` matters both ways.
 *
 * The socket is not connected, so ICMP errors about what it sends (port unreachable) are not reported
 * to it (net/ipv4/udp.c __udp4_lib_err without IP_RECVERR). Sending with no route fails with
 * ENETUNREACH per entry; a payload beyond 65507 bytes with EMSGSIZE.
 */
import { configureSocket, DatagramPort, type SocketOptions } from './fd-port.js';
import {
  bind,
  close as closeFd,
  constants,
  getsockname,
  parseSockaddrIn,
  setsockoptBuf,
  setsockoptInt,
  sockaddrIn,
  socket,
} from './native/index.js';
import os from 'node:os';

export interface UdpOptions extends SocketOptions {
  /** Local IPv4 address, host order; 0 (the default) for any. */
  address?: number;
  /** Local port; 0 (the default) lets the kernel pick one (see `localPort`). */
  port?: number;
  /** SO_REUSEADDR. */
  reuseAddress?: boolean;
  /** IP_RECVTOS: each read reports the datagram's IP TOS byte in `batch.tos` (vxlan's ECN). */
  receiveTos?: boolean;
}

/** Linux's IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP (include/uapi/linux/in.h). */
const IP_ADD_MEMBERSHIP = 35;
const IP_DROP_MEMBERSHIP = 36;

export class UdpSocket extends DatagramPort {
  readonly localAddress: number;
  readonly localPort: number;

  private constructor(fd: number, name: string, localAddress: number, localPort: number) {
    super(fd, name);
    this.localAddress = localAddress;
    this.localPort = localPort;
  }

  /** Opens and binds it in the calling thread's network namespace. EADDRINUSE when the port is taken. */
  static open(options: UdpOptions = {}): UdpSocket {
    const c = constants();
    const fd = socket(c.AF_INET, c.SOCK_DGRAM, c.IPPROTO_UDP);
    configureSocket(fd, options);
    let local: { addr: number; port: number };
    try {
      if (options.reuseAddress) setsockoptInt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, 1);
      if (options.receiveTos) setsockoptInt(fd, c.IPPROTO_IP, c.IP_RECVTOS, 1);
      bind(fd, sockaddrIn(options.address ?? 0, options.port ?? 0));
      const name = Buffer.alloc(16);
      getsockname(fd, name);
      local = parseSockaddrIn(name);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    const text = `udp ${formatIpv4(local.addr)}:${local.port}`;
    return new UdpSocket(fd, text, local.addr, local.port);
  }

  /**
   * Joins (or with `join` false, leaves) the IPv4 multicast `group` (host order) on interface
   * `ifindex` (0: the one the route picks): IP_ADD_MEMBERSHIP with a struct ip_mreqn.
   */
  setMembership(group: number, ifindex: number, join = true): void {
    const c = constants();
    const mreqn = Buffer.alloc(12);
    mreqn.writeUInt32BE(group >>> 0, 0);
    mreqn.writeUInt32BE(0, 4);
    if (os.endianness() === 'LE') mreqn.writeInt32LE(ifindex, 8);
    else mreqn.writeInt32BE(ifindex, 8);
    setsockoptBuf(this.fd, c.IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, mreqn);
  }
}

function formatIpv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join('.');
}
