/**
 * An in-memory pair of packet ports, for tests without root: what one side writes the other reads,
 * in order, byte for byte. It keeps the PacketPort contract exactly (slots at headroom, EMSGSIZE for a
 * packet cut to the slot, per-entry errors, level-triggered readiness, close semantics), so the engine
 * can be tested end to end with it (wireguard-go's genTestPair).
 *
 * Readiness is delivered with setImmediate while packets are queued and a handler is armed, again
 * after each call as long as packets remain (level-triggered, like epoll).
 *
 * Faults, for tests of what the engine does when the kernel says no:
 * - `queueLimit`: a write to a full queue fails with ENOBUFS;
 * - `mtu`: a longer write fails with EMSGSIZE;
 * - `setUp(false)`: writes fail with EIO, as on a TUN device that is down;
 * - `fault`: called for every packet written; returns an errno name to fail it, 'drop' to accept it
 *   and lose it (a packet lost on the wire), or undefined to deliver it;
 * - `kill(code)`: the port closes itself with a fatal error, as a TUN does when its device is deleted.
 * A write to a port whose peer has closed is accepted and lost, as on a cable with nothing at the end.
 */
import { errnoError, errnoNumber } from './native/index.js';
import { portError, type PacketBatch, type PacketPort, type PortErrorHandler } from './port.js';

export interface MemoryPortOptions {
  /** Packets queued unread before a write fails with ENOBUFS (default 4096). */
  queueLimit?: number;
  /** Largest packet accepted (default 65535). */
  mtu?: number;
}

export type MemoryFault = (packet: Buffer, index: number) => string | 'drop' | undefined;

interface Queued {
  bytes: Buffer;
  addr: number;
  port: number;
  ifindex: number;
}

function errno(name: string): number {
  const n = errnoNumber(name);
  if (n === undefined) throw new RangeError(`unknown errno name ${name}`);
  return n;
}

export class MemoryPort implements PacketPort {
  readonly name: string;
  /** The address, port and ifindex the peer sees as the sender of this side's packets. */
  address = 0;
  sourcePort = 0;
  ifindex = 0;
  fault: MemoryFault | null = null;
  /** Packets written and accepted (delivered or dropped by `fault`), and failed writes. */
  readonly stats = { written: 0, failed: 0, read: 0 };

  #peer: MemoryPort | null = null;
  readonly #queue: Queued[] = [];
  #head = 0;
  readonly #queueLimit: number;
  readonly #mtu: number;
  #up = true;
  #closed = false;
  #readable: (() => void) | null = null;
  #errorHandler: PortErrorHandler | null = null;
  #scheduled = false;

  constructor(name: string, options: MemoryPortOptions = {}) {
    this.name = name;
    this.#queueLimit = options.queueLimit ?? 4096;
    this.#mtu = options.mtu ?? 65535;
  }

  /** Joins two ports: each one's writes become the other's reads. */
  static pair(names: [string, string] = ['mem0', 'mem1'], options: MemoryPortOptions = {}): [MemoryPort, MemoryPort] {
    const a = new MemoryPort(names[0], options);
    const b = new MemoryPort(names[1], options);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Packets waiting to be read on this side. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  setUp(up: boolean): void {
    this.#up = up;
  }

  readBatch(batch: PacketBatch): number {
    if (this.#closed) {
      batch.count = 0;
      return 0;
    }
    const room = batch.slotSize - batch.headroom;
    let n = 0;
    while (n < batch.capacity && this.#head < this.#queue.length) {
      const q = this.#queue[this.#head++];
      const offset = batch.slotStart(n) + batch.headroom;
      const length = Math.min(q.bytes.length, room);
      q.bytes.copy(batch.data, offset, 0, length);
      batch.offsets[n] = offset;
      batch.lengths[n] = length;
      batch.addrs[n] = q.addr;
      batch.ports[n] = q.port;
      batch.ifindexes[n] = q.ifindex;
      batch.errors[n] = length < q.bytes.length ? errno('EMSGSIZE') : 0;
      batch.tos[n] = 0;
      n++;
    }
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    this.stats.read += n;
    batch.count = n;
    return n;
  }

  writeBatch(batch: PacketBatch): number {
    const count = batch.count;
    if (this.#closed) {
      batch.errors.fill(errno('EBADF'), 0, count);
      return 0;
    }
    let written = 0;
    for (let i = 0; i < count; i++) {
      const code = this.#check(batch, i);
      if (code !== undefined && code !== 'drop') {
        batch.errors[i] = errno(code);
        this.stats.failed++;
        continue;
      }
      batch.errors[i] = 0;
      written++;
      this.stats.written++;
      if (code === 'drop') continue;
      const peer = this.#peer;
      if (peer === null) continue;
      peer.#deliver({
        bytes: Buffer.from(batch.data.subarray(batch.offsets[i], batch.offsets[i] + batch.lengths[i])),
        addr: this.address,
        port: this.sourcePort,
        ifindex: this.ifindex,
      });
    }
    return written;
  }

  #check(batch: PacketBatch, i: number): string | undefined {
    if (batch.offsets[i] + batch.lengths[i] > batch.data.length) throw new RangeError('an entry lies outside data');
    if (!this.#up) return 'EIO';
    if (batch.lengths[i] > this.#mtu) return 'EMSGSIZE';
    const peer = this.#peer;
    if (peer !== null && !peer.#closed && peer.queued >= peer.#queueLimit) return 'ENOBUFS';
    const packet = batch.data.subarray(batch.offsets[i], batch.offsets[i] + batch.lengths[i]);
    return this.fault?.(packet, i);
  }

  #deliver(q: Queued): void {
    if (this.#closed) return;
    this.#queue.push(q);
    this.#schedule();
  }

  onReadable(handler: (() => void) | null): void {
    if (this.#closed) return;
    this.#readable = handler;
    this.#schedule();
  }

  onError(handler: PortErrorHandler | null): void {
    this.#errorHandler = handler;
  }

  /** Closes the port as a vanished device would: a fatal error with this errno name (default ENODEV). */
  kill(code = 'ENODEV'): void {
    if (this.#closed) return;
    this.close();
    const error = portError(errnoError(errno(code), `${this.name} killed`), true);
    if (this.#errorHandler !== null) this.#errorHandler(error, true);
    else process.emitWarning(`${this.name}: ${error.message} (port closed)`, { type: 'BurrowPortWarning', code });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#readable = null;
    this.#queue.length = 0;
    this.#head = 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#readable === null || this.queued === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#closed || this.queued === 0) return;
      this.#readable?.();
      this.#schedule();
    });
  }
}
