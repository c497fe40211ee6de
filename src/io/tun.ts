/**
 * A TUN (or TAP) device as a packet port: what the user sees as `vpn0`.
 *
 * Reading gives the packets the kernel routes into the device; writing hands packets to the kernel as
 * if they had arrived on it. With IFF_NO_PI (always on) a TUN packet is the bare IP packet; a TAP
 * packet is an Ethernet frame; with `vnetHeader` each starts with a virtio_net_hdr.
 *
 * Kernel behaviour worth knowing (drivers/net/tun.c):
 * - A write while the device is down fails with EIO for that entry (the device is not running).
 * - A write of bytes that are not IPv4/IPv6 (first nibble) fails with EINVAL (TUN mode).
 * - When the device is deleted under us (`ip link del`), the fd stays open but is detached: epoll
 *   reports an error for ever and reads/writes fail with EBADFD. The port then closes itself and
 *   reports a fatal ENODEV to its error handler.
 * - A device not marked persistent disappears when its last fd closes; a persistent one stays, and
 *   `TunDevice.attach` takes it up again (a restarted daemon adopting its devices).
 */
import { BurrowError } from '../errors.js';
import { FdPort } from './fd-port.js';
import {
  close as closeFd,
  constants,
  errnoError,
  errnoNumber,
  ifNameToIndex,
  tunOpen,
  tunSetLinkType,
  tunSetOffload,
  tunSetPersist,
  tunSetVnetHdrSize,
} from './native/index.js';
import { VNET_HEADER_LENGTH, type PacketBatch } from './port.js';

const EBADFD = errnoNumber('EBADFD') ?? 77;

export interface TunOptions {
  /** 'tun': IP packets (the default); 'tap': Ethernet frames. */
  kind?: 'tun' | 'tap';
  /** IFF_VNET_HDR: every packet starts with a virtio_net_hdr (use with setOffload). */
  vnetHeader?: boolean;
  /** IFF_MULTI_QUEUE: several fds may attach to the device, one queue each. */
  multiQueue?: boolean;
}

function openFlags(options: TunOptions, exclusive: boolean): number {
  const c = constants();
  let flags = options.kind === 'tap' ? c.IFF_TAP : c.IFF_TUN;
  if (options.vnetHeader) flags |= c.IFF_VNET_HDR;
  if (options.multiQueue) flags |= c.IFF_MULTI_QUEUE;
  if (exclusive) flags |= c.IFF_TUN_EXCL;
  return flags;
}

export class TunDevice extends FdPort {
  /** IFF_VNET_HDR: reads fill and writes send `batch.vnet`, one virtio_net_hdr per packet. */
  readonly vnetHeader: boolean;

  private constructor(fd: number, name: string, vnetHeader: boolean) {
    super(fd, name);
    this.vnetHeader = vnetHeader;
  }

  /**
   * Creates a new device in the calling thread's network namespace. `name` may be '' or hold '%d'
   * (`bw%d`) to let the kernel number it; `tun.name` is the name it got. Fails with EBUSY when a
   * device of that name exists (IFF_TUN_EXCL), EPERM without CAP_NET_ADMIN.
   */
  static create(name: string, options: TunOptions & { persist?: boolean } = {}): TunDevice {
    const opened = tunOpen(name, openFlags(options, true));
    const device = new TunDevice(opened.fd, opened.name, options.vnetHeader === true);
    if (options.persist) {
      try {
        device.setPersist(true);
      } catch (e) {
        device.close();
        throw e;
      }
    }
    return device;
  }

  /**
   * Attaches to an existing TUN/TAP device (a persistent one, or another queue of a multi-queue one).
   * ENODEV when there is no such device; EBUSY when another fd holds a single-queue device; EINVAL when
   * it is not a TUN/TAP device of this kind and queue mode.
   */
  static attach(name: string, options: TunOptions = {}): TunDevice {
    const before = ifNameToIndex(name); // ENODEV: TUNSETIFF alone would quietly create a new device
    const opened = tunOpen(name, openFlags(options, false));
    let after = 0;
    try {
      after = ifNameToIndex(opened.name);
    } catch {
      // deleted meanwhile: handled below
    }
    if (after !== before) {
      // The device went away between the two calls and TUNSETIFF made a new, empty one: undo that.
      closeFd(opened.fd);
      throw new BurrowError('ENODEV', name);
    }
    return new TunDevice(opened.fd, opened.name, options.vnetHeader === true);
  }

