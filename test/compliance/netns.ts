/**
 * Namespaces, devices and packets for the port compliance tests (not a test file itself).
 *
 * Every namespace is named `bwio-<pid>-<n>` so that parallel work on this machine never collides, and
 * is deleted by `Namespaces.destroy()` (from each test's finally block) and, for anything a crash
 * left behind, by `sweep()` in the files' `after` hooks. Sockets and TUN devices are opened inside a
 * namespace by moving Node's main thread there for the duration of one synchronous call (inNetns).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { inNetns, nativeAvailable } from '../../src/io/native/index.js';
import { internetChecksum } from '../../src/wire/checksum.js';

export const PREFIX = `bwio-${process.pid}-`;

/** Why root tests cannot run here, or undefined when they can. */
export function rootSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: creates network namespaces, TUN devices and raw sockets';
  if (!fs.existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  if (!nativeAvailable()) return 'needs the native addon: run npm install';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  return undefined;
}

export function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? '').trim()}`);
  }
}

let counter = 0;

/** The namespaces of one test; `destroy()` removes them all (idempotent). */
export class Namespaces {
  readonly names: string[] = [];

  add(): string {
    const name = `${PREFIX}${counter++}`;
    ip('netns', 'add', name);
    this.names.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    // No IPv6 router solicitations or MLD reports in the TUN devices: only the test's packets move.
    sysctl(name, 'net.ipv6.conf.all.disable_ipv6', '1');
    sysctl(name, 'net.ipv6.conf.default.disable_ipv6', '1');
    return name;
  }

  destroy(): void {
    for (const name of this.names.splice(0)) deleteNetns(name);
  }
}

export function sysctl(ns: string, key: string, value: string): void {
  ip('netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`);
}

function deleteNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** Deletes every namespace this process made that is still there. */
export function sweep(): void {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    if (name.startsWith(PREFIX)) deleteNetns(name);
  }
}

/** Runs `fn` with the main thread inside namespace `ns`. */
export function inNs<T>(ns: string, fn: () => T): T {
  return inNetns(`/run/netns/${ns}`, fn);
}

export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

export function ipv4(text: string): number {
  return text.split('.').reduce((a, part) => a * 256 + Number(part), 0) >>> 0;
}

export interface Ipv4Fields {
  src: number;
  dst: number;
  protocol: number;
  ttl?: number;
  id?: number;
  dontFragment?: boolean;
}

/** An IPv4 packet (20-byte header, correct length and checksum) around `payload`. */
export function ipv4Packet(fields: Ipv4Fields, payload: Uint8Array): Buffer {
  const p = Buffer.alloc(20 + payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(fields.id ?? 0, 4);
  p.writeUInt16BE(fields.dontFragment ? 0x4000 : 0, 6);
  p[8] = fields.ttl ?? 64;
  p[9] = fields.protocol;
  p.writeUInt32BE(fields.src, 12);
  p.writeUInt32BE(fields.dst, 16);
  p.writeUInt16BE(internetChecksum(p, 0, 20), 10);
  p.set(payload, 20);
  return p;
}

/** What a router makes of an IPv4 packet it forwards: TTL one less, header checksum updated. */
export function forwarded(packet: Buffer): Buffer {
  const p = Buffer.from(packet);
  p[8] -= 1;
  p.writeUInt16BE(0, 10);
  p.writeUInt16BE(internetChecksum(p, 0, 20), 10);
  return p;
}

/** `length` bytes that differ for every `seq` (so a reordered or repeated packet shows). */
export function pattern(seq: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (seq * 131 + i * 7) & 0xff;
  if (length >= 4) b.writeUInt32BE(seq >>> 0, 0);
  return b;
}
