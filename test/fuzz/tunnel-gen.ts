/**
 * Structure-aware generators for the tunnel modes (syzkaller's lesson, reliability.md section 5): tunnel
 * configurations with every flag combination, inner IPv4/IPv6 packets with valid lengths and
 * checksums, outer packets built by a peer tunnel's own encapsulate, mutations of those (bit flips,
 * cuts, extensions, byte writes, each optionally followed by the fix-ups the kernel would insist on),
 * and raw bytes. The fault suite injects the same packets over real sockets.
 */
import fc from 'fast-check';
import { internetChecksum } from '../../src/wire/checksum.js';
import { writeGreHeader, fillGreChecksum } from '../../src/wire/gre.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { normalizeParams } from '../../src/tunnel/admin.js';
import type { DropReason } from '../../src/tunnel/drop.js';
import { encapsulateGre, receiveGre, IPPROTO_GRE } from '../../src/tunnel/gre.js';
import { encapsulateIpip, receiveIpip, IPPROTO_IPIP } from '../../src/tunnel/ipip.js';
import { encapsulateSit, receiveSit, IPPROTO_IPV6 } from '../../src/tunnel/sit.js';
import { HEADROOM, newEncapResult, type Encapsulate, type Receive } from '../../src/tunnel/mode.js';
import { defaultTunnelParams, GRE_CSUM, GRE_KEY, GRE_SEQ, type TunnelParams } from '../../src/tunnel/params.js';
import { Tunnel } from '../../src/tunnel/tunnel.js';

export type CarriedMode = 'ipip' | 'gre' | 'sit';
export const MODES: readonly CarriedMode[] = ['ipip', 'gre', 'sit'];

export const ENCAPSULATE: Record<CarriedMode, Encapsulate> = { ipip: encapsulateIpip, gre: encapsulateGre, sit: encapsulateSit };
export const RECEIVE: Record<CarriedMode, Receive> = { ipip: receiveIpip, gre: receiveGre, sit: receiveSit };
export const PROTOCOL: Record<CarriedMode, number> = { ipip: IPPROTO_IPIP, gre: IPPROTO_GRE, sit: IPPROTO_IPV6 };

/** Underlay addresses of the two ends (documentation ranges), host order. */
export const LEFT = 0xc0000201; // 192.0.2.1
export const RIGHT = 0xc6336401; // 198.51.100.1

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** What `ip tunnel add` sets on one end: mode, output GRE flags, TTL, TOS, pmtudisc. */
export interface Settings {
  mode: CarriedMode;
  /** Output key, or null for none. */
  okey: number | null;
  ocsum: boolean;
  oseq: boolean;
  /** 0 = inherit. */
  ttl: number;
  /** Bit 0 = inherit. */
  tos: number;
  pmtudisc: boolean;
}

export const settings: fc.Arbitrary<Settings> = fc
  .record({
    mode: fc.constantFrom<CarriedMode>(...MODES),
    okey: fc.option(fc.oneof(u32, fc.constantFrom(0, 1, 42, 0xffffffff)), { nil: null }),
    ocsum: fc.boolean(),
    oseq: fc.boolean(),
    ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
    tos: fc.oneof(fc.constant(0), fc.constant(1), u8),
    pmtudisc: fc.boolean(),
  })
  .map((s) => (s.mode === 'gre' ? s : { ...s, okey: null, ocsum: false, oseq: false }));

function flagsOf(key: boolean, csum: boolean, seq: boolean): number {
  return (key ? GRE_KEY : 0) | (csum ? GRE_CSUM : 0) | (seq ? GRE_SEQ : 0);
}

/** One end's parameters: `s`'s mode, TTL, TOS and pmtudisc, the same GRE flags and key both ways. */
function endParams(s: Settings, name: string, local: number, remote: number, key: number | null, csum: boolean, seq: boolean): TunnelParams {
  const flags = flagsOf(key !== null, csum, seq);
  return normalizeParams({
    ...defaultTunnelParams(),
    name,
    mode: s.mode,
    local,
    remote,
    ttl: s.ttl,
    tos: s.tos,
    pmtudisc: s.pmtudisc,
    iflags: flags,
    ikey: key ?? 0,
    oflags: flags,
    okey: key ?? 0,
  });
}

