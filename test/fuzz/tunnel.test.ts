/**
 * Property tests for the tunnel modes (issue 6, reliability.md section 5): the whole decapsulation
 * path (`decapsulate` with each mode's receive) and each encapsulate, on structure-aware inputs
 * (outer packets a peer's encapsulate built, then mutated, with and without the kernel's fix-ups) and
 * raw bytes.
 *
 * 1. decapsulate is total: every input is delivered (inside its range) or dropped under a reason of
 *    tunnel/drop.ts, charged to a tunnel exactly when the reason says so; it reads nothing outside the
 *    packet and writes nothing but the inner ECN bits.
 * 2. Round trips: encapsulate on one end, decapsulate on its peer gives the inner packet back byte for
 *    byte, for every mode and flag combination, with the outer header as the kernel writes it.
 * 3. Flag combinations that disagree end in the reason the kernel's rules give (a model of them).
 * 4. Checksums: outer and GRE checksums verify; any single flipped bit is caught.
 * 5. Truncation: every prefix of a valid packet is refused, or (as the kernel would trim it) parsed
 *    inside its bytes.
 * 6. encapsulate is total over anything a device may hand it, with any route state and MTU.
 * 7. The RFC 6040 decapsulation table, all 16 pairs, end to end through decapsulate, every carrier.
 * 8. The GRE sequence window against a model (fc.commands), serial-number arithmetic with wrap.
 *
 * 1000 runs per property by default (about a second); FUZZ_RUNS and FUZZ_SEED change that (see
 * budget.ts); FUZZ_STATS=1 prints how the totality inputs ended, to check they reach the deep rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { internetChecksum } from '../../src/wire/checksum.js';
import { ALL_DROP_REASONS, DROP_REASONS, type DropReason } from '../../src/tunnel/drop.js';
import { decapsulate } from '../../src/tunnel/ip-tunnel.js';
import { HEADROOM, newDecapResult, newEncapResult } from '../../src/tunnel/mode.js';
import { GRE_CSUM, GRE_KEY, GRE_SEQ, type TunnelParams } from '../../src/tunnel/params.js';
import { TunnelTable } from '../../src/tunnel/table.js';
import { tunnelOverhead, type Tunnel } from '../../src/tunnel/tunnel.js';
import { writeGreHeader } from '../../src/wire/gre.js';
import { budget } from './budget.js';
import {
  deviceJunk,
  encapsulateOnce,
  ENCAPSULATE,
  FILL,
  fixOuter,
  innerFor,
  ipv4Inner,
  ipv6Inner,
  LEFT,
  outerInput,
  outerPacket,
  place,
  PROTOCOL,
  RECEIVE,
  receiverParams,
  receivers,
  RIGHT,
  senderParams,
  settings,
  setOuterTos,
  u32,
  upTunnel,
  type CarriedMode,
  type Settings,
} from './tunnel-gen.js';

const fuzz = budget('tunnel', 1000);

/** Reasons decapsulate may give (the engine adds rx-device-error; the rest are transmit reasons). */
const RX_REASONS = new Set<DropReason>([
  'outer-malformed', 'gre-truncated', 'gre-version', 'gre-routing', 'gre-bad-checksum', 'no-tunnel',
  'csum-mismatch', 'seq-out-of-order', 'ecn-ce-not-ect', 'inner-malformed', 'inner-protocol',
]);
const TX_REASONS = new Set<DropReason>(['tx-wrong-protocol', 'tx-malformed', 'too-big', 'no-route', 'dead-loop', 'nbma-no-destination', 'nbma-no-ipv4-neighbour']);
/** Reasons charged to the tunnel that was chosen (their counters are the tunnel's). */
const charged = (reason: DropReason): boolean => DROP_REASONS[reason].counters.length > 0;

interface Outcome {
  reason: DropReason | null;
  tunnel: string | null;
  inner: string | null;
}

/** One receiving table, built afresh from its parameters (GRE sequence state starts at 0). */
function table(receivers: readonly { params: TunnelParams; up: boolean }[]): TunnelTable {
  const t = new TunnelTable();
  for (const r of receivers) {
    const tunnel = upTunnel(r.params);
    tunnel.up = r.up;
    t.add(tunnel);
  }
  return t;
}

/**
 * decapsulate on `packet` surrounded by `pad` bytes of `fill` on both sides, with its checks: a result
 * inside the packet, and nothing changed outside the inner header's ECN byte(s).
 */
