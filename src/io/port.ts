/**
 * The packet port contract: the only shape in which packets cross between burrow and the kernel.
 *
 * A port moves packets in batches over a `PacketBatch`: one Buffer cut into fixed-size slots plus
 * parallel typed arrays (offset, length, peer address, peer port, ingress ifindex, per-packet errno).
 * One native call moves a whole batch, so the JavaScript/native boundary is crossed once per batch and
 * nothing is allocated per packet (spec/node-packet-io.md).
 *
 * Reading: `readBatch(batch)` fills slots 0..n-1, sets `batch.count` and returns n (0 when nothing is
 * pending). Packet i is written at `slotStart(i) + batch.headroom`, so that encapsulation can put outer
 * headers in front of it without copying; `offsets[i]` and `lengths[i]` say where it landed. For sockets
 * `addrs[i]`/`ports[i]` hold the sender and `ifindexes[i]` the interface it arrived on (all 0 for a TUN).
 * `errors[i]` is 0, or EMSGSIZE when the packet was larger than `maxPacket` and was cut to it.
 *
 * Writing: `writeBatch(batch)` sends entries 0..count-1, each `lengths[i]` bytes at `offsets[i]` of
 * `batch.data` (entries may point anywhere in the buffer, so a batch can forward another batch's slots);
 * sockets send entry i to `addrs[i]`/`ports[i]`. It returns how many were written and sets `errors[i]` to
 * 0 or the errno of that entry; a failed entry never stops the ones after it.
 *
 * Readiness: `onReadable(handler)` arms a level-triggered notification; the handler is called from the
 * event loop when a read would not block, and should read until a batch comes back short or its budget
 * is spent. A port never blocks the event loop.
 *
 * Errors: a failed write is a value (`errors[i]`), never an exception, and reads never throw either.
 * Trouble that belongs to no call goes to the `onError` handler as an errno-coded error with a `fatal`
 * flag. Fatal means the port closed itself because what it stands for is gone (a TUN device deleted
 * with `ip link del`: ENODEV); not fatal is news the port survives (a socket's pending ICMP error, such
 * as ECONNREFUSED on a connected socket). Without a handler the error becomes a process warning.
 *
 * Ownership: the caller owns every batch. A port reads from or writes into the batch only during the
 * call, and keeps no reference to it afterwards. After `close()` (or a fatal error) `closed` is true,
 * no handler runs again, reads return 0 and writes return 0 with EBADF in every entry; closing twice
 * is harmless.
 */

export const DEFAULT_BATCH_SIZE = 64;
/** Room before each packet for outer headers: IPv4 20 + GRE 16, or IPv4 20 + UDP 8 + VXLAN 8 + 14. */
export const DEFAULT_HEADROOM = 64;
/** Slot size for one packet of up to 64 KiB minus the headroom; ports without offloads use less. */
export const DEFAULT_SLOT_SIZE = 2048;
/** sizeof(struct virtio_net_hdr), the header a device opened with IFF_VNET_HDR puts before each packet. */
export const VNET_HEADER_LENGTH = 10;

export class PacketBatch {
  /** Number of slots. */
  readonly capacity: number;
  readonly slotSize: number;
  readonly headroom: number;
  /** Where the packets live. A write batch may point at another batch's buffer (see `borrow`). */
  data: Buffer;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  /** IPv4 peer address, host order: the sender on read, the destination on write. */
  readonly addrs: Uint32Array;
  /** UDP peer port (0 for raw sockets and TUN). */
  readonly ports: Uint16Array;
  /** Interface index a packet arrived on (sockets), 0 when unknown. */
  readonly ifindexes: Uint32Array;
  /** errno of each entry after a write, 0 when it was written. */
  readonly errors: Int32Array;
  /** Outer IP TOS byte of a received datagram (UDP sockets opened with `receiveTos`), else 0. */
  readonly tos: Uint8Array;
  /**
   * A virtio_net_hdr per entry (VNET_HEADER_LENGTH bytes each, entry i at i * VNET_HEADER_LENGTH), for
   * devices opened with IFF_VNET_HDR: filled by their reads, sent by their writes. `push` clears an
   * entry's header, so a packet nobody marked goes out as a plain packet. Other ports ignore it.
   */
  readonly vnet: Uint8Array;
  /** Entries in use. */
  count = 0;

