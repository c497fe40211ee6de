/**
 * The memory port pair against the PacketPort contract, plus its fault hooks. Runs without root.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPort } from '../../src/io/memory.js';
import { errnoName } from '../../src/io/native/index.js';
import { PacketBatch, type PortError } from '../../src/io/port.js';
import { pattern } from './netns.js';
import { collect, portSuite, writeBatchOf, type PortPair } from './port.suite.js';

function memoryPair(): PortPair {
  const [a, b] = MemoryPort.pair(['mem-a', 'mem-b'], { mtu: 9000 });
  a.fault = (packet) => (packet[0] === 0xee ? 'ENOBUFS' : undefined);
  return {
    a,
    b,
    packet: (seq, size) => {
      const p = pattern(seq, size);
      if (p[0] === 0xee) p[0] = 0; // 0xee marks the failing packet
      return p;
    },
    minSize: 1,
    maxSize: 9000,
    to: { addr: 0, port: 0 },
    expected: (sent) => sent,
    failing: { packet: Buffer.from([0xee, 1, 2, 3]), addr: 0, port: 0, errno: 'ENOBUFS' },
    cleanup: () => {
      a.close();
      b.close();
    },
  };
}

portSuite('memory', memoryPair);

describe('MemoryPort faults', () => {
  it('reports the sender address each side was given', async () => {
    const [a, b] = MemoryPort.pair();
    a.address = 0xc0000201;
    a.sourcePort = 4789;
    a.ifindex = 3;
    a.writeBatch(writeBatchOf([Buffer.from('x')], { addr: 0, port: 0 }));
    const [r] = await collect(b, 1);
    assert.deepEqual([r.addr, r.port, r.ifindex], [0xc0000201, 4789, 3]);
    a.close();
    b.close();
  });

  it('fails writes with EIO while down, EMSGSIZE above the mtu, ENOBUFS when the queue is full', () => {
    const [a, b] = MemoryPort.pair(['a', 'b'], { mtu: 100, queueLimit: 2 });
    const out = writeBatchOf([Buffer.alloc(10), Buffer.alloc(101), Buffer.alloc(10), Buffer.alloc(10)], { addr: 0, port: 0 });
    assert.equal(a.writeBatch(out), 2);
    assert.deepEqual([...out.errors].map((e) => (e === 0 ? 0 : errnoName(e))), [0, 'EMSGSIZE', 0, 'ENOBUFS']);
    a.setUp(false);
    const one = writeBatchOf([Buffer.alloc(10)], { addr: 0, port: 0 });
    assert.equal(a.writeBatch(one), 0);
    assert.equal(errnoName(one.errors[0]), 'EIO');
    assert.equal(b.queued, 2);
    assert.deepEqual(a.stats, { written: 2, failed: 3, read: 0 });
    a.close();
    b.close();
  });

  it("'drop' accepts a packet and loses it", () => {
    const [a, b] = MemoryPort.pair();
    a.fault = (_packet, i) => (i === 0 ? 'drop' : undefined);
    const out = writeBatchOf([Buffer.from('lost'), Buffer.from('kept')], { addr: 0, port: 0 });
    assert.equal(a.writeBatch(out), 2);
    const batch = new PacketBatch(4, 64, 8);
    assert.equal(b.readBatch(batch), 1);
    assert.equal(batch.packet(0).toString(), 'kept');
    a.close();
    b.close();
  });

  it('kill() closes the port with a fatal error, like a deleted device', () => {
    const [a, b] = MemoryPort.pair();
    const seen: Array<[string, boolean]> = [];
    a.onError((e: PortError, fatal) => seen.push([e.code, fatal]));
    a.kill();
    assert.deepEqual(seen, [['ENODEV', true]]);
    assert.equal(a.closed, true);
    a.kill();
    assert.equal(seen.length, 1);
    b.close();
  });
});
