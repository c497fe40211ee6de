/**
 * RawIpv4Socket against the PacketPort contract (protocols 4 and 47), plus what the kernel does to a
 * header burrow writes (IP_HDRINCL), device binding and send-only IPPROTO_RAW sockets.
 * Topology: test/compliance/veth.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BurrowError } from '../../src/errors.js';
import { constants, errnoName, getsockoptInt } from '../../src/io/native/index.js';
import { PacketBatch } from '../../src/io/port.js';
import { RawIpv4Socket } from '../../src/io/raw-socket.js';
import { fdCount, inNs, ipv4Packet, pattern, rootSkipReason, sweep } from './netns.js';
import { collect, portSuite, writeBatchOf, type PortPair } from './port.suite.js';
import { ADDR_A, ADDR_B, UNROUTED, vethPair, type Veth } from './veth.js';

const skip = rootSkipReason();

function outer(protocol: number, seq: number, size: number, dst = ADDR_B): Buffer {
  return ipv4Packet({ src: ADDR_A, dst, protocol, id: (seq + 1) & 0xffff, dontFragment: true }, pattern(seq, size - 20));
}

interface RawFixture extends PortPair {
  a: RawIpv4Socket;
  b: RawIpv4Socket;
  veth: Veth;
}

function rawPair(protocol: number): RawFixture {
  const veth = vethPair();
  const opened: RawIpv4Socket[] = [];
  const cleanup = () => {
    for (const s of opened) s.close();
    veth.spaces.destroy();
  };
  try {
    opened.push(inNs(veth.nsA, () => RawIpv4Socket.open({ protocol })));
    opened.push(inNs(veth.nsB, () => RawIpv4Socket.open({ protocol })));
  } catch (e) {
    cleanup();
    throw e;
  }
  const [a, b] = opened;
  return {
    a,
    b,
    veth,
    packet: (seq, size) => outer(protocol, seq, size),
    minSize: 20,
    maxSize: 1500,
    to: { addr: ADDR_B, port: 0 },
    expected: (sent) => sent,
    from: { addr: ADDR_A, port: 0, ifindex: veth.ifindexB },
    failing: { packet: outer(protocol, 99, 60, UNROUTED), addr: UNROUTED, port: 0, errno: 'ENETUNREACH' },
    cleanup,
  };
}

after(sweep);

portSuite('RawIpv4Socket protocol 4 (ipip)', () => rawPair(4), skip);
portSuite('RawIpv4Socket protocol 47 (gre)', () => rawPair(47), skip);

describe('RawIpv4Socket', { skip }, () => {
  async function withPair(protocol: number, body: (p: RawFixture) => Promise<void> | void): Promise<void> {
    const fds = fdCount();
    const p = rawPair(protocol);
    try {
      await body(p);
    } finally {
      p.cleanup();
    }
    assert.equal(fdCount(), fds, 'no fd left open');
  }

  it('with IP_HDRINCL the kernel fills in total length, checksum and a zero source; a DF packet keeps ID 0', () =>
    withPair(4, async (p) => {
      const sent = outer(4, 1, 80);
      sent.writeUInt16BE(0, 2); // total length
      sent.writeUInt16BE(0, 4); // ID
      sent.writeUInt16BE(0, 10); // checksum
      sent.writeUInt32BE(0, 12); // source
      const noDf = Buffer.from(sent);
      noDf.writeUInt16BE(0, 6); // DF clear: the kernel picks an ID
      assert.equal(p.a.writeBatch(writeBatchOf([sent, noDf], p.to)), 2);
      const [r, r2] = await collect(p.b, 2);
      const want = ipv4Packet({ src: ADDR_A, dst: ADDR_B, protocol: 4, id: 0, dontFragment: true }, pattern(1, 60));
      assert.deepEqual(r.bytes, want, 'the header as if burrow had filled it in (length, checksum, source)');
      assert.equal(r.bytes.readUInt16BE(2), 80, 'total length');
      assert.equal(r.bytes.readUInt32BE(12), ADDR_A, 'source');
      assert.equal(r.bytes.readUInt16BE(4), 0, 'ID of a DF packet');
      assert.notEqual(r2.bytes.readUInt16BE(4), 0, 'ID of a packet without DF');
    }));

  it('never fragments: a packet longer than the route MTU fails with EMSGSIZE', () =>
    withPair(4, (p) => {
      const out = writeBatchOf([outer(4, 1, 1501), outer(4, 2, 1500)], p.to);
      assert.equal(p.a.writeBatch(out), 1);
      assert.deepEqual([errnoName(out.errors[0]), out.errors[1]], ['EMSGSIZE', 0]);
    }));

  it('a send-only IPPROTO_RAW socket sends any protocol and receives nothing', () =>
    withPair(47, async (p) => {
      const sender = inNs(p.veth.nsA, () => RawIpv4Socket.open({ protocol: constants().IPPROTO_RAW }));
      try {
        const sent = outer(47, 3, 64);
        assert.equal(sender.writeBatch(writeBatchOf([sent], p.to)), 1);
        const [r] = await collect(p.b, 1);
        assert.deepEqual(r.bytes, sent);
        // A GRE packet arriving in nsA reaches p.a but not the IPPROTO_RAW socket beside it.
        assert.equal(p.b.writeBatch(writeBatchOf([ipv4PacketBtoA(47)], { addr: ADDR_A, port: 0 })), 1);
        await collect(p.a, 1);
        assert.equal(sender.readBatch(new PacketBatch(4, 2048, 64)), 0);
      } finally {
        sender.close();
      }
    }));

  it('bound to a device it receives only what arrives there', () =>
    withPair(4, async (p) => {
      const onVeth = inNs(p.veth.nsB, () => RawIpv4Socket.open({ protocol: 4, device: 'bwio-vb' }));
      const onLo = inNs(p.veth.nsB, () => RawIpv4Socket.open({ protocol: 4, device: 'lo' }));
      try {
        assert.equal(p.a.writeBatch(writeBatchOf([outer(4, 1, 60)], p.to)), 1);
        const [r] = await collect(onVeth, 1);
        assert.equal(r.ifindex, p.veth.ifindexB);
        await collect(p.b, 1);
        assert.equal(onLo.readBatch(new PacketBatch(4, 2048, 64)), 0);
      } finally {
        onVeth.close();
        onLo.close();
      }
    }));

  it('binding to a device that does not exist fails with ENODEV and leaks no fd', () =>
    withPair(4, (p) => {
      const fds = fdCount();
      assert.throws(
        () => inNs(p.veth.nsA, () => RawIpv4Socket.open({ protocol: 4, device: 'bwio-none' })),
        (e: BurrowError) => e.code === 'ENODEV',
      );
      assert.equal(fdCount(), fds);
    }));

  it('gets the receive buffer it asked for (SO_RCVBUFFORCE, beyond rmem_max)', () =>
    withPair(4, (p) => {
      const fds = fdCount();
      const s = inNs(p.veth.nsA, () => RawIpv4Socket.open({ protocol: 4, bufferBytes: 8 << 20 }));
      try {
        const c = constants();
        // The kernel doubles the value for its bookkeeping (socket(7)). A plain SO_RCVBUF would be capped
        // by net.core.rmem_max (208 KiB by default, 4 MiB on the machine this was written on).
        assert.equal(getsockoptInt(s.fd, c.SOL_SOCKET, c.SO_RCVBUF), 16 << 20);
      } finally {
        s.close();
      }
      assert.equal(fdCount(), fds);
    }));
});

function ipv4PacketBtoA(protocol: number): Buffer {
  return ipv4Packet({ src: ADDR_B, dst: ADDR_A, protocol, id: 7 }, pattern(7, 40));
}