function decapsulateIn(mode: CarriedMode, tbl: TunnelTable, packet: Uint8Array, fill: number): Outcome {
  const pad = 24;
  const bytes = new Uint8Array(pad + packet.length + pad).fill(fill);
  bytes.set(packet, pad);
  const before = bytes.slice();
  const out = newDecapResult();
  const reason = decapsulate(RECEIVE[mode], tbl, bytes, pad, packet.length, 0, out);
  const innerChecksumWasRight = (at: number): boolean => internetChecksum(before, at, (before[at] & 15) * 4) === 0;
  const changed: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== before[i]) changed.push(i);
  if (reason === null) {
    assert.ok(out.tunnel !== null && out.tunnel.up, 'delivered to a tunnel that is up');
    assert.ok(out.start >= pad + 20 && out.length >= 0, 'inner after the outer header');
    const total = (packet[2] << 8) | packet[3];
    assert.ok(out.start + out.length <= pad + total && total <= packet.length, 'inner inside the outer packet');
    const version = bytes[out.start] >> 4;
    assert.equal(version, out.tunnel.params.mode === 'sit' ? 6 : out.tunnel.params.mode === 'ipip' ? 4 : version);
    assert.ok(version === 4 || version === 6);
    // Only ECN marking may touch the packet: the inner TOS byte (and its checksum) or traffic class.
    const allowed = version === 4 ? [out.start + 1, out.start + 10, out.start + 11] : [out.start + 1];
    assert.ok(changed.every((i) => allowed.includes(i)), `wrote outside the inner ECN field: ${changed.join(',')}`);
    // The inner checksum is patched (RFC 1624), not recomputed: right stays right, wrong stays wrong.
    if (version === 4 && changed.length > 0) {
      assert.equal(internetChecksum(bytes, out.start, (bytes[out.start] & 15) * 4) === 0, innerChecksumWasRight(out.start), 'checksum patched');
    }
    return { reason, tunnel: out.tunnel.name, inner: Buffer.from(bytes.subarray(out.start, out.start + out.length)).toString('hex') };
  }
  assert.ok(ALL_DROP_REASONS.includes(reason) && RX_REASONS.has(reason), `unexpected reason ${reason}`);
  assert.equal(out.tunnel !== null, charged(reason), `${reason} ${out.tunnel ? 'charged to' : 'not charged to'} a tunnel`);
  assert.deepEqual(changed, [], 'a dropped packet is left as it was');
  return { reason, tunnel: out.tunnel?.name ?? null, inner: null };
}

// ---------------------------------------------------------------------------------------------------
// 1. Totality of the decapsulation path

const outcomes = new Map<string, number>();
test('fuzz: decapsulate delivers or drops with a named reason, reads only the packet, writes only ECN', () => {
  fuzz.check(
    fc.property(
      receivers.chain((rx) => fc.tuple(fc.constant(rx), fc.array(outerInput(rx), { minLength: 1, maxLength: 8 }))),
      ([rx, inputs]) => {
        const specs = rx.map((r, i) => ({ params: receiverParams(r.s, `rx${i}`, r.local, r.remote), up: r.up }));
        // The same packets into two identical tables, padded with 0x00 and with 0xff: a read outside the
        // packet would make them disagree.
        const low = table(specs);
        const high = table(specs);
        const counted = new Map<string, number>();
        for (const { mode, packet } of inputs) {
          const a = decapsulateIn(mode, low, packet, 0x00);
          const b = decapsulateIn(mode, high, packet, 0xff);
          assert.deepEqual(a, b, 'the bytes around the packet changed the outcome');
          const key = a.reason ?? 'delivered';
          counted.set(key, (counted.get(key) ?? 0) + 1);
        }
        fuzz.add(inputs.length);
        if (process.env.FUZZ_STATS) for (const [k, v] of counted) outcomes.set(k, (outcomes.get(k) ?? 0) + v);
        assert.equal([...counted.values()].reduce((x, y) => x + y, 0), inputs.length);
      },
    ),
    { countsItself: true },
  );
  if (process.env.FUZZ_STATS) console.log('outcomes', Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])));
});

// ---------------------------------------------------------------------------------------------------
// 2. Round trips