  /** TUNSETPERSIST: a persistent device outlives this fd (and this process). */
  setPersist(persist: boolean): void {
    tunSetPersist(this.fd, persist);
  }

  /**
   * Asks the kernel for TCP superframes of up to 64 KiB with partial checksums (TUN_F_CSUM | TSO4 |
   * TSO6) on a device opened with `vnetHeader`: reads then carry a virtio_net_hdr the reader must act
   * on (wire/gso.ts). Returns false, leaving the device as it was, when the kernel refuses (EINVAL).
   */
  enableTso(): boolean {
    const c = constants();
    if (!this.vnetHeader) return false;
    try {
      this.setVnetHeaderSize(VNET_HEADER_LENGTH);
      this.setOffload(c.TUN_F_CSUM | c.TUN_F_TSO4 | c.TUN_F_TSO6);
      return true;
    } catch (error) {
      if (error instanceof BurrowError && error.code === 'EINVAL') return false;
      throw error;
    }
  }

  /** TUNSETOFFLOAD with TUN_F_* flags (checksum, TSO): only meaningful with `vnetHeader`. */
  setOffload(flags: number): void {
    tunSetOffload(this.fd, flags);
  }

  /** TUNSETVNETHDRSZ: 10 (virtio_net_hdr) or 12 (virtio_net_hdr_mrg_rxbuf). */
  setVnetHeaderSize(size: number): void {
    tunSetVnetHdrSize(this.fd, size);
  }

  /** TUNSETLINK: the device's ARPHRD type (ARPHRD_TUNNEL for ipip, ...). EBUSY while the device is up. */
  setLinkType(arphrd: number): void {
    tunSetLinkType(this.fd, arphrd);
  }

  readBatch(batch: PacketBatch): number {
    if (this.closed) return this.readClosed(batch);
    const n = this.vnetHeader
      ? this.io.readBatch(
          this.fd, batch.data, batch.slotSize, batch.headroom, batch.offsets, batch.lengths, batch.capacity,
          batch.errors, batch.vnet, VNET_HEADER_LENGTH,
        )
      : this.io.readBatch(
          this.fd, batch.data, batch.slotSize, batch.headroom, batch.offsets, batch.lengths, batch.capacity,
          batch.errors,
        );
    if (n < 0) {
      batch.count = 0;
      this.readFailed(-n);
      return 0;
    }
    batch.addrs.fill(0, 0, n);
    batch.ports.fill(0, 0, n);
    batch.ifindexes.fill(0, 0, n);
    batch.count = n;
    return n;
  }

  writeBatch(batch: PacketBatch): number {
    if (this.closed) return this.writeClosed(batch);
    const count = batch.count;
    const written = this.vnetHeader
      ? this.io.writeBatch(
          this.fd, batch.data, batch.offsets, batch.lengths, batch.errors, count, batch.vnet, VNET_HEADER_LENGTH,
        )
      : this.io.writeBatch(this.fd, batch.data, batch.offsets, batch.lengths, batch.errors, count);
    if (written < count && batch.errors.subarray(0, count).includes(EBADFD)) this.deviceGone();
    return written;
  }

  protected override pollFailed(): void {
    // Only a detached fd makes a TUN poll fail (tun_chr_poll answers EPOLLERR when the device is gone).
    this.deviceGone();
  }

  private readFailed(errno: number): void {
    if (errno === EBADFD) this.deviceGone();
    else this.fail(errnoError(errno, `read ${this.name}`), false);
  }

  private deviceGone(): void {
    this.fail(new BurrowError('ENODEV', `device ${this.name} was deleted`), true);
  }
}
