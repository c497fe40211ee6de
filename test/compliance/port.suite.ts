/**
 * The PacketPort contract (src/io/port.ts) as one suite, run against every implementation: memory,
 * TUN, raw IPv4 and UDP sockets (test/compliance/*.test.ts each give a factory of connected pairs).
 *
 * A pair is two ports joined by some medium: what `a` writes toward `to`, `b` reads. The medium may
 * change bytes in a known way (a forwarding kernel lowers the TTL), which `expected` describes, and
 * names one write it must refuse (`failing`) with its errno. Every test makes a fresh pair, closes it
 * in a finally block and checks that the process holds no more fds than before.
 */
import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import { errnoName } from '../../src/io/native/index.js';
import { PacketBatch, type PacketPort } from '../../src/io/port.js';
import { fdCount } from './netns.js';

export interface PortPair {
  a: PacketPort;
  b: PacketPort;
  /** A packet of exactly `size` bytes that `a` may write toward `b`; `seq` makes its bytes unique. */
  packet(seq: number, size: number): Buffer;
  minSize: number;
  maxSize: number;
  /** Destination to put in a's write batches (0/0 where the medium has no addresses). */
  to: { addr: number; port: number };
  /** What `b` reads for a packet `a` wrote. */
  expected(sent: Buffer): Buffer;
  /** Sender that `b` must report (undefined: the medium has none, all zero). */
  from?: { addr: number; port: number; ifindex: number };
  /** A write the medium refuses, and the errno name it gives. */
  failing: { packet: Buffer; addr: number; port: number; errno: string };
  /** Closes both ports and removes whatever the pair made; must be idempotent. */
  cleanup(): void;
}

export interface Received {
  bytes: Buffer;
  offset: number;
  slot: number;
  addr: number;
  port: number;
  ifindex: number;
  errno: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One write batch holding copies of `packets`, all addressed to `to`. */
export function writeBatchOf(packets: Buffer[], to: { addr: number; port: number }): PacketBatch {
  const slot = Math.max(64, ...packets.map((p) => p.length));
  const batch = new PacketBatch(packets.length, slot, 0);
  packets.forEach((p, i) => {
    p.copy(batch.data, batch.slotStart(i));
    batch.push(batch.slotStart(i), p.length, to.addr, to.port);
  });
  return batch;
}

function drainInto(port: PacketPort, batch: PacketBatch, got: Received[]): number {
  let total = 0;
  for (;;) {
    const n = port.readBatch(batch);
    assert.ok(n <= batch.capacity, 'a read never returns more than the batch capacity');
    assert.equal(batch.count, n, 'readBatch sets batch.count');
    for (let i = 0; i < n; i++) {
      got.push({
        bytes: Buffer.from(batch.packet(i)),
        offset: batch.offsets[i],
        slot: i,
        addr: batch.addrs[i],
        port: batch.ports[i],
        ifindex: batch.ifindexes[i],
        errno: batch.errors[i],
      });
    }
    total += n;
    if (n < batch.capacity) return total;
  }
}

/** Reads from `port` (driven by its readiness handler) until `want` packets came, or fails after timeoutMs. */
export function collect(port: PacketPort, want: number, batch = new PacketBatch(), timeoutMs = 3000): Promise<Received[]> {
  const got: Received[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      port.onReadable(null);
      reject(new Error(`${port.name}: ${got.length} of ${want} packets arrived`));
    }, timeoutMs);
    port.onReadable(() => {
      try {
        drainInto(port, batch, got);
      } catch (e) {
        clearTimeout(timer);
        port.onReadable(null);
        reject(e);
        return;
      }
      if (got.length >= want) {
        clearTimeout(timer);
        port.onReadable(null);
        resolve(got);
      }
    });
  });
}