function innerTtlOf(inner: Uint8Array): number {
  return inner[0] >> 4 === 4 ? inner[8] : inner[7];
}
function innerDsOf(inner: Uint8Array): number {
  return inner[0] >> 4 === 4 ? inner[1] : ((inner[0] & 0x0f) << 4) | (inner[1] >> 4);
}

/** The outer TOS the kernel writes (ip_tunnel_xmit / ipip6_tunnel_xmit, INET_ECN_encapsulate). */
function expectedTos(s: Settings, inner: Uint8Array): number {
  const ds = innerDsOf(inner);
  const tos = s.mode === 'sit' ? (s.tos === 1 ? 1 : s.tos & ~1) : s.tos;
  const base = tos & 1 ? ds : tos;
  const ecn = ds & 3;
  return (base & ~3) | (ecn === 3 ? 2 : ecn);
}

test('fuzz: round trip for every mode and flag combination: the peer gets the inner packet byte for byte', () => {
  fuzz.check(
    fc.property(
      settings.chain((s) => fc.tuple(fc.constant(s), fc.array(innerFor(s.mode), { minLength: 1, maxLength: 5 }))),
      fc.nat(),
      ([s, inners], decoyKey) => {
        const sender = upTunnel(senderParams(s));
        const rx = new TunnelTable();
        const receiver = upTunnel(receiverParams(s));
        rx.add(receiver);
        // A GRE tunnel between the same ends with another key must not take the packets.
        if (s.mode === 'gre' && s.okey !== decoyKey >>> 0) rx.add(upTunnel(receiverParams(s, 'decoy', RIGHT, LEFT, { key: decoyKey >>> 0 })));
        let seq = 0;
        for (const inner of inners) {
          const outer = encapsulateOnce(sender, inner);
          assert.ok(typeof outer !== 'string', `encapsulate refused: ${String(outer)}`);
          const p = sender.params;
          const overhead = tunnelOverhead(p);
          assert.equal(outer.length, inner.length + overhead);
          assert.equal(internetChecksum(outer, 0, 20), 0, 'outer header checksum');
          assert.equal(outer[0], 0x45);
          assert.equal((outer[2] << 8) | outer[3], outer.length);
          assert.equal(outer[9], PROTOCOL[s.mode]);
          assert.equal(Buffer.from(outer).readUInt32BE(12), LEFT);
          assert.equal(Buffer.from(outer).readUInt32BE(16), RIGHT);
          assert.equal(outer[8], p.ttl || innerTtlOf(inner), 'TTL fixed or inherited');
          assert.equal(outer[1], expectedTos(s, inner), 'TOS and ECN');
          const innerDf = inner[0] >> 4 === 4 && (inner[6] & 0x40) !== 0;
          assert.equal((outer[6] & 0x40) !== 0, s.mode === 'sit' ? p.pmtudisc : p.pmtudisc || innerDf, 'DF');
          if (s.mode === 'gre') {
            const flags = (outer[20] << 8) | outer[21];
            assert.equal(flags, p.oflags & (GRE_CSUM | GRE_KEY | GRE_SEQ));
            assert.equal((outer[22] << 8) | outer[23], inner[0] >> 4 === 4 ? 0x0800 : 0x86dd);
            let at = 24;
            if (flags & GRE_CSUM) {
              assert.equal(internetChecksum(outer, 20, outer.length - 20), 0, 'GRE checksum');
              at += 4;
            }
            if (flags & GRE_KEY) {
              assert.equal(Buffer.from(outer).readUInt32BE(at), p.okey);
              at += 4;
            }
            if (flags & GRE_SEQ) assert.equal(Buffer.from(outer).readUInt32BE(at), seq++, 'sequence from 0');
          }
          const got = decapsulateIn(s.mode, rx, outer, FILL);
          assert.equal(got.reason, null, `dropped: ${got.reason}`);
          assert.equal(got.tunnel, 'rx0');
          assert.equal(got.inner, Buffer.from(inner).toString('hex'), 'inner packet changed');
        }
      },
    ),
  );
});

// ---------------------------------------------------------------------------------------------------
// 3. Disagreeing GRE flags, against the kernel's rules written as a model

