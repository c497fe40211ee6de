/**
 * NetlinkHandle's exchange rules against a scripted kernel (fake-kernel.ts): acks, errors with the
 * kernel's text, multi-part dumps, stale answers, timeouts, interrupted dumps, overruns, truncation.
 * One test also asks the real kernel (no privilege needed: reading `lo`) when the addon is built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as osConstants } from 'node:os';
import { BurrowError } from '../../errors.js';
import { nativeAvailable } from '../native/index.js';
import { FakeKernel, ackFor, replayKernel, withSeq } from './fake-kernel.js';
import * as F from './fixtures.js';
import {
  MessageBuilder,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NLMSG_DONE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  RTM_GETLINK,
  RTM_NEWLINK,
  SOL_NETLINK,
  decodeLink,
  encodeIfInfoMsg,
  type NlMessage,
} from './messages.js';
import { NetlinkHandle, decodeEvent } from './socket.js';
import { linkByName } from './link.js';

const { ENOBUFS } = osConstants.errno;

function getLink(): Buffer {
  return new MessageBuilder(RTM_GETLINK, 0).header(encodeIfInfoMsg({})).finish();
}

const names = (m: NlMessage): string => decodeLink(m.payload).name;

/** A datagram of RTM_NEWLINK answers (from the fixtures) marked as dump parts. */
function dumpPart(seq: number, flags = NLM_F_MULTI, ...hex: string[]): Buffer {
  return Buffer.concat(
    hex.map((h) => {
      const b = withSeq(h, seq);
      b.writeUInt16LE(flags, 6);
      return b;
    }),
  );
}

function done(seq: number, errno = 0): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(NLMSG_DONE, 4);
  b.writeUInt16LE(NLM_F_MULTI, 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(-errno, 16);
  return b;
}

const veth = F.linkGetVeth.datagrams[1]!;
const tun = F.linkGetTun.datagrams[1]!;

test('open sets the socket options iproute2 uses, plus CAP_ACK', () => {
  const k = new FakeKernel();
  const nl = NetlinkHandle.open({ ops: k });
  for (const name of [NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK]) {
    assert.ok(k.options.some(([l, n, v]) => l === SOL_NETLINK && n === name && v === 1));
  }
  nl.close();
  assert.equal(k.closed, true);
  nl.close(); // twice is harmless
});

test('request: REQUEST|ACK and fresh sequence numbers; the reply before the ack is returned', () => {
  const k = replayKernel([[veth], [veth]]);
  const nl = NetlinkHandle.open({ ops: k });
  assert.deepEqual(nl.request(getLink(), names, 'get'), ['bwnl0']);
  assert.deepEqual(nl.request(getLink(), names, 'get'), ['bwnl0']);
  assert.equal(k.sent[0]!.readUInt16LE(6), NLM_F_REQUEST | NLM_F_ACK);
  assert.notEqual(k.sent[0]!.readUInt32LE(8), k.sent[1]!.readUInt32LE(8));
});

test('an error answer is a BurrowError with the errno name and the kernel text', () => {
  const k = replayKernel([[F.linkSetMtuTooSmall.datagrams[1]!]]);
  const nl = NetlinkHandle.open({ ops: k });
  assert.throws(
    () => nl.request(getLink(), () => null, 'set mtu'),
    (e: unknown) =>
      e instanceof BurrowError && e.code === 'EINVAL' && e.detail === 'set mtu: mtu less than device minimum',
  );
});

test('answers with another sequence number (left over from a timed-out request) are skipped', () => {
  const k = new FakeKernel((r, seq) => [dumpPart(seq - 1, 0, tun), ackFor(withSeq(r, seq - 1)), withSeq(veth, seq), ackFor(r)]);
  const nl = NetlinkHandle.open({ ops: k });
  assert.deepEqual(nl.request(getLink(), names, 'get'), ['bwnl0']);
});

test('dump: parts over several datagrams until NLMSG_DONE', () => {
  const k = new FakeKernel((_, seq) => [dumpPart(seq, NLM_F_MULTI, veth, tun), dumpPart(seq, NLM_F_MULTI, tun), done(seq)]);
  const nl = NetlinkHandle.open({ ops: k });
  assert.deepEqual(nl.dump(getLink(), names, 'dump'), ['bwnl0', 'bwnltun0', 'bwnltun0']);
  assert.equal(k.sent[0]!.readUInt16LE(6), NLM_F_REQUEST | NLM_F_DUMP);
});

test('dump: NLMSG_DONE carrying an errno fails the dump', () => {
  const k = new FakeKernel((_, seq) => [dumpPart(seq, NLM_F_MULTI, veth), done(seq, 22)]);
  const nl = NetlinkHandle.open({ ops: k });
  assert.throws(() => nl.dump(getLink(), names, 'dump'), { code: 'EINVAL' });
});

