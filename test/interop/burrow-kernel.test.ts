/**
 * burrow against the real kernel: burrow's tunnel on host A, the same tunnel made with `ip tunnel` on
 * the kernel as host B, across a router (peer-lab.ts draws the topology). Traffic goes both ways;
 * counters are read on both sides (`burrow -s -s -j tunnel show`, `ip -j -s -s link show`); the outer
 * headers are captured on the router, on the leg that leads to the receiver, and read with the
 * interop suite's own packet code (packets.ts), never with burrow's codecs.
 *
 * The kernel is the oracle: where both sides do the same thing (a ping from each end), the outer
 * headers burrow makes are compared with the ones the kernel makes, field by field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { KernelPeer } from './kernel-peer.js';
import {
  captureOnHost, ethernetIpv4, inetChecksum, parseGre, parseIpv4, parseIpv6, type GreView, type Ipv4View,
} from './packets.js';
import {
  A, A_UNDERLAY, B_UNDERLAY, BURROW_STATS, KERNEL_STATS, R, R_TO_A, burrowCmd, burrowCounters, burrowCountersFrom,
  checkScripts, delta, kernelCounters, kernelCountersFrom, moved, parsePing, peerLabFixture, pingCommand,
  runScripts, snmpCounter, unchargedDrops, withPair, makePair, deletePair, type Flat, type Pair, type PairOptions,
  type PeerLab,
} from './peer-lab.js';

const skip = KernelPeer.unavailable() ?? labUnavailableReason() ?? false;

const PROTOCOL = { ipip: 4, gre: 47, sit: 41 } as const;

/** An outer packet as the receiving side got it. */
interface Outer {
  ip: Ipv4View;
  gre?: GreView;
}

/** Outer packets of the pair's protocol from `src`, captured on R's interface `ifname` while `during` runs. */
async function captureOuter(f: PeerLab, p: Pair, ifname: string, src: string, count: number, during: () => Promise<unknown>): Promise<Outer[]> {
  const cap = await captureOnHost(f.lab.nsName(R), ifname, `ip proto ${PROTOCOL[p.mode]} and src host ${src}`, count);
  try {
    await during();
  } catch (e) {
    await cap.stop();
    throw e;
  }
  const frames = await cap.packets(5_000);
  return frames.map((frame) => {
    const ip = parseIpv4(ethernetIpv4(frame)!);
    return p.mode === 'gre' ? { ip, gre: parseGre(ip.payload) } : { ip };
  });
}

/** Pings from A to B, with the counters of both sides around it. */
async function pingFromA(f: PeerLab, p: Pair, count: number, extra = '') {
  const [before] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab)]);
  const kernelBefore = await f.peer.check(KERNEL_STATS(p.name));
  const [ping, after] = await runScripts(f.lab, A, [pingCommand(p.bAddress, count, extra), BURROW_STATS(f.lab)]);
  const kernelAfter = await f.peer.check(KERNEL_STATS(p.name));
  return {
    ping: parsePing(ping),
    burrow: delta(burrowCountersFrom(before, p.name), burrowCountersFrom(after.stdout, p.name)),
    kernel: delta(kernelCountersFrom(kernelBefore, p.name), kernelCountersFrom(kernelAfter, p.name)),
  };
}

/** Pings from B to A, with the counters of both sides around it. */
async function pingFromB(f: PeerLab, p: Pair, count: number, extra = '') {
  const [before] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab)]);
  const [k0, ping, k1] = await f.peer.runMany([KERNEL_STATS(p.name), pingCommand(p.aAddress, count, extra), KERNEL_STATS(p.name)]);
  const [after] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab)]);
  return {
    ping: parsePing(ping),
    burrow: delta(burrowCountersFrom(before, p.name), burrowCountersFrom(after, p.name)),
    kernel: delta(kernelCountersFrom(k0.stdout, p.name), kernelCountersFrom(k1.stdout, p.name)),
  };
}

/** What `count` echoes and their replies move on the sender's and on the receiver's tunnel. */
function echoCounters(count: number, size: number): { sender: Flat; receiver: Flat } {
  const both = { rx_bytes: count * size, rx_packets: count, tx_bytes: count * size, tx_packets: count };
  return { sender: both, receiver: both };
}

interface Exchange {
  /** burrow's outer packets as the kernel's side received them. */
  fromBurrow: Outer[];
  /** The kernel's outer packets as burrow's side received them. */
  fromKernel: Outer[];
}