/** ip_tunnel_lookup's key match, then ip_tunnel_rcv's csum and seq checks (spec 3.4). */
function modelGre(tx: Settings, rx: { key: number | null; csum: boolean; seq: boolean }): DropReason | null {
  if (rx.key === null ? tx.okey !== null : tx.okey !== rx.key) return 'no-tunnel';
  if (tx.ocsum !== rx.csum) return 'csum-mismatch';
  if (rx.seq && !tx.oseq) return 'seq-out-of-order';
  return null;
}

test('fuzz: GRE key, csum and seq combinations end as the kernel rules say', () => {
  const rxFlags = fc.record({ key: fc.option(fc.oneof(u32, fc.constant(42)), { nil: null }), csum: fc.boolean(), seq: fc.boolean() });
  fuzz.check(
    fc.property(settings.filter((s) => s.mode === 'gre'), rxFlags, fc.boolean(), ipv4Inner, (s0, flags, sameKey, inner) => {
      const s = { ...s0, okey: s0.okey };
      const rxKey = sameKey ? s.okey : flags.key;
      const want = modelGre(s, { ...flags, key: rxKey });
      const sender = upTunnel(senderParams(s));
      const tbl = new TunnelTable();
      tbl.add(upTunnel(receiverParams(s, 'rx0', RIGHT, LEFT, { key: rxKey, csum: flags.csum, seq: flags.seq })));
      const outer = encapsulateOnce(sender, inner);
      assert.ok(typeof outer !== 'string');
      const got = decapsulateIn('gre', tbl, outer, FILL);
      assert.equal(got.reason, want);
    }),
  );
});

// ---------------------------------------------------------------------------------------------------
// 4. Checksums

/** Settings, an inner packet they carry, and the outer packet a sender with them makes of it. */
const sent = settings.chain((s) => innerFor(s.mode).map((inner) => ({ s, inner, outer: encapsulateOnce(upTunnel(senderParams(s)), inner) as Uint8Array })));

test('fuzz: any single bit flipped in the outer header or a checksummed GRE packet is caught', () => {
  fuzz.check(
    fc.property(
      sent,
      fc.nat(),
      ({ s, outer }, pick) => {
        const tbl = table([{ params: receiverParams(s), up: true }]);
        // Not IHL (bits 4-7): it moves what the checksum covers, so a longer header may verify by chance.
        let headerBit = pick % 156;
        if (headerBit >= 4) headerBit += 4;
        const flipped = outer.slice();
        flipped[headerBit >> 3] ^= 0x80 >> (headerBit & 7);
        assert.equal(decapsulateIn(s.mode, tbl, flipped, FILL).reason, 'outer-malformed', `outer bit ${headerBit}`);
        if (s.mode !== 'gre' || !s.ocsum) return;
        // Bit 0 of GRE is C itself: clearing it turns the checksum off, which no checksum can notice.
        const greBit = 1 + (pick % ((outer.length - 20) * 8 - 1));
        const g = outer.slice();
        g[20 + (greBit >> 3)] ^= 0x80 >> (greBit & 7);
        const reason = decapsulateIn('gre', tbl, g, FILL).reason;
        assert.ok(reason !== null && reason.startsWith('gre-'), `GRE bit ${greBit}: ${reason}`);
      },
    ),
  );
});

// ---------------------------------------------------------------------------------------------------
// 5. Truncation

test('fuzz: every prefix of a valid outer packet is refused, and parsed within its bytes once trimmed', () => {
  fuzz.check(
    fc.property(
      sent,
      fc.nat(),
      ({ s, inner, outer }, pick) => {
        const cut = pick % outer.length;
        const prefix = outer.slice(0, cut);
        assert.equal(decapsulateIn(s.mode, table([{ params: receiverParams(s), up: true }]), prefix, FILL).reason, 'outer-malformed');
        // As if the kernel had been handed a packet whose total length says `cut` (it trims the rest).
        const trimmed = decapsulateIn(s.mode, table([{ params: receiverParams(s), up: true }]), fixOuter(prefix), FILL);
        const header = tunnelOverhead(senderParams(s));
        if (cut < 20) assert.equal(trimmed.reason, 'outer-malformed');
        else if (cut < header) assert.equal(trimmed.reason, 'gre-truncated');
        // The GRE checksum covers the lost bytes, unless they summed to zero (trailing zero bytes).
        else if (s.mode === 'gre' && s.ocsum && internetChecksum(prefix, 20, cut - 20) !== 0) assert.equal(trimmed.reason, 'gre-bad-checksum');
        else if (cut - header < (inner[0] >> 4 === 4 ? 20 : 40)) assert.equal(trimmed.reason, 'inner-malformed');
        else assert.equal(trimmed.inner, Buffer.from(inner.subarray(0, cut - header)).toString('hex'));
      },
    ),
  );
});

