/**
 * link.ts, addr.ts and route.ts against iproute2: each verb must send the bytes `ip` sent for the same
 * command (fixtures.ts; only the sequence number differs, and burrow adds NLM_F_ACK where `ip` reads a
 * plain reply), and must decode the answer the kernel gave `ip`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurrowError } from '../../errors.js';
import { replayKernel, sameRequest } from './fake-kernel.js';
import * as F from './fixtures.js';
import { formatIp, parseIp } from './ip-address.js';
import { NLM_F_ACK } from './messages.js';
import { NetlinkHandle } from './socket.js';
import {
  linkByIndex,
  linkByName,
  linkDel,
  linkList,
  linkSetAddrGenMode,
  linkSetDown,
  linkSetMtu,
  linkSetTxQueueLen,
  linkSetUp,
} from './link.js';
import { addrAdd, addrDel, addrList } from './addr.js';
import { routeAdd, routeDel, routeGet } from './route.js';

/** bwnl0's ifindex in the namespace the fixtures were captured in. */
const BWNL0 = 2;
const BWNLTUN0 = 3;

function handle(answers: readonly (readonly string[])[]) {
  const kernel = replayKernel(answers);
  return { kernel, nl: NetlinkHandle.open({ ops: kernel }) };
}

const ackOnly = (f: F.Fixture): string[] => [f.datagrams[1]!];

test('linkSetMtu sends what `ip link set dev bwnl0 mtu 10` sent, and fails as it did', () => {
  const { kernel, nl } = handle([ackOnly(F.linkSetMtuTooSmall)]);
  assert.throws(() => linkSetMtu(nl, BWNL0, 10), (e: unknown) => {
    assert.ok(e instanceof BurrowError);
    assert.equal(e.code, 'EINVAL');
    assert.match(e.message, /mtu less than device minimum/);
    return true;
  });
  assert.ok(sameRequest(kernel.sent[0]!, F.linkSetMtuTooSmall.datagrams[0]!));
});

const changes: [string, F.Fixture, (nl: NetlinkHandle) => void][] = [
  ['linkSetUp', F.linkSetUp, (nl) => linkSetUp(nl, BWNL0)],
  ['linkSetDown', F.linkSetDown, (nl) => linkSetDown(nl, BWNL0)],
  ['linkSetAddrGenMode none', F.linkSetAddrGenModeNone, (nl) => linkSetAddrGenMode(nl, BWNL0, 'none')],
  ['linkSetTxQueueLen 500', F.linkSetTxqueuelen, (nl) => linkSetTxQueueLen(nl, BWNL0, 500)],
  ['linkDel', F.linkDel, (nl) => linkDel(nl, BWNLTUN0)],
  [
    'addrAdd 192.0.2.3/24',
    F.addrAdd4,
    (nl) => addrAdd(nl, { link: BWNL0, address: parseIp('192.0.2.3'), prefixLength: 24 }),
  ],
  [
    'addrAdd 2001:db8::3/64 nodad',
    F.addrAdd6Nodad,
    (nl) => addrAdd(nl, { link: BWNL0, address: parseIp('2001:db8::3'), prefixLength: 64, nodad: true }),
  ],
  [
    'addrDel 192.0.2.3/24',
    F.addrDel4,
    (nl) => addrDel(nl, { link: BWNL0, address: parseIp('192.0.2.3'), prefixLength: 24 }),
  ],
  [
    'routeAdd 192.0.2.128/25 via 192.0.2.1 mtu lock 1400',
    F.routeAddMtuLock,
    (nl) =>
      routeAdd(nl, {
        dst: parseIp('192.0.2.128'),
        dstLength: 25,
        gateway: parseIp('192.0.2.1'),
        mtu: 1400,
        mtuLocked: true,
      }),
  ],
  [
    'routeDel 192.0.2.128/25 via 192.0.2.1',
    F.routeDel,
    (nl) => routeDel(nl, { dst: parseIp('192.0.2.128'), dstLength: 25, gateway: parseIp('192.0.2.1') }),
  ],
];

for (const [name, fixture, run] of changes) {
  test(`${name} sends exactly what \`${fixture.command}\` sent`, () => {
    const { kernel, nl } = handle([ackOnly(fixture)]);
    run(nl);
    assert.equal(kernel.sent.length, 1);
    assert.ok(
      sameRequest(kernel.sent[0]!, fixture.datagrams[0]!),
      `ours   ${kernel.sent[0]!.toString('hex')}\nip's   ${fixture.datagrams[0]}`,
    );
  });
}