/**
 * `count` pings from A to B, then `count` from B to A, each answered; checks the counters of both
 * tunnels after each direction (exactly the echoes and replies, nothing else) and returns every outer
 * packet each side sent, captured on the router leg towards the other.
 */
async function exchange(f: PeerLab, p: Pair, count = 3): Promise<Exchange> {
  const size = p.six ? 104 : 84;
  const expected = echoCounters(count, size);
  let fromKernel: Outer[] = [];
  const fromBurrow = await captureOuter(f, p, f.tap, A_UNDERLAY, 2 * count, async () => {
    fromKernel = await captureOuter(f, p, R_TO_A, B_UNDERLAY, 2 * count, async () => {
      const ab = await pingFromA(f, p, count);
      assert.equal(ab.ping.received, count, ab.ping.output);
      assert.deepEqual(moved(ab.burrow), expected.sender, 'burrow, sending the echoes');
      assert.deepEqual(moved(ab.kernel), expected.receiver, 'the kernel, answering them');
      const ba = await pingFromB(f, p, count);
      assert.equal(ba.ping.received, count, ba.ping.output);
      assert.deepEqual(moved(ba.kernel), expected.sender, 'the kernel, sending the echoes');
      assert.deepEqual(moved(ba.burrow), expected.receiver, 'burrow, answering them');
    });
  });
  assert.equal(fromBurrow.length, 2 * count, 'burrow sent one outer packet per echo and reply');
  assert.equal(fromKernel.length, 2 * count, 'the kernel sent one outer packet per echo and reply');
  return { fromBurrow, fromKernel };
}

/** What every outer packet must show, whoever sent it: addresses, protocol, checksums, lengths. */
function checkOuter(o: Outer, p: Pair, src: string, dst: string): void {
  assert.equal(o.ip.src, src);
  assert.equal(o.ip.dst, dst);
  assert.equal(o.ip.protocol, PROTOCOL[p.mode]);
  assert.ok(o.ip.checksumOk, 'outer header checksum');
  if (o.gre) {
    assert.equal(o.gre.flags & 0x0fff, 0, 'GRE version 0, no routing, no reserved bits');
    assert.equal(o.gre.protocol, p.six ? 0x86dd : 0x0800);
    if (o.gre.checksum !== undefined) assert.equal(inetChecksum(o.ip.payload), 0, 'GRE checksum over header and payload');
  }
}

/** The fields of the outer header a receiver sees that depend on the sender's rules. */
function shape(o: Outer) {
  return { ttl: o.ip.ttl, tos: o.ip.tos, df: o.ip.df, greFlags: o.gre?.flags, length: o.ip.totalLength };
}

/** IDs of the outer packets: the kernel gives each a new one, DF or not (iptunnel_xmit, __ip_select_ident). */
function assertFreshIds(packets: Outer[], who: string): void {
  const ids = packets.map((o) => o.ip.id);
  assert.equal(new Set(ids).size, ids.length, `${who}: every outer packet has its own IP ID: ${ids.join(' ')}`);
}

/** The lines after the tunnel line of `-s tunnel show NAME`: the counters, as iproute2 lays them out. */
function statsBlock(text: string, name: string): string {
  const lines = text.split('\n');
  assert.ok(lines[0].startsWith(`${name}: `), text);
  return lines.slice(1, 5).join('\n');
}

async function burrowStatsBlock(f: PeerLab, name: string): Promise<string> {
  const [out] = await checkScripts(f.lab, A, [`${burrowCmd(f.lab)} -s tunnel show ${name}`]);
  return statsBlock(out, name);
}

async function kernelStatsBlock(f: PeerLab, name: string): Promise<string> {
  return statsBlock(await f.peer.check(`ip -s tunnel show ${name}`), name);
}

/** ICMP type of the packet inside an outer packet (IPv4 inside ipip and gre, IPv6 inside sit). */
function innerIcmpType(o: Outer, p: Pair): number {
  const inner = o.gre ? o.gre.payload : o.ip.payload;
  if (p.six) return parseIpv6(inner).payload[0];
  return inner[(inner[0] & 0x0f) * 4];
}