/** The end that sends with `s`, normalised as the kernel would (a fixed TTL forces pmtudisc). */
export function senderParams(s: Settings, name = 'tx0', local = LEFT, remote = RIGHT): TunnelParams {
  return endParams(s, name, local, remote, s.okey, s.ocsum, s.oseq);
}

/** The peer that expects exactly what `s` sends (ikey = okey, icsum = ocsum, iseq = oseq), or as told. */
export function receiverParams(s: Settings, name = 'rx0', local = RIGHT, remote = LEFT, iflags?: { key?: number | null; csum?: boolean; seq?: boolean }): TunnelParams {
  return endParams(s, name, local, remote, iflags?.key === undefined ? s.okey : iflags.key, iflags?.csum ?? s.ocsum, iflags?.seq ?? s.oseq);
}

export function upTunnel(params: TunnelParams, routeMtu = 65535): Tunnel {
  const t = new Tunnel(params);
  t.up = true;
  t.routeMtu = routeMtu;
  return t;
}

// ---------------------------------------------------------------------------------------------------
// Inner packets

/** An IPv4 packet with valid header checksum and total length; options of 0..10 words. */
export const ipv4Inner: fc.Arbitrary<Uint8Array> = fc
  .record({
    tos: u8,
    id: u16,
    df: fc.boolean(),
    ttl: u8,
    protocol: u8,
    src: u32,
    dst: u32,
    words: fc.integer({ min: 0, max: 10 }),
    payload: fc.uint8Array({ maxLength: 1400 }),
  })
  .map((r) => {
    const ihl = 20 + 4 * r.words;
    const p = new Uint8Array(ihl + r.payload.length);
    writeIpv4Header(p, 0, r.tos, p.length, r.id, r.df, r.ttl, r.protocol, r.src, r.dst);
    p[0] = 0x40 | (ihl >>> 2);
    for (let i = 20; i < ihl; i++) p[i] = 1; // NOP options
    p.set(r.payload, ihl);
    p[10] = p[11] = 0;
    const sum = internetChecksum(p, 0, ihl);
    p[10] = sum >>> 8;
    p[11] = sum;
    return p;
  });

/** An IPv6 packet: any traffic class, flow label, next header and hop limit, payload length right. */
export const ipv6Inner: fc.Arbitrary<Uint8Array> = fc
  .record({
    tc: u8,
    flow: fc.integer({ min: 0, max: 0xfffff }),
    next: u8,
    hop: u8,
    src: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    payload: fc.uint8Array({ maxLength: 1400 }),
  })
  .map((r) => {
    const p = new Uint8Array(40 + r.payload.length);
    p[0] = 0x60 | (r.tc >>> 4);
    p[1] = ((r.tc & 0x0f) << 4) | (r.flow >>> 16);
    p[2] = r.flow >>> 8;
    p[3] = r.flow;
    p[4] = r.payload.length >>> 8;
    p[5] = r.payload.length;
    p[6] = r.next;
    p[7] = r.hop;
    p.set(r.src, 8);
    p.set(r.dst, 24);
    p.set(r.payload, 40);
    return p;
  });

/** Inner packets a mode carries: IPv4 for ipip, IPv6 for sit, either for gre. */
export function innerFor(mode: CarriedMode): fc.Arbitrary<Uint8Array> {
  if (mode === 'ipip') return ipv4Inner;
  if (mode === 'sit') return ipv6Inner;
  return fc.oneof(ipv4Inner, ipv6Inner);
}

/** Junk from the device: anything at all, IPv4/IPv6-looking starts, cut headers. */
export const deviceJunk: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.tuple(fc.constantFrom(0x45, 0x4f, 0x60, 0x40, 0x6f), fc.uint8Array({ maxLength: 60 })).map(([first, rest]) => Uint8Array.of(first, ...rest)),
);

// ---------------------------------------------------------------------------------------------------
// Buffers and outer packets

export const FILL = 0xa5;

