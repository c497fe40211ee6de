/**
 * Just enough packet code for the interop tests to make and read packets by hand: the oracle side
 * must not share code with burrow's own codecs (src/wire/), or both could agree on the same mistake.
 * Also: sending raw IP packets from a host namespace (perl, which Debian always has) and capturing
 * on a host interface (tcpdump writing pcap to a pipe).
 */
import { spawn, execFileSync } from 'node:child_process';
import { registerCleanup } from './cleanup.js';

/** RFC 1071 Internet checksum of `b`. */
export function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

export function ipv4String(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** IPv4 header (20 bytes, no options) in front of `payload`. */
export function ipv4(o: { src: string; dst: string; protocol: number; ttl?: number; tos?: number; id?: number; df?: boolean }, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(o.df ? 0x4000 : 0, 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.protocol;
  ipv4Bytes(o.src).copy(h, 12);
  ipv4Bytes(o.dst).copy(h, 16);
  h.writeUInt16BE(inetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

/** ICMP echo request (type 8) or reply (0). */
export function icmpEcho(type: 0 | 8, id: number, seq: number, data: Buffer): Buffer {
  const m = Buffer.alloc(8 + data.length);
  m[0] = type;
  m.writeUInt16BE(id, 4);
  m.writeUInt16BE(seq, 6);
  data.copy(m, 8);
  m.writeUInt16BE(inetChecksum(m), 2);
  return m;
}

/** GRE header (RFC 2784, RFC 2890) in front of `payload`, optional checksum, key and sequence. */
export function gre(o: { key?: number; seq?: number; csum?: boolean; protocol?: number }, payload: Buffer): Buffer {
  const len = 4 + (o.csum ? 4 : 0) + (o.key !== undefined ? 4 : 0) + (o.seq !== undefined ? 4 : 0);
  const h = Buffer.alloc(len);
  h.writeUInt16BE((o.csum ? 0x8000 : 0) | (o.key !== undefined ? 0x2000 : 0) | (o.seq !== undefined ? 0x1000 : 0), 0);
  h.writeUInt16BE(o.protocol ?? 0x0800, 2);
  let off = o.csum ? 8 : 4;
  if (o.key !== undefined) {
    h.writeUInt32BE(o.key >>> 0, off);
    off += 4;
  }
  if (o.seq !== undefined) h.writeUInt32BE(o.seq >>> 0, off);
  const out = Buffer.concat([h, payload]);
  if (o.csum) out.writeUInt16BE(inetChecksum(out), 4);
  return out;
}

export interface GreView {
  flags: number;
  protocol: number;
  checksum?: number;
  key?: number;
  seq?: number;
  payload: Buffer;
}

export function parseGre(b: Buffer): GreView {
  const flags = b.readUInt16BE(0);
  const v: GreView = { flags, protocol: b.readUInt16BE(2), payload: b };
  let off = 4;
  if (flags & 0x8000) {
    v.checksum = b.readUInt16BE(4);
    off += 4;
  }
  if (flags & 0x2000) {
    v.key = b.readUInt32BE(off);
    off += 4;
  }
  if (flags & 0x1000) {
    v.seq = b.readUInt32BE(off);
    off += 4;
  }
  v.payload = b.subarray(off);
  return v;
}

export interface Ipv4View {
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  ttl: number;
  protocol: number;
  checksumOk: boolean;
  src: string;
  dst: string;
  payload: Buffer;
}

export function parseIpv4(b: Buffer): Ipv4View {
  const ihl = (b[0] & 0x0f) * 4;
  const totalLength = b.readUInt16BE(2);
  return {
    tos: b[1],
    totalLength,
    id: b.readUInt16BE(4),
    df: (b.readUInt16BE(6) & 0x4000) !== 0,
    ttl: b[8],
    protocol: b[9],
    checksumOk: inetChecksum(b.subarray(0, ihl)) === 0,
    src: ipv4String(b, 12),
    dst: ipv4String(b, 16),
    payload: b.subarray(ihl, totalLength),
  };
}

export interface Ipv6View {
  trafficClass: number;
  hopLimit: number;
  nextHeader: number;
  src: string;
  dst: string;
  payload: Buffer;
}

/** The fixed IPv6 header (addresses in full, lowercase, not compressed). */
export function parseIpv6(b: Buffer): Ipv6View {
  const word = b.readUInt32BE(0);
  const addr = (off: number) =>
    Array.from({ length: 8 }, (_, i) => b.readUInt16BE(off + 2 * i).toString(16)).join(':');
  return {
    trafficClass: (word >>> 20) & 0xff,
    hopLimit: b[7],
    nextHeader: b[6],
    src: addr(8),
    dst: addr(24),
    payload: b.subarray(40, 40 + b.readUInt16BE(4)),
  };
}

/**
 * Sends `payload` from namespace `netns` to `dst` over a raw IPv4 socket of `protocol`; the kernel
 * adds the outer IPv4 header (source from the route, TTL 64, DF set).
 */
export function sendRaw(netns: string, protocol: number, dst: string, payload: Buffer): void {
  const perl =
    'use Socket; socket(my $s, PF_INET, SOCK_RAW, $ARGV[0]) or die "socket: $!"; ' +
    'send($s, pack("H*", $ARGV[1]), 0, pack_sockaddr_in(0, inet_aton($ARGV[2]))) or die "send: $!";';
  execFileSync('ip', ['netns', 'exec', netns, 'perl', '-e', perl, String(protocol), payload.toString('hex'), dst], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** A tcpdump on a host interface writing pcap to us; `packets()` waits for it to end. */
export interface HostCapture {
  /** Ends the capture (SIGINT) and returns the frames seen so far. */
  stop(): Promise<Buffer[]>;
  /** Waits until `count` frames were captured (tcpdump -c), or `timeoutMs`. */
  packets(timeoutMs?: number): Promise<Buffer[]>;
}

/** Starts tcpdump in `netns` on `ifname` with a filter; resolves once it is listening. */
export async function captureOnHost(netns: string, ifname: string, filter: string, count: number): Promise<HostCapture> {
  const child = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-i', ifname, '-U', '-w', '-', '-c', String(count), filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  const forget = registerCleanup(`tcpdump pid ${pid}`, () => {
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  ended.then(forget);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited ${code}: ${stderr}`));
    });
  });
  const frames = () => parsePcap(Buffer.concat(chunks));
  return {
    async stop() {
      child.kill('SIGINT');
      await ended;
      return frames();
    },
    async packets(timeoutMs = 15_000) {
      const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
      await ended;
      clearTimeout(timer);
      return frames();
    },
  };
}

/** The frames of a pcap file (little-endian, microsecond or nanosecond stamps). */
export function parsePcap(b: Buffer): Buffer[] {
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`not a little-endian pcap: ${magic.toString(16)}`);
  const frames: Buffer[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const len = b.readUInt32LE(off + 8);
    if (off + 16 + len > b.length) break;
    frames.push(b.subarray(off + 16, off + 16 + len));
    off += 16 + len;
  }
  return frames;
}

/** The IPv4 packet inside an Ethernet frame, or null. */
export function ethernetIpv4(frame: Buffer): Buffer | null {
  return frame.length >= 34 && frame.readUInt16BE(12) === 0x0800 ? frame.subarray(14) : null;
}
