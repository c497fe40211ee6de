/**
 * A raw IPv4 socket for one IP protocol as a packet port: the underlay of ipip (4), sit (41), gre (47),
 * and ICMP (1) for the errors burrow sends.
 *
 * Receiving: a raw IPv4 socket gets a copy of every packet of its protocol addressed to this host (in
 * the socket's namespace, on `device` if bound), starting with the full outer IPv4 header; `addrs[i]`
 * is the outer source, `ifindexes[i]` the interface it came in on (IP_PKTINFO). While such a socket is
 * open the kernel no longer answers that protocol with ICMP protocol unreachable. An unconnected raw
 * socket without IP_RECVERR never sees ICMP errors about what it sent (net/ipv4/raw.c raw_err).
 *
 * Sending with IP_HDRINCL (the default): burrow writes the whole IPv4 header; `addrs[i]` must be the
 * header's destination (it picks the route). The kernel still fills in (raw(7), raw_send_hdrinc):
 * total length and header checksum always; the source address when it is 0; the ID when it is 0 and
 * DF is clear (a DF packet keeps ID 0, as ip_select_ident does). It never fragments: a packet longer
 * than the route's MTU fails with EMSGSIZE, so burrow fragments itself. No route: ENETUNREACH. A packet
 * the device queue drops is reported as sent unless IP_RECVERR is on (`recvErr`), then as ENOBUFS.
 *
 * For a socket that only sends, use protocol IPPROTO_RAW (255): it receives nothing, so no copies of
 * incoming packets pile up in a buffer nobody reads.
 */
import { configureSocket, DatagramPort, type SocketOptions } from './fd-port.js';
import { bind, close as closeFd, constants, setsockoptInt, socket, sockaddrIn } from './native/index.js';

export interface RawIpv4Options extends SocketOptions {
  /** IP protocol number: 4 (ipip), 41 (sit), 47 (gre), 1 (icmp), 255 (send only). */
  protocol: number;
  /** IP_HDRINCL: burrow writes the IPv4 header (default true). */
  headerIncluded?: boolean;
  /** bind(): receive only packets addressed to this local IPv4 address (host order). */
  localAddress?: number;
  /**
   * IP_RECVERR: report every send error. Without it a raw socket reports a packet that the device's
   * queue (qdisc) dropped as sent (raw_send_hdrinc turns ENOBUFS into success), so a sender that
   * counts what it sends wants it. Local errors such as EMSGSIZE then also go to the error queue,
   * which nothing reads (it is bounded by the receive buffer).
   */
  recvErr?: boolean;
}

export class RawIpv4Socket extends DatagramPort {
  readonly protocol: number;

  private constructor(fd: number, name: string, protocol: number) {
    super(fd, name);
    this.protocol = protocol;
  }

  /** Opens it in the calling thread's network namespace (needs CAP_NET_RAW). */
  static open(options: RawIpv4Options): RawIpv4Socket {
    const c = constants();
    const fd = socket(c.AF_INET, c.SOCK_RAW, options.protocol);
    configureSocket(fd, options);
    try {
      if (options.headerIncluded ?? true) setsockoptInt(fd, c.IPPROTO_IP, c.IP_HDRINCL, 1);
      if (options.recvErr) setsockoptInt(fd, c.IPPROTO_IP, c.IP_RECVERR, 1);
      if (options.localAddress !== undefined) bind(fd, sockaddrIn(options.localAddress, 0));
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    const dev = options.device === undefined ? '' : ` dev ${options.device}`;
    return new RawIpv4Socket(fd, `raw ipv4 proto ${options.protocol}${dev}`, options.protocol);
  }
}