/** The packet at HEADROOM in a buffer filled with FILL, with `tail` spare bytes after it. */
export function place(packet: Uint8Array, tail = 16): { bytes: Buffer; start: number; length: number } {
  const bytes = Buffer.alloc(HEADROOM + packet.length + tail, FILL);
  bytes.set(packet, HEADROOM);
  return { bytes, start: HEADROOM, length: packet.length };
}

/** The outer packet `t` sends for `inner`, or the drop it gives. Advances t's sequence number. */
export function encapsulateOnce(t: Tunnel, inner: Uint8Array): Uint8Array | DropReason {
  const { bytes, start, length } = place(inner);
  const out = newEncapResult();
  const reason = ENCAPSULATE[t.params.mode as CarriedMode](t, bytes, start, length, out);
  if (reason !== null) return reason;
  // A copy that is a plain Uint8Array: Buffer#slice would share memory with `bytes`.
  return new Uint8Array(bytes.subarray(out.start, out.start + out.length));
}

/** An outer IPv4 packet around any payload, with a valid header. */
export function outerPacket(protocol: number, src: number, dst: number, payload: Uint8Array, tos = 0, ttl = 64): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  writeIpv4Header(p, 0, tos, p.length, 0, true, ttl, protocol, src, dst);
  p.set(payload, 20);
  return p;
}

/** A GRE packet with any flags word (version and routing bits too), fields and payload. */
export const greAnyHeader = fc
  .record({
    flags: fc.oneof(fc.constantFrom(0, GRE_KEY, GRE_CSUM, GRE_SEQ, GRE_CSUM | GRE_KEY | GRE_SEQ), u16),
    protocolType: fc.oneof(fc.constantFrom(0x0800, 0x86dd, 0x6558, 0x883e, 0x8847), u16),
    key: fc.oneof(u32, fc.constantFrom(0, 42)),
    sequence: u32,
    fixChecksum: fc.boolean(),
  })
  .chain((h) =>
    fc.oneof(ipv4Inner, ipv6Inner, fc.uint8Array({ maxLength: 80 })).map((payload) => {
      const header = new Uint8Array(16);
      const n = writeGreHeader(header, 0, h.flags, h.protocolType, h.key, h.sequence);
      const gre = new Uint8Array(n + payload.length);
      gre.set(header.subarray(0, n));
      gre.set(payload, n);
      if (h.fixChecksum && (h.flags & GRE_CSUM) !== 0 && gre.length >= 8) fillGreChecksum(gre, 0, gre.length);
      return gre;
    }),
  );

// ---------------------------------------------------------------------------------------------------
// Mutations

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'extend'; bytes: Uint8Array };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(2000), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(2000), value: u8 }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(2000) }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
);

/** Applies mutations (positions taken modulo the length), on a copy. */
export function mutate(packet: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let p = packet.slice();
  for (const m of mutations) {
    if (m.kind === 'extend') {
      const q = new Uint8Array(p.length + m.bytes.length);
      q.set(p);
      q.set(m.bytes, p.length);
      p = q;
    } else if (p.length > 0) {
      const at = m.at % p.length;
      if (m.kind === 'flip') p[at] ^= 1 << m.bit;
      else if (m.kind === 'set') p[at] = m.value;
      else p = p.slice(0, at);
    }
  }
  return p;
}

/**
 * What the kernel's ip_rcv insists on before a raw socket sees a packet, imposed on a mutated one:
 * version 4, IHL at least 5 and within the packet, total length equal to the bytes, header checksum
 * right. Packets shorter than 20 bytes are returned unchanged (the kernel would drop them).
 */
export function fixOuter(packet: Uint8Array): Uint8Array {
  if (packet.length < 20) return packet;
  const p = packet.slice();
  let ihl = (p[0] & 0x0f) << 2;
  if (ihl < 20 || ihl > p.length) ihl = 20;
  p[0] = 0x40 | (ihl >>> 2);
  p[2] = p.length >>> 8;
  p[3] = p.length;
  p[10] = p[11] = 0;
  const sum = internetChecksum(p, 0, ihl);
  p[10] = sum >>> 8;
  p[11] = sum;
  return p;
}

