/** Builders shared by tunnel/ tests: parameters from a few fields, addresses from text, packets. */
import { internetChecksum } from '../wire/checksum.js';
import { defaultTunnelParams, type TunnelParams } from './params.js';
import { Tunnel } from './tunnel.js';

export function ip(text: string): number {
  const parts = text.split('.').map(Number);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function params(fields: Partial<TunnelParams> & { name: string }): TunnelParams {
  return { ...defaultTunnelParams(), ...fields };
}

export function upTunnel(fields: Partial<TunnelParams> & { name: string }): Tunnel {
  const t = new Tunnel(params(fields));
  t.up = true;
  return t;
}

/**
 * An ICMP echo request as a kernel would send it, placed at `start` of a fresh buffer with room in
 * front for outer headers. `mutate` may change any byte before the IPv4 checksum is filled in.
 */
export function ipv4Echo(
  src: string,
  dst: string,
  options: { ttl?: number; tos?: number; df?: boolean; payload?: number; start?: number } = {},
): { bytes: Buffer; start: number; length: number } {
  const start = options.start ?? 64;
  const payload = options.payload ?? 56;
  const length = 20 + 8 + payload;
  const bytes = Buffer.alloc(start + length + 16);
  const p = bytes.subarray(start);
  p[0] = 0x45;
  p[1] = options.tos ?? 0;
  p.writeUInt16BE(length, 2);
  p.writeUInt16BE(0x1234, 4);
  p.writeUInt16BE(options.df === false ? 0 : 0x4000, 6);
  p[8] = options.ttl ?? 64;
  p[9] = 1;
  p.writeUInt32BE(ip(src), 12);
  p.writeUInt32BE(ip(dst), 16);
  p.writeUInt16BE(internetChecksum(p, 0, 20), 10);
  p[20] = 8;
  for (let i = 28; i < length; i++) p[i] = i & 0xff;
  p.writeUInt16BE(internetChecksum(p, 20, length - 20), 22);
  return { bytes, start, length };
}

/** An IPv6 packet (next header 59, no payload beyond `payload` zero bytes) at `start`. */
export function ipv6Packet(
  src: Uint8Array,
  dst: Uint8Array,
  options: { hopLimit?: number; trafficClass?: number; payload?: number; start?: number } = {},
): { bytes: Buffer; start: number; length: number } {
  const start = options.start ?? 64;
  const payload = options.payload ?? 16;
  const length = 40 + payload;
  const bytes = Buffer.alloc(start + length + 16);
  const p = bytes.subarray(start);
  const tc = options.trafficClass ?? 0;
  p.writeUInt32BE(((6 << 28) | (tc << 20)) >>> 0, 0);
  p.writeUInt16BE(payload, 4);
  p[6] = 59;
  p[7] = options.hopLimit ?? 64;
  p.set(src, 8);
  p.set(dst, 24);
  return { bytes, start, length };
}

/**
 * An Ethernet frame at `start` of a fresh buffer (room in front for outer headers): `dst` and `src`
 * MACs, EtherType, then `payload` (for IPv4 an echo request from `ipv4Echo`).
 */
export function ethernetFrame(
  dst: string,
  src: string,
  etherType: number,
  payload: Uint8Array,
  start = 64,
): { bytes: Buffer; start: number; length: number } {
  const length = 14 + payload.length;
  const bytes = Buffer.alloc(start + length + 16);
  const macs = [dst, src].flatMap((m) => m.split(':').map((h) => parseInt(h, 16)));
  bytes.set(macs, start);
  bytes.writeUInt16BE(etherType, start + 12);
  bytes.set(payload, start + 14);
  return { bytes, start, length };
}

/** An IPv4 echo request (see ipv4Echo) as a frame between two MACs. */
export function ipv4EchoFrame(
  dst: string,
  src: string,
  from: string,
  to: string,
  options: Parameters<typeof ipv4Echo>[2] = {},
): { bytes: Buffer; start: number; length: number } {
  const p = ipv4Echo(from, to, options);
  return ethernetFrame(dst, src, 0x0800, p.bytes.subarray(p.start, p.start + p.length));
}