test('routeGet sends what `ip route get` sent and decodes the answer', () => {
  const { kernel, nl } = handle([ackOnly(F.routeGetVia)]);
  const r = routeGet(nl, parseIp('198.51.100.7'));
  assert.ok(sameRequest(kernel.sent[0]!, F.routeGetVia.datagrams[0]!, NLM_F_ACK));
  assert.equal(formatIp(r.gateway!), '192.0.2.1');
  assert.equal(r.oif, BWNL0);
  assert.equal(r.mtu, 1300);
});

test('routeGet from, oif, mark', () => {
  const f = F.routeGetFromOifMark;
  const { kernel, nl } = handle([ackOnly(f)]);
  const r = routeGet(nl, parseIp('198.51.100.7'), { src: parseIp('192.0.2.2'), oif: BWNL0, mark: 7 });
  assert.ok(sameRequest(kernel.sent[0]!, f.datagrams[0]!, NLM_F_ACK));
  assert.equal(r.mark, 7);
});

test('routeGet IPv6', () => {
  const { kernel, nl } = handle([ackOnly(F.routeGet6)]);
  const r = routeGet(nl, parseIp('2001:db8:1::7'));
  assert.ok(sameRequest(kernel.sent[0]!, F.routeGet6.datagrams[0]!, NLM_F_ACK));
  assert.equal(r.mtu, 1400);
});

test('routeGet to nowhere: ENETUNREACH, as `ip` printed', () => {
  const { nl } = handle([ackOnly(F.routeGetUnreachable)]);
  assert.equal(F.routeGetUnreachable.printed, 'RTNETLINK answers: Network is unreachable');
  assert.throws(() => routeGet(nl, parseIp('100.64.0.1')), (e: unknown) => {
    assert.ok(e instanceof BurrowError);
    assert.equal(e.code, 'ENETUNREACH');
    assert.equal(e.strerror, 'Network is unreachable');
    return true;
  });
});

test('routeGet refuses a src of the other family before asking', () => {
  const { kernel, nl } = handle([]);
  assert.throws(() => routeGet(nl, parseIp('192.0.2.1'), { src: parseIp('2001:db8::1') }), { code: 'EINVAL' });
  assert.equal(kernel.sent.length, 0);
});

test('linkByName asks by IFLA_IFNAME and decodes the answer', () => {
  const { kernel, nl } = handle([[F.linkGetVeth.datagrams[1]!]]);
  const link = linkByName(nl, 'bwnl0');
  assert.equal(link.index, BWNL0);
  // RTM_GETLINK, REQUEST|ACK, zero ifinfomsg, IFLA_IFNAME "bwnl0\0" padded
  assert.ok(
    sameRequest(kernel.sent[0]!, '2c000000120005000000000000000000' + '00000000000000000000000000000000' + '0a00030062776e6c30000000'),
    kernel.sent[0]!.toString('hex'),
  );
});

test('linkByIndex: a zero or negative index is ENODEV without asking', () => {
  const { kernel, nl } = handle([]);
  assert.throws(() => linkByIndex(nl, 0), { code: 'ENODEV' });
  assert.equal(kernel.sent.length, 0);
});

test('linkList and addrList decode dumps', () => {
  const multi = (hex: string): string => hex.slice(0, 12) + '0200' + hex.slice(16);
  const doneHex = F.addrDump.datagrams.at(-1)!;
  const { nl } = handle([
    [multi(F.linkGetVeth.datagrams[1]!), multi(F.linkGetTun.datagrams[1]!), doneHex],
    F.addrDump.datagrams,
  ]);
  assert.deepEqual(
    linkList(nl).map((l) => l.name),
    ['bwnl0', 'bwnltun0'],
  );
  assert.deepEqual(
    addrList(nl, 4).map((a) => `${formatIp(a.address)}/${a.prefixLength}`),
    ['192.0.2.2/24'],
  );
});

test('addrAdd refuses a prefix length out of range', () => {
  const { nl } = handle([]);
  assert.throws(() => addrAdd(nl, { link: 1, address: parseIp('192.0.2.1'), prefixLength: 33 }), { code: 'EINVAL' });
});