// ---------------------------------------------------------------------------------------------------
// 6. encapsulate is total

test('fuzz: encapsulate gives a valid outer packet or a transmit reason, for any device input and route', () => {
  const route = fc.record({
    state: fc.constantFrom<Tunnel['route']>('ok', 'ok', 'ok', 'no-route', 'dead-loop'),
    mtu: fc.oneof(fc.integer({ min: 68, max: 9000 }), fc.constantFrom(68, 576, 1280, 1299, 1300, 1500)),
    remote: fc.constantFrom(RIGHT, RIGHT, 0),
  });
  fuzz.check(
    fc.property(settings, route, fc.oneof(deviceJunk, ipv4Inner, ipv6Inner), (s, r, inner) => {
      const t = upTunnel(senderParams(s, 'tx0', LEFT, r.remote), r.mtu);
      t.route = r.state;
      const { bytes, start, length } = place(inner);
      const before = bytes.slice();
      const out = newEncapResult();
      const reason = ENCAPSULATE[s.mode](t, bytes, start, length, out);
      const overhead = tunnelOverhead(t.params);
      if (reason !== null) {
        assert.ok(TX_REASONS.has(reason), reason);
        assert.ok(charged(reason));
        if (reason === 'too-big') {
          assert.equal(out.mtu, r.mtu - overhead, 'the MTU told to the sender');
          assert.ok(length > out.mtu);
        }
        // A refused packet may have a GRE header half written in front of it, never anything inside.
        assert.deepEqual(bytes.subarray(start), before.subarray(start));
        return;
      }
      assert.equal(out.start, start - overhead);
      assert.equal(out.length, length + overhead);
      assert.ok(out.start >= 0 && out.start < HEADROOM);
      assert.deepEqual(bytes.subarray(0, out.start), before.subarray(0, out.start), 'nothing written before the outer header');
      assert.deepEqual(bytes.subarray(start), before.subarray(start), 'the inner packet is left alone');
      assert.equal(internetChecksum(bytes, out.start, 20), 0);
      assert.equal(bytes.readUInt16BE(out.start + 2), out.length);
      assert.equal(out.destination, r.remote);
      if ((bytes[out.start + 6] & 0x40) !== 0) assert.ok(out.length <= r.mtu, 'a DF packet fits the path');
    }),
  );
});

// ---------------------------------------------------------------------------------------------------
// 7. RFC 6040 ECN decapsulation, all 16 pairs, through decapsulate

const NOT_ECT = 0;
const ECT1 = 1;
const ECT0 = 2;
const CE = 3;
const ECN_NAME = ['Not-ECT', 'ECT(1)', 'ECT(0)', 'CE'];

/**
 * RFC 6040 figure 4, as Linux applies it since 5.8 (include/net/inet_ecn.h INET_ECN_decapsulate):
 * rows are the arriving inner ECN, columns the arriving outer ECN; 'drop' is rx_frame_errors.
 */
const RFC6040: Record<number, (number | 'drop')[]> = {
  //              outer: Not-ECT  ECT(1)  ECT(0)   CE
  [NOT_ECT]: [NOT_ECT, NOT_ECT, NOT_ECT, 'drop'],
  [ECT1]: [ECT1, ECT1, ECT1, CE],
  [ECT0]: [ECT0, ECT1, ECT0, CE],
  [CE]: [CE, CE, CE, CE],
};

