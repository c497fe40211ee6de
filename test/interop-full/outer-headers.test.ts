/**
 * The full interop suite's part on the wire (`npm run test:interop:full`; CI runs test/interop/):
 * burrow against the real kernel, as in test/interop/burrow-kernel.test.ts, for the rest of the outer
 * header rules (ECN, tos inherit/X, fixed tos, nopmtudisc, sit's own rules), ECN marked on the way,
 * IPv6 inside gre and ipip, and the IPv6 each side sends on its own into the tunnels.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { KernelPeer } from '../interop/kernel-peer.js';
import {
  burrowStatsBlock, headerCaseTest, kernelStatsBlock, pingFromA, pingFromB, type HeaderCase,
} from '../interop/kernel-checks.js';
import {
  A, A_UNDERLAY, B_UNDERLAY, R, burrowCounters, checkScripts, deletePair, kernelCounters, makePair, moved,
  peerLabFixture, runScripts, withPair, type Pair, type PairOptions,
} from '../interop/peer-lab.js';

const skip = KernelPeer.unavailable() ?? labUnavailableReason() ?? false;

describe('burrow and the kernel: the rest of the outer header rules, ECN, IPv6', { skip, concurrency: false }, () => {
  const f = peerLabFixture();

  const HEADER_CASES: HeaderCase[] = [
    { what: 'tos inherit: inner CE goes out as ECT(0)', pair: { mode: 'gre', net: 14, both: 'tos inherit' }, ping: '-Q 0x2b', request: { ttl: 63, tos: 0x2a, df: true } },
    { what: 'tos 0x10 fixed, ECN from the inner packet', pair: { mode: 'gre', net: 15, both: 'tos 10' }, ping: '-Q 0xb9', request: { ttl: 63, tos: 0x11, df: true } },
    { what: 'tos inherit/AF11 over IPv4: the inner DS field wins', pair: { mode: 'ipip', net: 16, both: 'tos inherit/AF11' }, ping: '-Q 0xb8', request: { ttl: 63, tos: 0xb8, df: true } },
    { what: 'nopmtudisc: DF copied from an inner DF packet', pair: { mode: 'gre', net: 17, both: 'nopmtudisc' }, ping: '-M do', request: { ttl: 63, tos: 0, df: true } },
    { what: 'nopmtudisc: no DF inside, none outside', pair: { mode: 'ipip', net: 18, both: 'nopmtudisc' }, ping: '-M dont -t 9', request: { ttl: 8, tos: 0, df: false } },
    { what: 'sit: hop limit and traffic class inherited', pair: { mode: 'sit', net: 19, both: 'tos inherit' }, ping: '-t 5 -Q 0xb8', request: { ttl: 4, tos: 0xb8, df: true } },
    { what: 'sit: tos inherit/AF11 is not inherit (only exactly 1 is)', pair: { mode: 'sit', net: 20, both: 'tos inherit/AF11 ttl 64' }, ping: '-Q 0xb8', request: { ttl: 63, tos: 0x28, df: true } },
    { what: 'sit nopmtudisc: no DF', pair: { mode: 'sit', net: 21, both: 'nopmtudisc' }, ping: '', request: { ttl: 63, tos: 0, df: false } },
  ];
  for (const c of HEADER_CASES) headerCaseTest(f, c);

  test('ECN: a router marking CE on the outer header: Not-ECT inside is dropped (CsumErrs), ECT inside is delivered, both ways', async () => {
    await withPair(f, { mode: 'gre', net: 30 }, async (p) => {
      const mark = (op: 'A' | 'D') => `iptables -t mangle -${op} FORWARD -p gre -j TOS --set-tos 0x03/0x03`;
      await checkScripts(f.lab, R, [mark('A')]);
      try {
        const fromA = await pingFromA(f, p, 2);
        const fromB = await pingFromB(f, p, 2);
        const dropped = { rx_frame_errors: 2, rx_errors: 2 };
        assert.equal(fromA.ping.received + fromB.ping.received, 0);
        assert.deepEqual(moved(fromA.kernel), dropped, 'the kernel drops CE over Not-ECT (RFC 6040)');
        assert.deepEqual(moved(fromB.burrow), dropped, 'burrow, as the kernel');
        const ectA = await pingFromA(f, p, 2, '-Q 0x02');
        const ectB = await pingFromB(f, p, 2, '-Q 0x02');
        assert.equal(ectA.ping.received, 2, `CE over ECT(0) is delivered, from A: ${ectA.ping.output}`);
        assert.equal(ectB.ping.received, 2, `and from B: ${ectB.ping.output}`);
        assert.equal(await burrowStatsBlock(f, p.name), await kernelStatsBlock(f, p.name), 'the same counters, CsumErrs included');
      } finally {
        await runScripts(f.lab, R, [mark('D')]);
      }
    });
  });

  test('IPv6 inside: gre carries it both ways (between the link-local addresses), ipip refuses it with a transmit error on either side', async () => {
    const linkLocal = async (p: Pair) => {
      const [a] = await checkScripts(f.lab, A, [`ip -6 -o addr show dev ${p.name} scope link`]);
      const b = await f.peer.check(`ip -6 -o addr show dev ${p.name} scope link`);
      const addr = (text: string) => /inet6 ([0-9a-f:]+)\//.exec(text)?.[1];
      return { a: addr(a)!, b: addr(b)! };
    };
    await withPair(f, { mode: 'gre', net: 31 }, async (p) => {
      const ll = await linkLocal(p);
      const fromA = await pingFromA(f, { ...p, bAddress: `${ll.b}%${p.name}` }, 2);
      const fromB = await pingFromB(f, { ...p, aAddress: `${ll.a}%${p.name}` }, 2);
      assert.equal(fromA.ping.received, 2, fromA.ping.output);
      assert.equal(fromB.ping.received, 2, fromB.ping.output);
      const both = { rx_bytes: 208, rx_packets: 2, tx_bytes: 208, tx_packets: 2 };
      for (const d of [fromA.burrow, fromA.kernel, fromB.burrow, fromB.kernel]) assert.deepEqual(moved(d), both);
    });
    await withPair(f, { mode: 'ipip', net: 32 }, async (p) => {
      const ll = await linkLocal(p);
      const fromA = await pingFromA(f, { ...p, bAddress: `${ll.b}%${p.name}` }, 2);
      const fromB = await pingFromB(f, { ...p, aAddress: `${ll.a}%${p.name}` }, 2);
      assert.equal(fromA.ping.received + fromB.ping.received, 0);
      assert.deepEqual(moved(fromA.kernel), {}, 'nothing reached the kernel');
      assert.deepEqual(moved(fromB.burrow), {}, 'nothing reached burrow');
      assert.deepEqual(moved(fromB.kernel), { tx_errors: 2 }, 'the kernel\'s ipip: a transmit error each');
      assert.deepEqual(moved(fromA.burrow), { tx_errors: 2 }, 'burrow, as the kernel');
    });
  });

  test('IPv6 chatter: neither side sends anything of its own into ipip, gre or sit (routers, then hosts)', async (t) => {
    const modes: PairOptions[] = [{ mode: 'ipip', net: 26 }, { mode: 'gre', net: 27 }, { mode: 'sit', net: 28 }];
    const hex = (v4: string) => {
      const b = v4.split('.').map(Number);
      return `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
    };
    const linkLocals = async (name: string) => {
      const [a] = await checkScripts(f.lab, A, [`ip -6 -o addr show dev ${name} scope link`]);
      const b = await f.peer.check(`ip -6 -o addr show dev ${name} scope link`);
      const addr = (text: string) => /inet6 (\S+)/.exec(text)?.[1] ?? 'none';
      return { a: addr(a), b: addr(b) };
    };
    const settle = async (hostMode: boolean) => {
      const pairs = [];
      try {
        for (const m of modes) pairs.push(await makePair(f, m));
        // MLD reports go out within a second or two of the device coming up; solicitations at once.
        await new Promise((r) => setTimeout(r, 3_000));
        for (const p of pairs) {
          const [a, b] = [await burrowCounters(f, p.name), await kernelCounters(f, p.name)];
          const ll = await linkLocals(p.name);
          t.diagnostic(`${hostMode ? 'hosts' : 'routers'}, ${p.mode}: burrow ${JSON.stringify(moved(a))} ${ll.a}; kernel ${JSON.stringify(moved(b))} ${ll.b}`);
          // The kernel's link-local scheme for the mode, from the other local address.
          assert.equal(ll.a, ll.b.replace(hex(B_UNDERLAY), hex(A_UNDERLAY)), `${p.mode}: the link-local the kernel would give`);
          assert.equal(a.tx_errors, 0, `burrow ${p.mode}`);
          assert.equal(b.tx_errors, 0, `kernel ${p.mode}`);
          if (hostMode && p.mode === 'gre') {
            // A host's gre device solicits routers (the kernel's at once; burrow's within seconds).
            assert.ok(b.tx_packets >= 1, 'the kernel\'s gre solicits routers');
          } else {
            assert.equal(b.tx_packets, 0, `the kernel sends nothing into ${p.mode}`);
            assert.equal(a.tx_packets, 0, `nor does burrow`);
          }
        }
      } finally {
        for (const p of pairs) await deletePair(f, p);
      }
    };
    await settle(false);
    const forwarding = (on: 0 | 1) => `sysctl -qw net.ipv6.conf.all.forwarding=${on}`;
    await checkScripts(f.lab, A, [forwarding(0)]);
    await f.peer.check(forwarding(0));
    try {
      await settle(true);
    } finally {
      await checkScripts(f.lab, A, [forwarding(1)]);
      await f.peer.check(forwarding(1));
    }
  });
});

