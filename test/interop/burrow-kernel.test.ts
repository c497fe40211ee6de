/**
 * burrow against the real kernel: burrow's tunnel on host A, the same tunnel made with `ip tunnel` on
 * the kernel as host B, across a router (peer-lab.ts draws the topology). Traffic goes both ways;
 * counters are read on both sides (`burrow -s -s -j tunnel show`, `ip -j -s -s link show`); the outer
 * headers are captured on the router, on the leg that leads to the receiver, and read with the
 * interop suite's own packet code (packets.ts), never with burrow's codecs.
 *
 * The kernel is the oracle: where both sides do the same thing (a ping from each end), the outer
 * headers burrow makes are compared with the ones the kernel makes, field by field.
 *
 * This is the part CI runs every time: ipip, gre (plain, keys, csum, seq) and sit both ways, TTL and
 * TOS, frag-needed, and the mismatches. test/interop-full/ has the rest (`npm run test:interop:full`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { KernelPeer } from './kernel-peer.js';
import { captureOnHost, ethernetIpv4, inetChecksum, parseGre, parseIpv4 } from './packets.js';
import {
  assertFreshIds, burrowStatsBlock, captureOuter, checkOuter, exchange, headerCaseTest, kernelStatsBlock, pingFromA,
  pingFromB, shape, type Exchange, type HeaderCase, type Outer,
} from './kernel-checks.js';
import {
  A, A_UNDERLAY, B_UNDERLAY, R, R_TO_A, burrowCmd, checkScripts, moved, peerLabFixture, snmpCounter, unchargedDrops,
  withPair, type Flat, type PairOptions,
} from './peer-lab.js';

const skip = KernelPeer.unavailable() ?? labUnavailableReason() ?? false;

describe('burrow and the kernel as the two ends of a tunnel', { skip, concurrency: false }, () => {
  const f = peerLabFixture();

  interface Case {
    what: string;
    pair: PairOptions;
    /** Checks beyond those every case gets. */
    check?: (x: Exchange) => void;
    /** Echoes each way and their payload (default 3 of 56 bytes). */
    count?: number;
    payload?: number;
  }

  const keys = (packets: Outer[]) => packets.map((o) => o.gre?.key);
  const seqs = (packets: Outer[]) => packets.map((o) => o.gre?.seq);
  const CASES: Case[] = [
    // More and larger echoes: counters of several digits, for the columns of ip -s tunnel show.
    { what: 'ipip', pair: { mode: 'ipip', net: 1 }, count: 11, payload: 1000 },
    {
      what: 'gre',
      pair: { mode: 'gre', net: 2 },
      check: (x) => assert.deepEqual([x.fromBurrow[0].gre?.flags, x.fromKernel[0].gre?.flags], [0, 0]),
    },
    {
      what: 'gre with key 42',
      pair: { mode: 'gre', net: 3, both: 'key 42' },
      check: (x) => {
        assert.deepEqual(keys(x.fromBurrow), x.fromBurrow.map(() => 42));
        assert.deepEqual(keys(x.fromKernel), x.fromKernel.map(() => 42));
      },
    },
    {
      what: 'gre with ikey/okey different per direction (A sends 2 and wants 1, B the reverse)',
      pair: { mode: 'gre', net: 4, a: 'ikey 1 okey 2', b: 'ikey 2 okey 1' },
      check: (x) => {
        assert.deepEqual(keys(x.fromBurrow), x.fromBurrow.map(() => 2));
        assert.deepEqual(keys(x.fromKernel), x.fromKernel.map(() => 1));
      },
    },
    {
      what: 'gre with csum',
      pair: { mode: 'gre', net: 5, both: 'csum' },
      check: (x) => {
        for (const o of [...x.fromBurrow, ...x.fromKernel]) assert.equal(o.gre?.flags, 0x8000, 'C set');
      },
    },
    {
      what: 'gre with seq (both number from 0, one by one)',
      pair: { mode: 'gre', net: 6, both: 'seq key 7' },
      check: (x) => {
        const from0 = x.fromBurrow.map((_, i) => i);
        assert.deepEqual(seqs(x.fromKernel), from0, 'the kernel numbers its first packet 0');
        assert.deepEqual(seqs(x.fromBurrow), from0, 'burrow numbers as the kernel does');
      },
    },
    { what: 'sit (ping -6)', pair: { mode: 'sit', net: 7 } },
  ];

  for (const c of CASES) {
    test(`${c.what}: pings both ways, counters on both sides, the same outer headers`, async (t) => {
      await withPair(f, c.pair, async (p) => {
        const x = await exchange(f, p, c.count, c.payload);
        for (const o of x.fromBurrow) checkOuter(o, p, A_UNDERLAY, B_UNDERLAY);
        for (const o of x.fromKernel) checkOuter(o, p, B_UNDERLAY, A_UNDERLAY);
        // Echo requests and replies of the same size, TTL 64 inside, across one router: the same
        // outer header from either end.
        assert.deepEqual(x.fromBurrow.map(shape), x.fromKernel.map(shape), 'outer headers as the receiver gets them');
        assertFreshIds(x.fromKernel, 'the kernel');
        assertFreshIds(x.fromBurrow, 'burrow');
        c.check?.(x);
        // Each side sent and received the same: `ip -s tunnel show` prints the same counter block.
        assert.equal(await burrowStatsBlock(f, p.name), await kernelStatsBlock(f, p.name));
        t.diagnostic(`outer: ${JSON.stringify(shape(x.fromKernel[0]))}`);
      });
    });
  }

  // The outer header for TTL fixed and inherited and tos inherited; the other cases are in the full
  // suite (test/interop-full/outer-headers.test.ts).
  const HEADER_CASES: HeaderCase[] = [
    { what: 'ttl 64: fixed whatever the inner TTL', pair: { mode: 'ipip', net: 11, both: 'ttl 64' }, ping: '-t 5', request: { ttl: 63, tos: 0, df: true } },
    { what: 'ttl inherit: the inner TTL', pair: { mode: 'ipip', net: 12 }, ping: '-t 5', request: { ttl: 4, tos: 0, df: true } },
    { what: 'tos inherit: the inner DS field and ECN', pair: { mode: 'gre', net: 13, both: 'tos inherit' }, ping: '-Q 0xb9', request: { ttl: 63, tos: 0xb9, df: true } },
  ];
  for (const c of HEADER_CASES) headerCaseTest(f, c);

  test('DF and an inner packet over the tunnel\'s path MTU: frag-needed with the MTU, a transmit error, a sequence number used', async () => {
    await withPair(f, { mode: 'gre', net: 22, both: 'ttl 64 seq' }, async (p) => {
      // The device MTU lets a 1500-byte packet in; the path takes 1500 - 20 - 8 of inner packet.
      await checkScripts(f.lab, A, [`ip link set ${p.name} mtu 1500`]);
      await f.peer.check(`ip link set ${p.name} mtu 1500`);
      const big = '-M do -s 1472';
      const fromA = await pingFromA(f, p, 2, big);
      const fromB = await pingFromB(f, p, 2, big);
      for (const [who, r, sender, receiver] of [['burrow', fromA, fromA.burrow, fromA.kernel], ['the kernel', fromB, fromB.kernel, fromB.burrow]] as const) {
        assert.equal(r.ping.received, 0, `${who}: ${r.ping.output}`);
        // The first is refused by the tunnel with frag-needed; ping then knows the MTU itself.
        assert.match(r.ping.output, /Frag needed and DF set \(mtu = 1472\)/, `${who}: ${r.ping.output}`);
        assert.match(r.ping.output, /local error: message too long, mtu=1472/, `${who}: ${r.ping.output}`);
        assert.deepEqual(moved(sender), { tx_errors: 1 }, `${who}: one transmit error, nothing sent`);
        assert.deepEqual(moved(receiver), {}, `${who}'s peer got nothing`);
      }
      // The kernel's frag-needed comes from its own address (icmp_send picks the source by route);
      // burrow's from the packet's destination (README: how burrow differs).
      assert.match(fromB.ping.output, new RegExp(`From ${p.bAddress.replaceAll('.', '\\.')} icmp_seq=1 Frag needed`));
      assert.match(fromA.ping.output, new RegExp(`From ${p.bAddress.replaceAll('.', '\\.')} icmp_seq=1 Frag needed`));
      // The refused packet took sequence number 0 on either side (the kernel numbers before it checks).
      const fits = '-M do -s 1444';
      let fromKernel: Outer[] = [];
      const fromBurrow = await captureOuter(f, p, f.tap, A_UNDERLAY, 2, async () => {
        fromKernel = await captureOuter(f, p, R_TO_A, B_UNDERLAY, 2, async () => {
          assert.equal((await pingFromA(f, p, 1, fits)).ping.received, 1, '1444 + 28 = 1472 fits from A');
          assert.equal((await pingFromB(f, p, 1, fits)).ping.received, 1, 'and from B');
        });
      });
      assert.deepEqual(fromKernel.map((o) => o.gre?.seq), [1, 2], 'the kernel: 0 went with the refused packet');
      assert.deepEqual(fromBurrow.map((o) => o.gre?.seq), [1, 2], 'burrow, as the kernel');
    });
  });

  test('a smaller MTU on the router\'s far link: the next DF packet gets frag-needed with the path MTU, both ways', async () => {
    await withPair(f, { mode: 'ipip', net: 29, both: 'ttl 64' }, async (p) => {
      const big = '-M do -s 1452';
      const flush = 'ip route flush cache';
      const mtuOn = (ifname: string, mtu: number) => checkScripts(f.lab, R, [`ip link set ${ifname} mtu ${mtu}`]);
      try {
        // A to B: R's link towards B (its tap) takes 1400. The first outer packet gets frag-needed
        // from R, which A's kernel applies to its route to B; burrow's next packet finds that out.
        await mtuOn(f.tap, 1400);
        const fromA = await pingFromA(f, p, 3, big);
        await mtuOn(f.tap, 1500);
        // B to A: R's link towards A takes 1400 (while A sends nothing big: a veth drops what is
        // larger than the receiving end's MTU).
        await mtuOn(R_TO_A, 1400);
        const fromB = await pingFromB(f, p, 3, big);
        await mtuOn(R_TO_A, 1500);
        for (const [who, x, sender] of [['burrow', fromA, fromA.burrow], ['the kernel', fromB, fromB.kernel]] as const) {
          assert.equal(x.ping.received, 0, `${who}: ${x.ping.output}`);
          assert.match(x.ping.output, /Frag needed and DF set \(mtu = 1380\)/, `${who}: the path MTU less 20`);
          assert.match(x.ping.output, /local error: message too long, mtu=1380/, `${who}: ${x.ping.output}`);
          assert.deepEqual(moved(sender), { tx_packets: 1, tx_bytes: 1480, tx_errors: 1 }, `${who}: the first went, the second was refused`);
        }
      } finally {
        await mtuOn(f.tap, 1500);
        await mtuOn(R_TO_A, 1500);
        // The path MTUs learned here must not outlive the test.
        await checkScripts(f.lab, A, [flush]);
        await f.peer.check(flush);
      }
    });
  });

  /** ICMP errors from `src` captured on R's `ifname` while `during` runs, with the packet each quotes. */
  async function captureIcmp(ifname: string, src: string, count: number, during: () => Promise<unknown>) {
    const cap = await captureOnHost(f.lab.nsName(R), ifname, `icmp and src host ${src}`, count);
    try {
      await during();
    } catch (e) {
      await cap.stop();
      throw e;
    }
    return (await cap.packets(3_000)).map((frame) => {
      const ip = parseIpv4(ethernetIpv4(frame)!);
      const quoted = parseIpv4(ip.payload.subarray(8));
      return { ip, type: ip.payload[0], code: ip.payload[1], quoted, quotedGre: parseGre(quoted.payload) };
    });
  }

  test('gre key mismatch, both ways: nothing delivered, no tunnel counter moves, ICMP port unreachable back', async () => {
    const count = 3;
    await withPair(f, { mode: 'gre', net: 23, a: 'key 1', b: 'key 2' }, async (p) => {
      const snmp = () => f.peer.check('cat /proc/net/snmp');
      const statusOfA = async () => unchargedDrops((await checkScripts(f.lab, A, [`${burrowCmd(f.lab)} daemon status`]))[0]);

      // A sends key 1 to a kernel tunnel that wants 2.
      const snmp0 = await snmp();
      let fromA!: Awaited<ReturnType<typeof pingFromA>>;
      const kernelIcmp = await captureIcmp(R_TO_A, B_UNDERLAY, count, async () => (fromA = await pingFromA(f, p, count)));
      const snmp1 = await snmp();
      assert.equal(fromA.ping.received, 0);
      assert.deepEqual(moved(fromA.kernel), {}, 'the kernel took none of them');
      assert.deepEqual(moved(fromA.burrow), { tx_packets: count, tx_bytes: count * 84 });
      assert.equal(snmpCounter(snmp1, 'Icmp', 'OutDestUnreachs') - snmpCounter(snmp0, 'Icmp', 'OutDestUnreachs'), count);

      // B sends key 2 to burrow's tunnel, which wants 1.
      const drops0 = await statusOfA();
      let fromB!: Awaited<ReturnType<typeof pingFromB>>;
      const burrowIcmp = await captureIcmp(f.tap, A_UNDERLAY, count, async () => (fromB = await pingFromB(f, p, count)));
      const drops1 = await statusOfA();
      assert.equal(fromB.ping.received, 0);
      assert.deepEqual(moved(fromB.burrow), {}, 'burrow took none of them');
      assert.deepEqual(moved(fromB.kernel), { tx_packets: count, tx_bytes: count * 84 });
      assert.equal((drops1['no-tunnel'] ?? 0) - (drops0['no-tunnel'] ?? 0), count, 'counted as no-tunnel');

      // Both answer each packet with port unreachable quoting it, in the same form.
      for (const [who, icmp, key] of [['the kernel', kernelIcmp, 1], ['burrow', burrowIcmp, 2]] as const) {
        assert.equal(icmp.length, count, `${who} answers each packet`);
        for (const e of icmp) {
          assert.deepEqual([e.type, e.code], [3, 3], `${who}: destination unreachable, port unreachable`);
          assert.equal(e.quoted.protocol, 47);
          assert.equal(e.quotedGre.key, key, `${who} quotes the packet it refused`);
          assert.equal(inetChecksum(e.ip.payload), 0, 'ICMP checksum');
        }
      }
      const icmpShape = (e: (typeof kernelIcmp)[number]) => ({
        tos: e.ip.tos, ttl: e.ip.ttl, df: e.ip.df, length: e.ip.totalLength, quotedLength: e.quoted.totalLength,
      });
      assert.deepEqual(burrowIcmp.map(icmpShape), kernelIcmp.map(icmpShape), 'the same ICMP from either');
      assertFreshIds(kernelIcmp.map((e) => ({ ip: e.ip })), 'the kernel\'s ICMP');
      assertFreshIds(burrowIcmp.map((e) => ({ ip: e.ip })), 'burrow\'s ICMP');
    });
  });

  /** One side's GRE option on output only, so each drops what the other sends; the same counters move on either. */
  async function oneSidedDrops(pair: PairOptions, expected: Flat, reason: string): Promise<void> {
    const count = 3;
    await withPair(f, pair, async (p) => {
      const fromA = await pingFromA(f, p, count);
      assert.equal(fromA.ping.received, 0);
      assert.deepEqual(moved(fromA.kernel), expected, 'the kernel drops what burrow sends');
      assert.deepEqual(moved(fromA.burrow), { tx_packets: count, tx_bytes: count * 84 });
      const fromB = await pingFromB(f, p, count);
      assert.equal(fromB.ping.received, 0);
      assert.deepEqual(moved(fromB.burrow), expected, 'burrow drops what the kernel sends');
      assert.deepEqual(moved(fromB.kernel), { tx_packets: count, tx_bytes: count * 84 });
      // And `ip -s tunnel show` prints the same block on both sides: the columns, and what they count.
      assert.equal(await burrowStatsBlock(f, p.name), await kernelStatsBlock(f, p.name));
      const [drops] = await checkScripts(f.lab, A, [`${burrowCmd(f.lab)} -s -s tunnel show ${p.name}`]);
      assert.match(drops, new RegExp(`Drops: ${reason} ${count}$`, 'm'));
    });
  }

  test('gre csum mismatch, both ways: checksummed packets to a tunnel without icsum are crc errors', () =>
    oneSidedDrops({ mode: 'gre', net: 24, both: 'ocsum' }, { rx_crc_errors: 3, rx_errors: 3 }, 'csum-mismatch'));

  test('gre seq mismatch, both ways: unsequenced packets to a tunnel with iseq are OutOfSeq', () =>
    oneSidedDrops({ mode: 'gre', net: 25, both: 'iseq' }, { rx_fifo_errors: 3, rx_errors: 3 }, 'seq-out-of-order'));

});