test('dump: an interrupted dump (NLM_F_DUMP_INTR) is run again', () => {
  let calls = 0;
  const k = new FakeKernel((_, seq) => {
    calls++;
    const flags = calls === 1 ? NLM_F_MULTI | NLM_F_DUMP_INTR : NLM_F_MULTI;
    return [dumpPart(seq, flags, veth), done(seq)];
  });
  const nl = NetlinkHandle.open({ ops: k });
  assert.deepEqual(nl.dump(getLink(), names, 'dump'), ['bwnl0']);
  assert.equal(calls, 2);
});

test('dump: always interrupted gives up with EAGAIN', () => {
  const k = new FakeKernel((_, seq) => [dumpPart(seq, NLM_F_MULTI | NLM_F_DUMP_INTR, veth), done(seq)]);
  const nl = NetlinkHandle.open({ ops: k });
  assert.throws(() => nl.dump(getLink(), names, 'dump'), { code: 'EAGAIN' });
});

test('dump: ENOBUFS on our own socket restarts the dump', () => {
  let calls = 0;
  const k = new FakeKernel((_, seq) => {
    calls++;
    return calls === 1 ? [dumpPart(seq, NLM_F_MULTI, veth), -ENOBUFS, done(seq)] : [dumpPart(seq, NLM_F_MULTI, tun), done(seq)];
  });
  const nl = NetlinkHandle.open({ ops: k });
  assert.deepEqual(nl.dump(getLink(), names, 'dump'), ['bwnltun0']);
});

test('no answer: ETIMEDOUT, and the next request still works', () => {
  let silent = true;
  const k = new FakeKernel((r) => (silent ? [] : [withSeq(veth, r.readUInt32LE(8)), ackFor(r)]));
  const nl = NetlinkHandle.open({ ops: k, timeoutMs: 20 });
  assert.throws(() => nl.request(getLink(), names, 'get'), { code: 'ETIMEDOUT' });
  silent = false;
  assert.deepEqual(nl.request(getLink(), names, 'get'), ['bwnl0']);
});

test('an answer larger than the buffer: the buffer grows and a GET is sent again', () => {
  const big = Buffer.concat(Array.from({ length: 80 }, () => Buffer.from(veth, 'hex'))); // ~90 KiB
  // The cut-off datagram holds NLMSG_DONE itself: nothing is left to wait for.
  const k = new FakeKernel((_, seq) => [Buffer.concat([dumpPart(seq, NLM_F_MULTI, big.toString('hex')), done(seq)])]);
  const nl = NetlinkHandle.open({ ops: k, timeoutMs: 100_000 });
  const t0 = performance.now();
  const out = nl.dump(getLink(), names, 'dump');
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(out.length, 80);
  assert.equal(k.sent.length, 2);
});

test('a change whose answer does not fit is EMSGSIZE, not sent twice', () => {
  const big = Buffer.concat(Array.from({ length: 80 }, () => Buffer.from(veth, 'hex')));
  const k = new FakeKernel((r, seq) => [dumpPart(seq, 0, big.toString('hex')), ackFor(r)]);
  const nl = NetlinkHandle.open({ ops: k, timeoutMs: 100_000 });
  const change = new MessageBuilder(RTM_NEWLINK, 0).header(encodeIfInfoMsg({ index: 1 })).finish();
  assert.throws(() => nl.request(change, () => null, 'set'), { code: 'EMSGSIZE' });
  assert.equal(k.sent.length, 1);
});

test('a closed handle refuses with EBADF', () => {
  const nl = NetlinkHandle.open({ ops: new FakeKernel() });
  nl.close();
  assert.throws(() => nl.request(getLink(), () => null, 'get'), { code: 'EBADF' });
});

test('a decoder that throws fails the request after the answer is read to its end', () => {
  const k = replayKernel([[veth], [veth]]);
  const nl = NetlinkHandle.open({ ops: k });
  assert.throws(
    () =>
      nl.request(getLink(), () => {
        throw new BurrowError('EIO', 'boom');
      }, 'get'),
    { code: 'EIO' },
  );
  assert.deepEqual(nl.request(getLink(), names, 'get'), ['bwnl0']);
});

test('decodeEvent: kinds of notification', () => {
  const ms = F.monitor.datagrams.map((h) => Buffer.from(h, 'hex'));
  const first = decodeEvent({ header: { length: 0, type: RTM_NEWLINK, flags: 0, seq: 0, portId: 0 }, payload: ms[0]!.subarray(16) });
  assert.equal(first?.type, 'link');
  assert.equal(decodeEvent({ header: { length: 0, type: 99, flags: 0, seq: 0, portId: 0 }, payload: Buffer.alloc(0) }), null);
});

test('the real kernel: linkByName("lo") in this namespace', { skip: nativeAvailable() ? false : 'needs the native addon (npm install)' }, () => {
  const nl = NetlinkHandle.open();
  try {
    const lo = linkByName(nl, 'lo');
    assert.equal(lo.name, 'lo');
    assert.equal(lo.flags.loopback, true);
    assert.equal(lo.index, 1);
    assert.throws(() => linkByName(nl, 'bwnl-no-such'), { code: 'ENODEV' });
  } finally {
    nl.close();
  }
});