describe('burrow and the kernel as the two ends of a tunnel', { skip, concurrency: false }, () => {
  const f = peerLabFixture();

  interface Case {
    what: string;
    pair: PairOptions;
    /** Checks beyond those every case gets. */
    check?: (x: Exchange) => void;
  }

  const keys = (packets: Outer[]) => packets.map((o) => o.gre?.key);
  const seqs = (packets: Outer[]) => packets.map((o) => o.gre?.seq);
  const CASES: Case[] = [
    { what: 'ipip', pair: { mode: 'ipip', net: 1 } },
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
        const x = await exchange(f, p);
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

  interface HeaderCase {
    what: string;
    pair: PairOptions;
    /** ping options, the same on both hosts */
    ping: string;
    /** The echo request's outer header as the receiver gets it (one router hop on the way). */
    request: { ttl: number; tos: number; df: boolean };
  }

  const HEADER_CASES: HeaderCase[] = [
    { what: 'ttl 64: fixed whatever the inner TTL', pair: { mode: 'ipip', net: 11, both: 'ttl 64' }, ping: '-t 5', request: { ttl: 63, tos: 0, df: true } },
    { what: 'ttl inherit: the inner TTL', pair: { mode: 'ipip', net: 12 }, ping: '-t 5', request: { ttl: 4, tos: 0, df: true } },
    { what: 'tos inherit: the inner DS field and ECN', pair: { mode: 'gre', net: 13, both: 'tos inherit' }, ping: '-Q 0xb9', request: { ttl: 63, tos: 0xb9, df: true } },
    { what: 'tos inherit: inner CE goes out as ECT(0)', pair: { mode: 'gre', net: 14, both: 'tos inherit' }, ping: '-Q 0x2b', request: { ttl: 63, tos: 0x2a, df: true } },
    { what: 'tos 0x10 fixed, ECN from the inner packet', pair: { mode: 'gre', net: 15, both: 'tos 10' }, ping: '-Q 0xb9', request: { ttl: 63, tos: 0x11, df: true } },
    { what: 'tos inherit/AF11 over IPv4: the inner DS field wins', pair: { mode: 'ipip', net: 16, both: 'tos inherit/AF11' }, ping: '-Q 0xb8', request: { ttl: 63, tos: 0xb8, df: true } },
    { what: 'nopmtudisc: DF copied from an inner DF packet', pair: { mode: 'gre', net: 17, both: 'nopmtudisc' }, ping: '-M do', request: { ttl: 63, tos: 0, df: true } },
    { what: 'nopmtudisc: no DF inside, none outside', pair: { mode: 'ipip', net: 18, both: 'nopmtudisc' }, ping: '-M dont -t 9', request: { ttl: 8, tos: 0, df: false } },
    { what: 'sit: hop limit and traffic class inherited', pair: { mode: 'sit', net: 19, both: 'tos inherit' }, ping: '-t 5 -Q 0xb8', request: { ttl: 4, tos: 0xb8, df: true } },
    { what: 'sit: tos inherit/AF11 is not inherit (only exactly 1 is)', pair: { mode: 'sit', net: 20, both: 'tos inherit/AF11 ttl 64' }, ping: '-Q 0xb8', request: { ttl: 63, tos: 0x28, df: true } },
    { what: 'sit nopmtudisc: no DF', pair: { mode: 'sit', net: 21, both: 'nopmtudisc' }, ping: '', request: { ttl: 63, tos: 0, df: false } },
  ];

  for (const c of HEADER_CASES) {
    test(`outer header: ${c.what} (${c.pair.both ?? 'defaults'}; ping ${c.ping || 'plain'})`, async () => {
      await withPair(f, c.pair, async (p) => {
        const echo = p.six ? 128 : 8;
        let fromKernel: Outer[] = [];
        const fromBurrow = await captureOuter(f, p, f.tap, A_UNDERLAY, 2, async () => {
          fromKernel = await captureOuter(f, p, R_TO_A, B_UNDERLAY, 2, async () => {
            const [a] = await runScripts(f.lab, A, [pingCommand(p.bAddress, 1, c.ping)]);
            assert.equal(parsePing(a).received, 1, a.stdout + a.stderr);
            const b = await f.peer.run(pingCommand(p.aAddress, 1, c.ping));
            assert.equal(parsePing(b).received, 1, b.stdout + b.stderr);
          });
        });
        assert.equal(fromBurrow.length, 2);
        assert.equal(fromKernel.length, 2);
        const byType = (packets: Outer[]) => {
          const request = packets.find((o) => innerIcmpType(o, p) === echo);
          const reply = packets.find((o) => innerIcmpType(o, p) !== echo);
          assert.ok(request && reply, 'an echo request and a reply');
          return { request: shape(request), reply: shape(reply) };
        };
        const burrow = byType(fromBurrow);
        const kernel = byType(fromKernel);
        const { ttl, tos, df } = kernel.request;
        assert.deepEqual({ ttl, tos, df }, c.request, 'the kernel, as the spec says');
        assert.deepEqual(burrow, kernel, 'burrow, as the kernel: request and reply');
      });
    });
  }

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
