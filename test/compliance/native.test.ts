/**
 * The addon's own promises (src/io/native/pktio.c), below the ports: the error convention, argument
 * checks, errno names, the control-plane calls, and the Poll handle's life cycle.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BurrowError } from '../../src/errors.js';
import {
  bind,
  close,
  connect,
  constants,
  errnoError,
  errnoName,
  errnoNumber,
  flock,
  getsockname,
  getsockoptBuf,
  getsockoptInt,
  ifIndexToName,
  ifNameToIndex,
  native,
  nativeAvailable,
  netnsCookie,
  parseSockaddrIn,
  recv,
  send,
  sockaddrIn,
  socket,
  waitReadable,
} from '../../src/io/native/index.js';
import { fdCount, inNs, ipv4, Namespaces, rootSkipReason, sweep } from './netns.js';
import { VNET_HEADER_LENGTH } from '../../src/io/port.js';
import {
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_LENGTH,
} from '../../src/wire/virtio-net.js';

const noAddon = nativeAvailable() ? undefined : 'needs the native addon: run npm install';
const skipRoot = rootSkipReason();
const LOOPBACK = ipv4('127.0.0.1');

after(sweep);

describe('errno names', () => {
  it('maps numbers both ways, preferring the names glibc uses, including Linux-only ones', () => {
    assert.equal(errnoName(11), 'EAGAIN');
    assert.equal(errnoName(-11), 'EAGAIN');
    assert.equal(errnoName(95), 'EOPNOTSUPP');
    assert.equal(errnoName(77), 'EBADFD');
    assert.equal(errnoName(101), 'ENETUNREACH');
    assert.equal(errnoName(4095), 'E4095');
    assert.equal(errnoNumber('EBADFD'), 77);
    assert.equal(errnoNumber('EAGAIN'), os.constants.errno.EAGAIN);
  });

  it('errnoError gives a BurrowError for the codes errors.ts knows, a coded Error otherwise', () => {
    const known = errnoError(16, 'tunOpen');
    assert.ok(known instanceof BurrowError);
    assert.equal(known.code, 'EBUSY');
    assert.equal(known.message, 'Device or resource busy: tunOpen');
    const other = errnoError(116);
    assert.ok(!(other instanceof BurrowError));
    assert.equal(other.code, 'ESTALE');
  });

  it('sockaddr_in round trip', () => {
    const sa = sockaddrIn(0xc0000201, 4789);
    assert.equal(sa.length, 16);
    assert.deepEqual(parseSockaddrIn(sa), { addr: 0xc0000201, port: 4789 });
  });
});

describe('pktio addon', { skip: noAddon }, () => {
  it('exports the header constants burrow relies on, equal to what Node knows', () => {
    const c = constants();
    assert.equal(c.AF_INET, 2);
    assert.equal(c.SOCK_RAW, 3);
    assert.equal(c.IPPROTO_GRE, 47);
    assert.equal(c.IFF_TUN_EXCL, 0x8000);
    assert.equal(c.SO_NETNS_COOKIE, 71);
    assert.equal(c.MAX_BATCH, 256);
    assert.equal(c.LOCK_NB, 4);
  });

  it('the virtio_net_hdr numbers burrow writes down (wire/virtio-net.ts, io/port.ts) are the headers\' own', () => {
    const c = constants();
    assert.equal(c.VIRTIO_NET_HDR_SIZE, VIRTIO_NET_HDR_LENGTH);
    assert.equal(VNET_HEADER_LENGTH, VIRTIO_NET_HDR_LENGTH);
    assert.equal(c.VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert.equal(c.VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_DATA_VALID);
    assert.equal(c.VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_NONE);
    assert.equal(c.VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV4);
    assert.equal(c.VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_TCPV6);
    assert.equal(c.VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_ECN);
  });

  it('control-plane calls throw errno-coded errors; data calls return -errno', () => {
    assert.throws(() => close(1 << 20), (e: BurrowError) => e instanceof BurrowError && e.code === 'EBADF');
    assert.throws(() => socket(12345, 1, 0), (e: Error & { code: string }) => e.code === 'EAFNOSUPPORT');
    try {
      native().close(1 << 20);
      assert.fail('close should throw');
    } catch (e) {
      const err = e as Error & { code: string; errno: number; syscall: string };
      assert.deepEqual([err.code, err.errno, err.syscall], ['EBADF', -9, 'close']);
    }
    const buf = Buffer.alloc(16);
    assert.equal(send(1 << 20, buf, 0, 1), -9);
    assert.equal(recv(1 << 20, buf, 0, 16), -9);
  });

  it('refuses wrong arguments with TypeError/RangeError before any system call', () => {
    const n = native();
    const u32 = new Uint32Array(4);
    assert.throws(() => n.readBatch(0, Buffer.alloc(100), 50, 10, u32, u32, 4), RangeError, 'slots beyond data');
    assert.throws(() => n.readBatch(0, Buffer.alloc(100), 50, 50, u32, u32, 1), RangeError, 'headroom = slot');
    assert.throws(() => n.readBatch(0, Buffer.alloc(400), 50, 10, u32, u32, 8), RangeError, 'max beyond arrays');
    assert.throws(() => n.readBatch(0, Buffer.alloc(100), 50, 10, [0] as never, u32, 1), TypeError);
    assert.throws(() => n.writeBatch(0, Buffer.alloc(10), Uint32Array.of(8), Uint32Array.of(4), new Int32Array(1), 1), RangeError);
    assert.throws(() => n.send(0, Buffer.alloc(4), 2, 3), RangeError);
    assert.throws(() => n.tunOpen('x'.repeat(16), constants().IFF_TUN), RangeError, 'name longer than IFNAMSIZ - 1');
    assert.throws(() => n.tunOpen('x', constants().IFF_TUN | constants().IFF_TAP), RangeError);
    assert.throws(() => new n.Poll(1 << 20, () => {}), (e: Error & { code: string }) => e.code === 'EBADF');
  });

  it('netlink-style socket calls: bind, getsockname, send, recv with MSG_PEEK|MSG_TRUNC, waitReadable', { skip: skipRoot }, () => {
    const spaces = new Namespaces();
    const fds = fdCount();
    try {
      const ns = spaces.add();
      const c = constants();
      const fd = inNs(ns, () => socket(c.AF_INET, c.SOCK_DGRAM, 0));
      try {
        bind(fd, sockaddrIn(LOOPBACK, 0));
        const name = Buffer.alloc(16);
        assert.equal(getsockname(fd, name), 16);
        const self = parseSockaddrIn(name);
        connect(fd, sockaddrIn(LOOPBACK, self.port)); // to itself
        const buf = Buffer.alloc(64);
        assert.equal(recv(fd, buf, 0, 64), -os.constants.errno.EAGAIN);
        const t0 = Date.now();
        assert.equal(waitReadable(fd, 50), false);
        assert.ok(Date.now() - t0 >= 45, 'waitReadable waits for its timeout');
        assert.equal(send(fd, Buffer.from('hello netlink'), 0, 13), 13);
        assert.equal(waitReadable(fd, 1000), true);
        assert.equal(recv(fd, buf, 0, 4, c.MSG_PEEK | c.MSG_TRUNC), 13, 'MSG_TRUNC gives the full size');
        assert.equal(recv(fd, buf, 10, 13, 0), 13);
        assert.equal(buf.subarray(10, 23).toString(), 'hello netlink');
        assert.equal(getsockoptInt(fd, c.SOL_SOCKET, c.SO_ERROR), 0);
        const cookie = Buffer.alloc(8);
        assert.equal(getsockoptBuf(fd, c.SOL_SOCKET, c.SO_NETNS_COOKIE, cookie), 8);
        assert.equal(cookie.readBigUInt64LE(0).toString(), inNs(ns, netnsCookie));
      } finally {
        close(fd);
      }
    } finally {
      spaces.destroy();
    }
    assert.equal(fdCount(), fds);
  });

  it('netnsCookie tells namespaces apart; inNetns returns to the original one', { skip: skipRoot }, () => {
    const spaces = new Namespaces();
    try {
      const home = netnsCookie();
      const ns = spaces.add();
      const there = inNs(ns, netnsCookie);
      assert.notEqual(there, home);
      assert.equal(inNs(ns, netnsCookie), there, 'stable');
      assert.equal(netnsCookie(), home);
      assert.throws(() => inNs(ns, () => { throw new Error('inside'); }), /inside/);
      assert.equal(netnsCookie(), home, 'back home after a throw');
      assert.equal(inNs(ns, () => ifNameToIndex('lo')), 1);
      assert.equal(inNs(ns, () => ifIndexToName(1)), 'lo');
      assert.throws(() => inNs(ns, () => ifNameToIndex('bwio-none')), (e: BurrowError) => e.code === 'ENODEV');
      assert.throws(() => inNs(ns, () => ifIndexToName(999)), (e: BurrowError) => e.code === 'ENXIO');
    } finally {
      spaces.destroy();
    }
  });

  it('flock: a second exclusive non-blocking lock fails with EAGAIN, and works after unlock', () => {
    const c = constants();
    const file = path.join(os.tmpdir(), `bwio-lock-${process.pid}`);
    const one = fs.openSync(file, 'w');
    const two = fs.openSync(file, 'r');
    try {
      flock(one, c.LOCK_EX | c.LOCK_NB);
      assert.throws(() => flock(two, c.LOCK_EX | c.LOCK_NB), (e: BurrowError) => e.code === 'EAGAIN');
      flock(one, c.LOCK_UN);
      flock(two, c.LOCK_EX | c.LOCK_NB);
    } finally {
      fs.closeSync(one);
      fs.closeSync(two);
      fs.rmSync(file);
    }
  });
});

describe('Poll', { skip: noAddon ?? skipRoot }, () => {
  it('a socket error from ICMP is reported as not fatal, cleared, and the watch goes on', async () => {
    const spaces = new Namespaces();
    const fds = fdCount();
    const c = constants();
    const n = native();
    let a = -1;
    let b = -1;
    try {
      const ns = spaces.add();
      [a, b] = inNs(ns, () => [socket(c.AF_INET, c.SOCK_DGRAM, 0), socket(c.AF_INET, c.SOCK_DGRAM, 0)]);
      bind(a, sockaddrIn(LOOPBACK, 40001));
      connect(a, sockaddrIn(LOOPBACK, 40002)); // nobody there yet: ICMP port unreachable -> ECONNREFUSED
      const events: string[] = [];
      let wake: () => void = () => {};
      const poll = new n.Poll(a, (errno?: number, fatal?: boolean) => {
        if (errno === undefined) {
          const got = recv(a, Buffer.alloc(16), 0, 16);
          events.push(`readable ${got}`);
        } else {
          events.push(`${errnoName(errno)} ${fatal}`);
        }
        wake();
      });
      poll.start();
      const next = () => new Promise<void>((resolve) => (wake = resolve));
      let waiting = next();
      assert.equal(send(a, Buffer.from('x'), 0, 1), 1);
      await waiting;
      assert.deepEqual(events, ['ECONNREFUSED false']);
      assert.equal(getsockoptInt(a, c.SOL_SOCKET, c.SO_ERROR), 0, 'the error was consumed');
      waiting = next();
      bind(b, sockaddrIn(LOOPBACK, 40002));
      assert.equal(n.sendBatch(b, Buffer.from('hi'), Uint32Array.of(0), Uint32Array.of(2), Uint32Array.of(LOOPBACK),
        Uint16Array.of(40001), new Int32Array(1), 1), 1);
      await waiting;
      assert.deepEqual(events, ['ECONNREFUSED false', 'readable 2']);
      poll.close();
      poll.close();
    } finally {
      if (a >= 0) close(a);
      if (b >= 0) close(b);
      spaces.destroy();
    }
    assert.equal(fdCount(), fds);
  });

  it('may be closed from inside its own callback', async () => {
    const c = constants();
    const n = native();
    const spaces = new Namespaces();
    try {
      const ns = spaces.add();
      const fd = inNs(ns, () => socket(c.AF_INET, c.SOCK_DGRAM, 0));
      bind(fd, sockaddrIn(LOOPBACK, 0));
      const name = Buffer.alloc(16);
      getsockname(fd, name);
      connect(fd, name);
      send(fd, Buffer.from('x'), 0, 1);
      let calls = 0;
      await new Promise<void>((resolve) => {
        const poll = new n.Poll(fd, () => {
          calls++;
          poll.close();
          setTimeout(resolve, 50);
        });
        poll.start();
      });
      assert.equal(calls, 1, 'no call after close, although the socket is still readable');
      close(fd);
    } finally {
      spaces.destroy();
    }
  });

  describe('process lifetime (child processes)', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const indexUrl = new URL(`file://${path.resolve(here, '../../src/io/native/index.js')}`).href;

    /**
     * Runs `body` in a child node after it made a UDP socket connected to itself and a Poll on it with
     * `callback`; resolves with the exit code and output, or 'alive' when it still runs after `ms`.
     */
    function child(body: string, callback = '() => {}', ms = 3000): Promise<{ code: number | 'alive'; out: string }> {
      const script = `import * as nat from ${JSON.stringify(indexUrl)};
        const c = nat.constants();
        const fd = nat.socket(c.AF_INET, c.SOCK_DGRAM, 0);
        nat.bind(fd, nat.sockaddrIn(0x7f000001, 0));
        const name = Buffer.alloc(16); nat.getsockname(fd, name); nat.connect(fd, name);
        const poll = new (nat.native().Poll)(fd, ${callback});
        ${body}`;
      const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout.on('data', (d) => (out += d));
      proc.stderr.on('data', (d) => (out += d));
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          proc.kill('SIGKILL');
          resolve({ code: 'alive', out });
        }, ms);
        proc.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, out });
        });
      });
    }

    it('a started Poll keeps the process alive; close() or unref() lets it end', async () => {
      const started = child(`poll.start();`, undefined, 1500);
      const closed = child(`poll.start(); setTimeout(() => { poll.close(); nat.close(fd); }, 100);`);
      const unrefd = child(`poll.start(); poll.unref();`);
      const stopped = child(`poll.start(); poll.stop();`);
      const results = await Promise.all([started, closed, unrefd, stopped]);
      assert.deepEqual(results.map((r) => r.code), ['alive', 0, 0, 0], results.map((r) => r.out).join('\n'));
    });

    it('an exception thrown by the callback reaches uncaughtException', async () => {
      const r = await child(
        `process.on('uncaughtException', (e) => { console.log('caught ' + e.message); poll.close(); process.exit(0); });
         poll.start(); nat.send(fd, Buffer.from('x'), 0, 1);`,
        `() => { throw new Error('from the callback'); }`,
      );
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out.trim(), 'caught from the callback');
    });
  });
});