  /**
   * `uninitialised`: leave the slab's memory untouched (Buffer.allocUnsafeSlow), so that large slots cost
   * resident memory only where packets actually land. Reads overwrite what they use.
   * `tailBytes`: room after the slots (from `tailStart`) that reads never touch, where a loop can build
   * packets (segments) that go out in the same write batch as the slots' packets.
   */
  constructor(
    capacity = DEFAULT_BATCH_SIZE,
    slotSize = DEFAULT_SLOT_SIZE,
    headroom = DEFAULT_HEADROOM,
    uninitialised = false,
    tailBytes = 0,
  ) {
    if (slotSize !== 0 && headroom >= slotSize) throw new RangeError('headroom must be smaller than the slot');
    this.capacity = capacity;
    this.slotSize = slotSize;
    this.headroom = headroom;
    const size = capacity * slotSize + tailBytes;
    this.data = uninitialised ? Buffer.allocUnsafeSlow(size) : Buffer.alloc(size);
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.addrs = new Uint32Array(capacity);
    this.ports = new Uint16Array(capacity);
    this.ifindexes = new Uint32Array(capacity);
    this.errors = new Int32Array(capacity);
    this.tos = new Uint8Array(capacity);
    this.vnet = new Uint8Array(capacity * VNET_HEADER_LENGTH);
  }

  /**
   * A batch with no buffer of its own, for writing entries that point into other batches' buffers
   * (set `data` with `borrow`). Costs a few typed arrays, not `capacity` slots.
   */
  static forWriting(capacity = DEFAULT_BATCH_SIZE): PacketBatch {
    return new PacketBatch(capacity, 0, 0);
  }

  /** Where the room after the slots begins (see the constructor's `tailBytes`). */
  get tailStart(): number {
    return this.capacity * this.slotSize;
  }

  /** Byte offset of slot i in `data`. */
  slotStart(i: number): number {
    return i * this.slotSize;
  }

  /** Largest packet a read can place in one slot. */
  get maxPacket(): number {
    return this.slotSize - this.headroom;
  }

  /** A view of packet i (no copy; valid until the batch is reused). */
  packet(i: number): Buffer {
    return this.data.subarray(this.offsets[i], this.offsets[i] + this.lengths[i]);
  }

  /** Makes this (write) batch point into `source`'s buffer and empties it. */
  borrow(source: PacketBatch): void {
    this.data = source.data;
    this.count = 0;
  }

  /** Appends an entry; returns false when the batch is full. */
  push(offset: number, length: number, addr = 0, port = 0): boolean {
    if (this.count >= this.capacity) return false;
    const i = this.count++;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.addrs[i] = addr;
    this.ports[i] = port;
    this.errors[i] = 0;
    // All of it: the kernel checks hdr_len against the packet even when flags and gso_type are 0
    // (tun_get_user), so a stale one from an earlier superframe would fail a short packet with EINVAL.
    this.vnet.fill(0, i * VNET_HEADER_LENGTH, (i + 1) * VNET_HEADER_LENGTH);
    return true;
  }
}

/**
 * An operational error from a port: `code` is an errno name (a BurrowError when errors.ts knows it);
 * `fatal` says the port has closed itself (otherwise it keeps working).
 */
export type PortError = Error & { readonly code: string; readonly fatal: boolean };

/** `fatal` repeats `error.fatal`. */
export type PortErrorHandler = (error: PortError, fatal: boolean) => void;

/** Marks an errno-coded error as a port error. */
export function portError(error: Error & { code: string }, fatal: boolean): PortError {
  return Object.assign(error, { fatal });
}

export interface PacketPort {
  /** For logs: the device name or socket description. */
  readonly name: string;
  /**
   * A TUN/TAP opened with IFF_VNET_HDR: every packet read comes with a virtio_net_hdr in `batch.vnet`
   * (a superframe to cut, a checksum to finish) and every packet written goes with one.
   */
  readonly vnetHeader?: boolean;
  /** True after `close()` or after a fatal error. */
  readonly closed: boolean;
  readBatch(batch: PacketBatch): number;
  writeBatch(batch: PacketBatch): number;
  /** Sets the readiness handler (replacing the previous one); `null` disarms it. */
  onReadable(handler: (() => void) | null): void;
  /** Sets the error handler (replacing the previous one). */
  onError(handler: PortErrorHandler | null): void;
  close(): void;
}