export function portSuite(kind: string, makePair: () => PortPair, skip?: string): void {
  describe(`PacketPort contract: ${kind}`, { skip }, () => {
    before(() => {
      // Warm-up: the first pair loads the addon and may open files that stay (not a leak).
      makePair().cleanup();
    });

    /** Runs `body` on a fresh pair; closes it and checks that no fd was left behind. */
    async function withPair(body: (p: PortPair) => Promise<void>): Promise<void> {
      const fdsBefore = fdCount();
      const pair = makePair();
      try {
        await body(pair);
      } finally {
        pair.cleanup();
      }
      assert.equal(fdCount(), fdsBefore, 'no fd left open');
    }

    function checkSender(p: PortPair, r: Received): void {
      if (p.from === undefined) {
        assert.deepEqual([r.addr, r.port, r.ifindex], [0, 0, 0], 'no sender on this medium');
      } else {
        assert.deepEqual([r.addr, r.port, r.ifindex], [p.from.addr, p.from.port, p.from.ifindex], 'sender');
      }
    }

    it('delivers one packet byte for byte into slot 0 after the headroom', () =>
      withPair(async (p) => {
        const sent = p.packet(1, Math.max(p.minSize, 100));
        const out = writeBatchOf([sent], p.to);
        assert.equal(p.a.writeBatch(out), 1);
        assert.equal(out.errors[0], 0);
        const batch = new PacketBatch(8, 2048, 64);
        const [r, ...rest] = await collect(p.b, 1, batch);
        assert.equal(rest.length, 0);
        assert.equal(r.offset, 64, 'packet 0 starts at slotStart(0) + headroom');
        assert.equal(r.errno, 0);
        assert.deepEqual(r.bytes, p.expected(sent));
        checkSender(p, r);
      }));

    it('moves a batch of 64 in order, every size from the smallest to the largest', () =>
      withPair(async (p) => {
        const sizes = Array.from({ length: 64 }, (_, i) =>
          Math.round(p.minSize + ((Math.min(p.maxSize, 1400) - p.minSize) * i) / 63));
        const sent = sizes.map((size, i) => p.packet(i, size));
        const out = writeBatchOf(sent, p.to);
        assert.equal(p.a.writeBatch(out), 64);
        assert.deepEqual([...out.errors], new Array(64).fill(0));
        const batch = new PacketBatch(16, 2048, 64);
        const got = await collect(p.b, 64, batch);
        assert.equal(got.length, 64);
        got.forEach((r, i) => {
          assert.deepEqual(r.bytes, p.expected(sent[i]), `packet ${i}`);
          assert.equal(r.offset, batch.slotStart(r.slot) + 64);
          assert.equal(r.errno, 0);
          checkSender(p, r);
        });
      }));

    it('fills at most `capacity` slots per read and keeps the rest for the next one', () =>
      withPair(async (p) => {
        const sent = Array.from({ length: 24 }, (_, i) => p.packet(i, p.minSize + 16));
        assert.equal(p.a.writeBatch(writeBatchOf(sent, p.to)), 24);
        await sleep(100); // let every packet arrive before the first read
        const batch = new PacketBatch(16, 2048, 64);
        assert.equal(p.b.readBatch(batch), 16);
        assert.equal(p.b.readBatch(batch), 8);
        assert.deepEqual(batch.packet(7), p.expected(sent[23]));
        assert.equal(p.b.readBatch(batch), 0);
      }));

    it('returns 0 at once when nothing is pending', () =>
      withPair(async (p) => {
        const batch = new PacketBatch(4, 2048, 64);
        const t0 = process.hrtime.bigint();
        assert.equal(p.b.readBatch(batch), 0);
        assert.equal(batch.count, 0);
        assert.ok(process.hrtime.bigint() - t0 < 50_000_000n, 'a read never blocks');
      }));

    it('cuts a packet longer than the slot to maxPacket and marks it EMSGSIZE', () =>
      withPair(async (p) => {
        const sent = p.packet(7, Math.max(400, p.minSize));
        assert.equal(p.a.writeBatch(writeBatchOf([sent], p.to)), 1);
        const batch = new PacketBatch(2, 256, 64);
        const [r] = await collect(p.b, 1, batch);
        assert.equal(r.bytes.length, batch.maxPacket);
        assert.equal(errnoName(r.errno), 'EMSGSIZE');
        assert.deepEqual(r.bytes, p.expected(sent).subarray(0, batch.maxPacket));
      }));

    it('a failing entry gets its errno and does not stop the entries after it', () =>
      withPair(async (p) => {
        const good = [p.packet(1, p.minSize + 8), p.packet(2, p.minSize + 9)];
        const out = writeBatchOf([good[0], p.failing.packet, good[1]], p.to);
        out.addrs[1] = p.failing.addr;
        out.ports[1] = p.failing.port;
        assert.equal(p.a.writeBatch(out), 2);
        assert.deepEqual([out.errors[0], errnoName(out.errors[1]), out.errors[2]], [0, p.failing.errno, 0]);
        const got = await collect(p.b, 2);
        assert.deepEqual(got.map((r) => r.bytes), good.map((g) => p.expected(g)));
      }));

    it('writes entries that point anywhere into a borrowed buffer', () =>
      withPair(async (p) => {
        const sent = [0, 1, 2, 3].map((i) => p.packet(i, p.minSize + 10 * i));
        const source = new PacketBatch(4, 2048, 64);
        sent.forEach((s, i) => s.copy(source.data, source.slotStart(i) + 64));
        const out = PacketBatch.forWriting(4);
        out.borrow(source);
        for (const i of [3, 1, 2, 0]) out.push(source.slotStart(i) + 64, sent[i].length, p.to.addr, p.to.port);
        assert.equal(p.a.writeBatch(out), 4);
        const got = await collect(p.b, 4);
        assert.deepEqual(got.map((r) => r.bytes), [3, 1, 2, 0].map((i) => p.expected(sent[i])));
      }));

    it('writes a batch larger than the native chunk of 256 entries', () =>
      withPair(async (p) => {
        const sent = Array.from({ length: 300 }, (_, i) => p.packet(i, p.minSize + (i % 32)));
        const out = writeBatchOf(sent, p.to);
        assert.equal(p.a.writeBatch(out), 300);
        assert.ok(out.errors.every((e) => e === 0));
        const got = await collect(p.b, 300, new PacketBatch(64, 512, 64));
        assert.deepEqual(got.map((r) => r.bytes), sent.map((s) => p.expected(s)));
      }));

    it('readiness is level-triggered and quiet once drained', () =>
      withPair(async (p) => {
        assert.equal(p.a.writeBatch(writeBatchOf([p.packet(1, p.minSize)], p.to)), 1);
        const batch = new PacketBatch(4, 2048, 64);
        let calls = 0;
        let read = 0;
        await new Promise<void>((resolve) => {
          p.b.onReadable(() => {
            calls++;
            if (calls === 1) return; // not read: a level-triggered port calls again
            read += p.b.readBatch(batch);
            resolve();
          });
        });
        assert.equal(calls, 2);
        assert.equal(read, 1);
        await sleep(100);
        assert.equal(calls, 2, 'no call while nothing is pending');
        p.b.onReadable(null);
        assert.equal(p.a.writeBatch(writeBatchOf([p.packet(2, p.minSize)], p.to)), 1);
        await sleep(100);
        assert.equal(calls, 2, 'a disarmed port calls nothing');
        assert.equal(p.b.readBatch(batch), 1);
      }));

    it('the handler may be replaced, and promise jobs queued in it run before the next event', () =>
      withPair(async (p) => {
        const order: string[] = [];
        await new Promise<void>((resolve) => {
          p.b.onReadable(() => order.push('old'));
          p.b.onReadable(() => {
            p.b.readBatch(new PacketBatch(4, 2048, 64));
            order.push('handler');
            void Promise.resolve().then(() => order.push('microtask'));
            process.nextTick(() => order.push('tick'));
            setImmediate(() => {
              order.push('immediate');
              resolve();
            });
          });
          p.a.writeBatch(writeBatchOf([p.packet(1, p.minSize)], p.to));
        });
        p.b.onReadable(null);
        assert.deepEqual(order, ['handler', 'tick', 'microtask', 'immediate']);
      }));

    it('after close: no handler runs, reads give 0, writes give EBADF, a second close is harmless', () =>
      withPair(async (p) => {
        let calls = 0;
        p.b.onReadable(() => calls++);
        p.b.close();
        assert.equal(p.b.closed, true);
        p.a.writeBatch(writeBatchOf([p.packet(1, p.minSize)], p.to)); // may fail: nothing at the far end
        await sleep(100);
        assert.equal(calls, 0);
        const batch = new PacketBatch(4, 2048, 64);
        assert.equal(p.b.readBatch(batch), 0);
        const out = writeBatchOf([p.packet(2, p.minSize), p.packet(3, p.minSize)], p.to);
        assert.equal(p.b.writeBatch(out), 0);
        assert.deepEqual([...out.errors].map(errnoName), ['EBADF', 'EBADF']);
        p.b.close();
        p.b.onReadable(() => calls++);
        await sleep(20);
        assert.equal(calls, 0, 'arming a closed port does nothing');
      }));
  });
}
