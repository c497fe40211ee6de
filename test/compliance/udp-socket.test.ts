/**
 * UdpSocket against the PacketPort contract, plus binding. Topology: test/compliance/veth.ts, with a
 * socket on 192.0.2.1:4789 in nsA and one on 192.0.2.2:4789 in nsB.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BurrowError } from '../../src/errors.js';
import { constants, errnoName, setsockoptInt } from '../../src/io/native/index.js';
import { PacketBatch } from '../../src/io/port.js';
import { UdpSocket } from '../../src/io/udp-socket.js';
import { fdCount, inNs, pattern, rootSkipReason, sweep } from './netns.js';
import { collect, portSuite, writeBatchOf, type PortPair } from './port.suite.js';
import { ADDR_A, ADDR_B, UNROUTED, vethPair, type Veth } from './veth.js';

const skip = rootSkipReason();
const PORT = 4789;

interface UdpFixture extends PortPair {
  a: UdpSocket;
  b: UdpSocket;
  veth: Veth;
}

function udpPair(): UdpFixture {
  const veth = vethPair();
  const opened: UdpSocket[] = [];
  const cleanup = () => {
    for (const s of opened) s.close();
    veth.spaces.destroy();
  };
  try {
    opened.push(inNs(veth.nsA, () => UdpSocket.open({ address: ADDR_A, port: PORT })));
    opened.push(inNs(veth.nsB, () => UdpSocket.open({ address: ADDR_B, port: PORT })));
  } catch (e) {
    cleanup();
    throw e;
  }
  const [a, b] = opened;
  return {
    a,
    b,
    veth,
    packet: (seq, size) => pattern(seq, size),
    minSize: 1,
    maxSize: 1472,
    to: { addr: ADDR_B, port: PORT },
    expected: (sent) => sent,
    from: { addr: ADDR_A, port: PORT, ifindex: veth.ifindexB },
    failing: { packet: pattern(99, 40), addr: UNROUTED, port: PORT, errno: 'ENETUNREACH' },
    cleanup,
  };
}

after(sweep);

portSuite('UdpSocket', udpPair, skip);

describe('UdpSocket', { skip }, () => {
  async function withPair(body: (p: UdpFixture) => Promise<void> | void): Promise<void> {
    const fds = fdCount();
    const p = udpPair();
    try {
      await body(p);
    } finally {
      p.cleanup();
    }
    assert.equal(fdCount(), fds, 'no fd left open');
  }

  it('names itself after its address and port', () =>
    withPair((p) => {
      assert.equal(p.a.name, 'udp 192.0.2.1:4789');
      assert.deepEqual([p.b.localAddress, p.b.localPort], [ADDR_B, PORT]);
    }));

  it('port 0 gets a port from the kernel; a taken port fails with EADDRINUSE', () =>
    withPair((p) => {
      const s = inNs(p.veth.nsA, () => UdpSocket.open());
      try {
        assert.ok(s.localPort > 0);
        assert.equal(s.localAddress, 0);
        const fds = fdCount();
        assert.throws(
          () => inNs(p.veth.nsA, () => UdpSocket.open({ address: ADDR_A, port: PORT })),
          (e: BurrowError) => e.code === 'EADDRINUSE',
        );
        assert.equal(fdCount(), fds);
      } finally {
        s.close();
      }
    }));

  it('carries an empty datagram, and refuses one over 65507 bytes with EMSGSIZE', () =>
    withPair(async (p) => {
      const out = writeBatchOf([Buffer.alloc(0), Buffer.alloc(65508), Buffer.from('after')], p.to);
      assert.equal(p.a.writeBatch(out), 2);
      assert.deepEqual([out.errors[0], errnoName(out.errors[1]), out.errors[2]], [0, 'EMSGSIZE', 0]);
      const got = await collect(p.b, 2);
      assert.deepEqual(got.map((r) => r.bytes.toString()), ['', 'after']);
    }));

  it('one read takes more than the native chunk of 256 datagrams', () =>
    withPair(async (p) => {
      const sent = Array.from({ length: 300 }, (_, i) => pattern(i, 16));
      assert.equal(p.a.writeBatch(writeBatchOf(sent, p.to)), 300);
      await new Promise((r) => setTimeout(r, 100));
      const batch = new PacketBatch(400, 64, 16);
      assert.equal(p.b.readBatch(batch), 300);
      assert.deepEqual(batch.packet(299), sent[299]);
      assert.equal(batch.offsets[299], 299 * 64 + 16);
      assert.equal(batch.ports[299], PORT);
    }));

  it('sends to the port in each entry', () =>
    withPair(async (p) => {
      const other = inNs(p.veth.nsB, () => UdpSocket.open({ address: ADDR_B, port: 4790 }));
      try {
        const out = writeBatchOf([Buffer.from('to 4789'), Buffer.from('to 4790')], p.to);
        out.ports[1] = 4790;
        assert.equal(p.a.writeBatch(out), 2);
        assert.deepEqual((await collect(p.b, 1)).map((r) => r.bytes.toString()), ['to 4789']);
        assert.deepEqual((await collect(other, 1)).map((r) => r.bytes.toString()), ['to 4790']);
      } finally {
        other.close();
      }
    }));

  it('with receiveTos reports each datagram\'s TOS byte; without it 0', () =>
    withPair(async (p) => {
      const other = inNs(p.veth.nsB, () => UdpSocket.open({ address: ADDR_B, port: 4790, receiveTos: true }));
      try {
        for (const [port, tos] of [
          [4790, 0xb9],
          [4789, 0xb9],
        ] as const) {
          inNs(p.veth.nsA, () => setsockoptInt(p.a.fd, constants().IPPROTO_IP, constants().IP_TOS, tos));
          const out = writeBatchOf([Buffer.from('marked')], { addr: ADDR_B, port });
          assert.equal(p.a.writeBatch(out), 1);
        }
        await new Promise((r) => setTimeout(r, 50));
        const batch = new PacketBatch(4, 64, 0);
        batch.tos.fill(7);
        assert.equal(other.readBatch(batch), 1);
        assert.equal(batch.tos[0], 0xb9);
        batch.tos.fill(7);
        assert.equal(p.b.readBatch(batch), 1);
        assert.equal(batch.tos[0], 0, 'no IP_RECVTOS, no TOS');
      } finally {
        other.close();
      }
    }));
});