test('RFC 6040: the 16 outer/inner ECN pairs end to end through decapsulate, for ipip, gre (v4, v6) and sit', () => {
  const carriers: [CarriedMode, 4 | 6][] = [['ipip', 4], ['gre', 4], ['gre', 6], ['sit', 6]];
  for (const [mode, version] of carriers) {
    for (let inner = 0; inner < 4; inner++) {
      for (let outer = 0; outer < 4; outer++) {
        const what = `${mode} IPv${version}: inner ${ECN_NAME[inner]}, outer ${ECN_NAME[outer]}`;
        const s: Settings = { mode, okey: null, ocsum: mode === 'gre', oseq: false, ttl: 64, tos: 0, pmtudisc: true };
        const innerPacket = version === 4 ? ecnIpv4(inner) : ecnIpv6(inner);
        const outerPacket = encapsulateOnce(upTunnel(senderParams(s)), innerPacket) as Uint8Array;
        setOuterTos(outerPacket, (outerPacket[1] & ~3) | outer);
        const rx = upTunnel(receiverParams(s));
        const tbl = new TunnelTable();
        tbl.add(rx);
        const { bytes, start, length } = place(outerPacket);
        const out = newDecapResult();
        const reason = decapsulate(RECEIVE[mode], tbl, bytes, start, length, 0, out);
        if (reason !== null) rx.drop(reason);
        const want = RFC6040[inner][outer];
        if (want === 'drop') {
          assert.equal(reason, 'ecn-ce-not-ect', what);
          assert.deepEqual([rx.stats.rxFrameErrors, rx.stats.rxErrors], [1, 1], `${what}: counted as a frame error`);
          continue;
        }
        assert.equal(reason, null, what);
        const got = bytes.subarray(out.start, out.start + out.length);
        const ecn = version === 4 ? got[1] & 3 : (got[1] >> 4) & 3;
        assert.equal(ECN_NAME[ecn], ECN_NAME[want], what);
        if (version === 4) assert.equal(internetChecksum(got, 0, 20), 0, `${what}: inner checksum`);
        // Nothing but the ECN bits (and the IPv4 checksum) changed.
        const expected = Buffer.from(innerPacket);
        if (version === 4) expected[1] = (expected[1] & ~3) | want;
        else expected[1] = (expected[1] & ~0x30) | (want << 4);
        const comparable = Buffer.from(got);
        if (version === 4) {
          comparable[10] = expected[10] = 0;
          comparable[11] = expected[11] = 0;
        }
        assert.deepEqual(comparable, expected, what);
      }
    }
  }
  fuzz.add(64);
});

/** An IPv4 UDP-ish packet with DSCP AF11 and the given ECN. */
function ecnIpv4(ecn: number): Uint8Array {
  const p = outerPacket(17, 0x0a000001, 0x0a000002, new Uint8Array(12).fill(7), 0x28 | ecn, 17);
  return p;
}
/** An IPv6 packet with traffic class AF11 and the given ECN. */
function ecnIpv6(ecn: number): Uint8Array {
  const p = new Uint8Array(48);
  const tc = 0x28 | ecn;
  p[0] = 0x60 | (tc >> 4);
  p[1] = (tc & 0x0f) << 4;
  p[5] = 8;
  p[6] = 59;
  p[7] = 9;
  p[8] = 0x20;
  p[24] = 0x20;
  return p;
}

// ---------------------------------------------------------------------------------------------------
// 8. GRE sequence window, model-based

/** Reference: RFC 1982 serial-number order in BigInt, as ip_tunnel_rcv applies it (0 accepts anything). */
function referenceAccepts(expected: bigint, seq: bigint): boolean {
  if (expected === 0n) return true;
  const distance = (seq - expected + (1n << 32n)) % (1n << 32n);
  return distance < 1n << 31n;
}

interface SeqModel {
  expected: bigint;
  txSeq: bigint;
  delivered: number;
  dropped: number;
  /** Sequence numbers of packets sent, for replays. */
  sent: bigint[];
}
interface SeqReal {
  sender: Tunnel;
  receiver: Tunnel;
  table: TunnelTable;
  packets: Uint8Array[];
}

const SEQ_SETTINGS: Settings = { mode: 'gre', okey: 7, ocsum: false, oseq: true, ttl: 64, tos: 0, pmtudisc: true };
const SEQ_INNER = ecnIpv4(0);

function deliver(real: SeqReal, packet: Uint8Array): DropReason | null {
  const { bytes, start, length } = place(packet);
  const out = newDecapResult();
  const reason = decapsulate(RECEIVE.gre, real.table, bytes, start, length, 0, out);
  if (reason !== null && out.tunnel) out.tunnel.drop(reason);
  return reason;
}

function check(model: SeqModel, real: SeqReal): void {
  assert.equal(BigInt(real.receiver.rxSeq), model.expected, 'expected sequence number');
  assert.equal(BigInt(real.sender.txSeq), model.txSeq, 'next sequence number sent');
  assert.equal(real.receiver.stats.rxFifoErrors, model.dropped, 'OutOfSeq');
  assert.equal(real.receiver.stats.rxErrors, model.dropped);
  assert.equal(real.receiver.drops.get('seq-out-of-order') ?? 0, model.dropped);
}

