/**
 * TunDevice against the PacketPort contract, plus the device's own behaviour.
 *
 * The pair: one namespace with two TUN devices and forwarding on.
 *
 *   a: bwio-ta 198.18.1.1/24  --(kernel forwards, TTL - 1)-->  b: bwio-tb 198.18.2.1/24
 *
 * `a` writes 198.18.1.2 -> 198.18.2.2 (IP protocol 253, for experiments: nothing in the kernel
 * answers it); the kernel routes it out of bwio-tb, where `b` reads it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BurrowError } from '../../src/errors.js';
import { constants, errnoName } from '../../src/io/native/index.js';
import { PacketBatch, VNET_HEADER_LENGTH, type PortError } from '../../src/io/port.js';
import { internetChecksum, ipv4PseudoHeaderSum } from '../../src/wire/checksum.js';
import { VIRTIO_NET_HDR_F_NEEDS_CSUM, writeVirtioNetHeader } from '../../src/wire/virtio-net.js';
import { TunDevice } from '../../src/io/tun.js';
import {
  fdCount,
  forwarded,
  inNs,
  ip,
  ipv4,
  ipv4Packet,
  Namespaces,
  pattern,
  rootSkipReason,
  sweep,
  sysctl,
} from './netns.js';
import { collect, portSuite, writeBatchOf, type PortPair } from './port.suite.js';

const skip = rootSkipReason();
const SRC = ipv4('198.18.1.2');
const DST = ipv4('198.18.2.2');

function packet(seq: number, size: number): Buffer {
  return ipv4Packet({ src: SRC, dst: DST, protocol: 253, id: seq & 0xffff }, pattern(seq, size - 20));
}

interface TunFixture extends PortPair {
  a: TunDevice;
  b: TunDevice;
  ns: string;
}

function tunPair(): TunFixture {
  const spaces = new Namespaces();
  const opened: TunDevice[] = [];
  const cleanup = () => {
    for (const d of opened) d.close();
    spaces.destroy();
  };
  try {
    const ns = spaces.add();
    sysctl(ns, 'net.ipv4.ip_forward', '1');
    inNs(ns, () => {
      opened.push(TunDevice.create('bwio-ta'));
      opened.push(TunDevice.create('bwio-tb'));
    });
    ip('-n', ns, 'addr', 'add', '198.18.1.1/24', 'dev', 'bwio-ta');
    ip('-n', ns, 'addr', 'add', '198.18.2.1/24', 'dev', 'bwio-tb');
    ip('-n', ns, 'link', 'set', 'bwio-ta', 'up');
    ip('-n', ns, 'link', 'set', 'bwio-tb', 'up');
    const [a, b] = opened;
    return {
      a,
      b,
      ns,
      packet,
      minSize: 20,
      maxSize: 1500,
      to: { addr: 0, port: 0 },
      expected: forwarded,
      // The first nibble is neither 4 nor 6: tun_get_user refuses it.
      failing: { packet: Buffer.alloc(28), addr: 0, port: 0, errno: 'EINVAL' },
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

after(sweep);

portSuite('TunDevice', tunPair, skip);

describe('TunDevice', { skip }, () => {
  /** Runs body with a fresh namespace; removes it and checks for leaked fds. */
  async function inFreshNs(body: (ns: string) => Promise<void> | void): Promise<void> {
    const fds = fdCount();
    const spaces = new Namespaces();
    try {
      await body(spaces.add());
    } finally {
      spaces.destroy();
    }
    assert.equal(fdCount(), fds, 'no fd left open');
  }

  it('create is exclusive: a second create of the same name fails with EBUSY', () =>
    inFreshNs((ns) => {
      const first = inNs(ns, () => TunDevice.create('bwio-x'));
      try {
        assert.throws(() => inNs(ns, () => TunDevice.create('bwio-x')), (e: BurrowError) => e.code === 'EBUSY');
      } finally {
        first.close();
      }
    }));

  it('lets the kernel number a name with %d and reports the name it got', () =>
    inFreshNs((ns) => {
      const d = inNs(ns, () => TunDevice.create('bwio%d'));
      try {
        assert.equal(d.name, 'bwio0');
        assert.match(ip('-n', ns, 'link', 'show', 'bwio0'), /bwio0: <POINTOPOINT,MULTICAST,NOARP>/);
      } finally {
        d.close();
      }
      assert.throws(() => ip('-n', ns, 'link', 'show', 'bwio0'), 'a device that is not persistent goes with its fd');
    }));

  it('a write to a device that is down fails with EIO, and the port keeps working', async () => {
    const p = tunPair();
    try {
      ip('-n', p.ns, 'link', 'set', 'bwio-ta', 'down');
      const out = writeBatchOf([packet(1, 60), packet(2, 60)], p.to);
      assert.equal(p.a.writeBatch(out), 0);
      assert.deepEqual([...out.errors].map(errnoName), ['EIO', 'EIO']);
      assert.equal(p.a.closed, false);
      ip('-n', p.ns, 'link', 'set', 'bwio-ta', 'up');
      assert.equal(p.a.writeBatch(out), 2);
      assert.equal((await collect(p.b, 2)).length, 2);
    } finally {
      p.cleanup();
    }
  });

  it('a device deleted under the port closes it with a fatal ENODEV, without a crash or a leak', async () => {
    const fds = fdCount();
    const p = tunPair();
    try {
      const errors: Array<[string, boolean, boolean]> = [];
      let readable = 0;
      const gone = new Promise<void>((resolve) =>
        p.b.onError((e: PortError, fatal) => {
          errors.push([e.code, fatal, e.fatal]);
          resolve();
        }));
      p.b.onReadable(() => readable++);
      ip('-n', p.ns, 'link', 'del', 'bwio-tb');
      await gone;
      assert.deepEqual(errors, [['ENODEV', true, true]]);
      assert.equal(p.b.closed, true);
      assert.equal(p.b.readBatch(new PacketBatch(4, 2048, 64)), 0);
      const out = writeBatchOf([packet(1, 60)], p.to);
      assert.equal(p.b.writeBatch(out), 0);
      assert.equal(errnoName(out.errors[0]), 'EBADF');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(errors.length, 1, 'reported once');
      assert.equal(readable, 0);
    } finally {
      p.cleanup();
    }
    assert.equal(fdCount(), fds, 'the port closed its fd itself');
  });

  it('a deleted device found by a write (no readiness armed) is reported the same way', () => {
    const p = tunPair();
    try {
      const errors: string[] = [];
      p.a.onError((e) => errors.push(`${e.code} ${e.fatal}`));
      ip('-n', p.ns, 'link', 'del', 'bwio-ta');
      const out = writeBatchOf([packet(1, 60)], p.to);
      assert.equal(p.a.writeBatch(out), 0);
      assert.equal(errnoName(out.errors[0]), 'EBADFD');
      assert.deepEqual(errors, ['ENODEV true']);
      assert.equal(p.a.closed, true);
    } finally {
      p.cleanup();
    }
  });

  it('without an error handler a fatal error becomes a process warning', async () => {
    const p = tunPair();
    try {
      const warning = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
      p.b.onReadable(() => {});
      ip('-n', p.ns, 'link', 'del', 'bwio-tb');
      const w = await warning;
      assert.equal(w.name, 'BurrowPortWarning');
      assert.equal(w.code, 'ENODEV');
      assert.equal(p.b.closed, true);
    } finally {
      p.cleanup();
    }
  });

  it('a persistent device outlives its fd and can be attached again', () =>
    inFreshNs((ns) => {
      const first = inNs(ns, () => TunDevice.create('bwio-p', { persist: true }));
      first.close();
      assert.match(ip('-n', ns, 'link', 'show', 'bwio-p'), /bwio-p/);
      const again = inNs(ns, () => TunDevice.attach('bwio-p'));
      try {
        assert.equal(again.name, 'bwio-p');
        assert.throws(() => inNs(ns, () => TunDevice.attach('bwio-p')), (e: BurrowError) => e.code === 'EBUSY');
        assert.throws(() => inNs(ns, () => TunDevice.attach('bwio-p', { kind: 'tap' })), (e: BurrowError) => e.code === 'EINVAL');
        again.setPersist(false);
      } finally {
        again.close();
      }
      assert.throws(() => ip('-n', ns, 'link', 'show', 'bwio-p'), 'gone once no longer persistent');
    }));

  it('attach to a device that does not exist fails with ENODEV and creates nothing', () =>
    inFreshNs((ns) => {
      assert.throws(() => inNs(ns, () => TunDevice.attach('bwio-none')), (e: BurrowError) => e.code === 'ENODEV');
      assert.throws(() => ip('-n', ns, 'link', 'show', 'bwio-none'));
    }));

  it('TUNSETLINK works while the device is down and fails with EBUSY while it is up', () =>
    inFreshNs((ns) => {
      const d = inNs(ns, () => TunDevice.create('bwio-l'));
      try {
        d.setLinkType(constants().ARPHRD_TUNNEL);
        assert.match(ip('-n', ns, 'link', 'show', 'bwio-l'), /link\/ipip/);
        ip('-n', ns, 'link', 'set', 'bwio-l', 'up');
        assert.throws(() => d.setLinkType(constants().ARPHRD_NONE), (e: BurrowError) => e.code === 'EBUSY');
      } finally {
        d.close();
      }
    }));

  it('a TAP device gives Ethernet frames; vnet headers and offloads can be switched on', () =>
    inFreshNs((ns) => {
      const c = constants();
      const tap = inNs(ns, () => TunDevice.create('bwio-tap', { kind: 'tap' }));
      const vnet = inNs(ns, () => TunDevice.create('bwio-vnet', { vnetHeader: true }));
      try {
        assert.match(ip('-n', ns, 'link', 'show', 'bwio-tap'), /link\/ether/);
        vnet.setVnetHeaderSize(12);
        vnet.setOffload(c.TUN_F_CSUM | c.TUN_F_TSO4 | c.TUN_F_TSO6);
        assert.throws(() => vnet.setVnetHeaderSize(4), (e: BurrowError) => e.code === 'EINVAL');
      } finally {
        tap.close();
        vnet.close();
      }
    }));

  /** Two TUN devices in one forwarding namespace: a plain one (198.18.1.1) and one with IFF_VNET_HDR. */
  async function withVnetPair(body: (a: TunDevice, b: TunDevice) => Promise<void>): Promise<void> {
    const fds = fdCount();
    const spaces = new Namespaces();
    const opened: TunDevice[] = [];
    try {
      const ns = spaces.add();
      sysctl(ns, 'net.ipv4.ip_forward', '1');
      inNs(ns, () => {
        opened.push(TunDevice.create('bwio-ta'));
        opened.push(TunDevice.create('bwio-tb', { vnetHeader: true }));
      });
      ip('-n', ns, 'addr', 'add', '198.18.1.1/24', 'dev', 'bwio-ta');
      ip('-n', ns, 'addr', 'add', '198.18.2.1/24', 'dev', 'bwio-tb');
      ip('-n', ns, 'link', 'set', 'bwio-ta', 'up');
      ip('-n', ns, 'link', 'set', 'bwio-tb', 'up');
      await body(opened[0], opened[1]);
    } finally {
      for (const d of opened) d.close();
      spaces.destroy();
    }
    assert.equal(fdCount(), fds);
  }

  it('with a vnet header, a read puts each virtio_net_hdr in batch.vnet and the packet in its slot', () =>
    withVnetPair(async (a, b) => {
      assert.equal(b.vnetHeader, true);
      const sent = packet(5, 100);
      assert.equal(a.writeBatch(writeBatchOf([sent], { addr: 0, port: 0 })), 1);
      const batch = new PacketBatch();
      batch.vnet.fill(0xa5);
      const [r] = await collect(b, 1, batch);
      assert.deepEqual(r.bytes, forwarded(sent));
      assert.deepEqual(Buffer.from(batch.vnet.subarray(0, VNET_HEADER_LENGTH)), Buffer.alloc(VNET_HEADER_LENGTH), 'no offload: flags 0, gso_type NONE');
    }));

  it('with a vnet header, a write takes each entry\'s header: a partial TCP checksum is finished by the kernel', () =>
    withVnetPair(async (a, b) => {
      // TCP 198.18.2.2:1000 -> 198.18.1.2:2000 written into b with NEEDS_CSUM: the checksum field holds
      // the pseudo-header sum only. Forwarded out of a (no offloads), the kernel must complete it.
      const tcp = Buffer.alloc(20 + 64);
      tcp.writeUInt16BE(1000, 0);
      tcp.writeUInt16BE(2000, 2);
      tcp.writeUInt32BE(1, 4);
      tcp[12] = 5 << 4;
      tcp[13] = 0x18;
      tcp.writeUInt16BE(512, 14);
      for (let i = 20; i < tcp.length; i++) tcp[i] = i * 7;
      const src = ipv4('198.18.2.2');
      const dst = ipv4('198.18.1.2');
      tcp.writeUInt16BE(ipv4PseudoHeaderSum(src, dst, 6, tcp.length), 16);
      const sent = ipv4Packet({ src, dst, protocol: 6, id: 9 }, tcp);
      const batch = writeBatchOf([sent], { addr: 0, port: 0 });
      writeVirtioNetHeader({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: 0, hdrLen: 40, gsoSize: 0, csumStart: 20, csumOffset: 16 }, batch.vnet, 0);
      assert.equal(b.writeBatch(batch), 1);
      const [r] = await collect(a, 1);
      const got = r.bytes;
      assert.equal(got.length, sent.length);
      assert.equal(internetChecksum(got, 20, got.length - 20, ipv4PseudoHeaderSum(src, dst, 6, got.length - 20)), 0, 'the TCP checksum verifies');
      assert.notEqual(got.readUInt16BE(36), ipv4PseudoHeaderSum(src, dst, 6, tcp.length));
    }));
});