/** Recomputes the GRE checksum of an outer GRE packet whose C bit is set (so a mutation gets past it). */
export function fixGreChecksum(packet: Uint8Array): Uint8Array {
  if (packet.length < 20) return packet;
  const ihl = (packet[0] & 0x0f) << 2;
  if (ihl < 20 || packet.length < ihl + 8 || (packet[ihl] & 0x80) === 0) return packet;
  const p = packet.slice();
  fillGreChecksum(p, ihl, p.length - ihl);
  return p;
}

/** Sets the outer TOS byte and repairs the header checksum (what a router marking CE does). */
export function setOuterTos(packet: Uint8Array, tos: number): void {
  packet[1] = tos;
  packet[10] = packet[11] = 0;
  const ihl = (packet[0] & 0x0f) << 2;
  const sum = internetChecksum(packet, 0, ihl);
  packet[10] = sum >>> 8;
  packet[11] = sum;
}

// ---------------------------------------------------------------------------------------------------
// Receiving tables and what arrives at them

export interface ReceiverSpec {
  s: Settings;
  up: boolean;
  local: number;
  remote: number;
}

/** `usual` four times in five, else one of `others`. */
export const mostly = <T>(usual: T, ...others: T[]): fc.Arbitrary<T> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
/** A table of 1..4 receivers: peers of random senders, some down, some with other addresses. */
export const receivers: fc.Arbitrary<ReceiverSpec[]> = fc.array(
  fc.record({ s: settings, up: mostly(true, false), local: mostly(RIGHT, 0), remote: mostly(LEFT, 0, 0xcb007101) }),
  { minLength: 1, maxLength: 4 },
);

/** A packet for the receive socket of `mode`'s protocol. */
export interface OuterInput {
  mode: CarriedMode;
  packet: Uint8Array;
}

/** Outer packets: a peer's, mutated or not, fixed up or not; crafted GRE; raw bytes. */
export const outerInput = (rx: readonly { s: Settings }[]): fc.Arbitrary<OuterInput> =>
  fc.oneof(
    { weight: 4, arbitrary: fc
      .record({
        pick: fc.nat(rx.length - 1),
        other: settings,
        useOther: mostly(false, true),
        muts: fc.oneof(fc.constant([]), fc.array(mutation, { minLength: 1, maxLength: 3 })),
        fix: fc.constantFrom('none', 'outer', 'outer+gre'),
        ecn: fc.integer({ min: -1, max: 3 }),
        spoof: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: u32 }),
      })
      .chain((r) => {
        const s = r.useOther ? r.other : rx[r.pick].s;
        return innerFor(s.mode).map((inner) => {
          const sender = upTunnel(senderParams(s, 'tx', r.spoof ?? LEFT));
          const outer = encapsulateOnce(sender, inner);
          if (typeof outer === 'string') return { mode: s.mode, packet: inner };
          if (r.ecn >= 0) setOuterTos(outer, (outer[1] & ~3) | r.ecn);
          let p = mutate(outer, r.muts);
          if (r.fix !== 'none') p = fixOuter(p);
          if (r.fix === 'outer+gre') p = fixGreChecksum(p);
          return { mode: s.mode, packet: p };
        });
      }) },
    { weight: 2, arbitrary: fc
      .record({ gre: greAnyHeader, src: fc.constantFrom(LEFT, 0xcb007101), tos: fc.integer({ min: 0, max: 255 }) })
      .map((r) => ({ mode: 'gre' as CarriedMode, packet: outerPacket(47, r.src, RIGHT, r.gre, r.tos) })) },
    { weight: 1, arbitrary: fc
      .record({ mode: fc.constantFrom<CarriedMode>(...MODES), payload: fc.uint8Array({ maxLength: 120 }), src: fc.constantFrom(LEFT, 0xcb007101) })
      .map((r) => ({ mode: r.mode, packet: outerPacket(PROTOCOL[r.mode], r.src, RIGHT, r.payload) })) },
    { weight: 1, arbitrary: fc.record({ mode: fc.constantFrom<CarriedMode>(...MODES), packet: fc.uint8Array({ maxLength: 200 }) }) },
  );