function receiveModel(model: SeqModel, seq: bigint | null): DropReason | null {
  if (seq === null || !referenceAccepts(model.expected, seq)) {
    model.dropped++;
    return 'seq-out-of-order';
  }
  model.expected = (seq + 1n) % (1n << 32n);
  model.delivered++;
  return null;
}

class SendInOrder implements fc.Command<SeqModel, SeqReal> {
  check = () => true;
  run(model: SeqModel, real: SeqReal): void {
    const packet = encapsulateOnce(real.sender, SEQ_INNER) as Uint8Array;
    real.packets.push(packet);
    model.sent.push(model.txSeq);
    const seq = model.txSeq;
    model.txSeq = (model.txSeq + 1n) % (1n << 32n);
    assert.equal(deliver(real, packet), receiveModel(model, seq));
    check(model, real);
  }
  toString = () => 'send';
}

class Replay implements fc.Command<SeqModel, SeqReal> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<SeqModel>) => model.sent.length > 0;
  run(model: SeqModel, real: SeqReal): void {
    const i = this.pick % real.packets.length;
    assert.equal(deliver(real, real.packets[i]), receiveModel(model, model.sent[i]));
    check(model, real);
  }
  toString = () => `replay(${this.pick})`;
}

/** A packet from the peer's address with a chosen sequence number, relative to the one expected. */
class Inject implements fc.Command<SeqModel, SeqReal> {
  constructor(readonly delta: number | null) {}
  check = () => true;
  run(model: SeqModel, real: SeqReal): void {
    const seq = this.delta === null ? null : (model.expected + BigInt(this.delta) + (1n << 33n)) % (1n << 32n);
    const gre = new Uint8Array(12 + SEQ_INNER.length);
    writeGreHeader(gre, 0, GRE_KEY | (seq === null ? 0 : GRE_SEQ), 0x0800, 7, Number(seq ?? 0n));
    gre.set(SEQ_INNER, seq === null ? 8 : 12);
    const packet = outerPacket(47, LEFT, RIGHT, seq === null ? gre.subarray(0, 8 + SEQ_INNER.length) : gre);
    assert.equal(deliver(real, packet), receiveModel(model, seq));
    check(model, real);
  }
  toString = () => `inject(${this.delta === null ? 'no seq' : this.delta})`;
}

/** Moves the sender close to the wrap at 2^32. */
class JumpSender implements fc.Command<SeqModel, SeqReal> {
  constructor(readonly before: number) {}
  check = () => true;
  run(model: SeqModel, real: SeqReal): void {
    model.txSeq = (1n << 32n) - BigInt(this.before);
    real.sender.txSeq = Number(model.txSeq);
    check(model, real);
  }
  toString = () => `jump(2^32-${this.before})`;
}

test('fuzz: the GRE iseq window against a serial-number model, with wrap, replays and missing numbers', () => {
  const delta = fc.oneof(
    fc.integer({ min: -3, max: 3 }),
    fc.constantFrom(2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) + 1, 2 ** 32 - 1),
    fc.integer({ min: -(2 ** 32), max: 2 ** 32 }),
  );
  const commands = fc.commands(
    [
      fc.constant(new SendInOrder()),
      fc.nat().map((n) => new Replay(n)),
      fc.option(delta, { nil: null, freq: 8 }).map((d) => new Inject(d)),
      fc.integer({ min: 1, max: 4 }).map((n) => new JumpSender(n)),
    ],
    { maxCommands: 60 },
  );
  fuzz.check(
    fc.property(commands, (cmds) => {
      const sender = upTunnel(senderParams(SEQ_SETTINGS));
      const receiver = upTunnel(receiverParams(SEQ_SETTINGS));
      const tbl = new TunnelTable();
      tbl.add(receiver);
      const real: SeqReal = { sender, receiver, table: tbl, packets: [] };
      const model: SeqModel = { expected: 0n, txSeq: 0n, delivered: 0, dropped: 0, sent: [] };
      fc.modelRun(() => ({ model, real }), cmds);
      fuzz.add([...cmds].length);
      assert.equal(real.receiver.stats.rxErrors, model.dropped);
    }),
    { countsItself: true },
  );
});
