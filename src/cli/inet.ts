/**
 * Numbers and addresses as iproute2 reads and writes them (lib/utils.c over glibc).
 *
 * iproute2 parses with C's `strtoul`, so its quirks are the grammar: leading blanks and a sign are
 * accepted, base 0 means `0x..` hex / `0..` octal / decimal, `-1` wraps to ULONG_MAX (and is then out of
 * range). IPv4 addresses use its own legacy reader (`get_addr_ipv4`), not inet_aton: one to four parts,
 * each 0..255 in any C base, missing parts are zero (`10.8` is 10.8.0.0). IPv6 goes through glibc's
 * strict `inet_pton`. Inside burrow IPv4 addresses are host-order u32 (conventions.md).
 */
import { addressExpected, prefixExpected } from './usage-errors.js';

const ULONG_MAX = (1n << 64n) - 1n;
const UINT_MAX = 0xffff_ffff;

/** C's isspace() in the "C" locale. */
export function isCSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

function digitValue(ch: string | undefined): number {
  if (ch === undefined) return 99;
  const c = ch.charCodeAt(0);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  if (c >= 65 && c <= 90) return c - 55;
  return 99;
}

export interface StrtoulResult {
  /** The value as strtoul returns it (negatives wrapped modulo 2^64, ULONG_MAX on overflow). */
  value: bigint;
  /** Index of the first character not converted; `start` when nothing was converted. */
  end: number;
  /** ERANGE. */
  overflow: boolean;
}

/** glibc `strtoul(s + start, &end, base)` for base 0, 8, 10 or 16. */
export function strtoul(s: string, base: 0 | 8 | 10 | 16, start = 0): StrtoulResult {
  let i = start;
  while (isCSpace(s[i])) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let radix = base;
  if ((radix === 0 || radix === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s[i + 2]) < 16) {
    radix = 16;
    i += 2;
  } else if (radix === 0) {
    radix = s[i] === '0' ? 8 : 10;
  }
  const digitsStart = i;
  let value = 0n;
  let overflow = false;
  while (digitValue(s[i]) < radix) {
    value = value * BigInt(radix) + BigInt(digitValue(s[i]));
    if (value > ULONG_MAX) overflow = true;
    i++;
  }
  if (i === digitsStart) return { value: 0n, end: start, overflow: false };
  if (overflow) return { value: ULONG_MAX, end: i, overflow: true };
  if (negative) value = (ULONG_MAX + 1n - value) & ULONG_MAX;
  return { value, end: i, overflow: false };
}

/** `get_unsigned()`: the whole string as an unsigned int, or undefined. */
export function getUnsigned(arg: string, base: 0 | 10 | 16 = 0): number | undefined {
  if (arg.length === 0) return undefined;
  const r = strtoul(arg, base);
  if (r.end === 0 || r.end !== arg.length || r.overflow || r.value > BigInt(UINT_MAX)) return undefined;
  return Number(r.value);
}

/** `get_u8()`: the whole string as 0..255, or undefined. */
export function getU8(arg: string, base: 0 | 10 | 16 = 0): number | undefined {
  if (arg.length === 0) return undefined;
  const r = strtoul(arg, base);
  if (r.end === 0 || r.end !== arg.length || r.value > 0xffn) return undefined;
  return Number(r.value);
}

/** iproute2's `get_addr_ipv4()`: its legacy dotted form, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const bytes = [0, 0, 0, 0];
  let pos = 0;
  for (let i = 0; i < 4; i++) {
    const r = strtoul(text, 0, pos);
    if (r.value > 255n) return undefined;
    if (r.end === pos) return undefined;
    bytes[i] = Number(r.value);
    if (r.end === text.length) break;
    if (i === 3 || text[r.end] !== '.') return undefined;
    pos = r.end + 1;
  }
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/** The words `get_addr_1()` takes for the unspecified address. */
function isAnyWord(text: string): boolean {
  return text === 'any' || text === 'all' || text === 'default';
}

/** `get_addr32()`: an IPv4 address (or any/all/default = 0); throws iproute2's error (exit 1). */
export function getAddr32(text: string): number {
  if (isAnyWord(text)) return 0;
  // A ':' makes it IPv6 for get_addr_1, which the IPv4-only caller then refuses.
  const value = text.includes(':') ? undefined : parseIpv4(text);
  if (value === undefined) throw addressExpected(text);
  return value;
}

export function isMulticast(address: number): boolean {
  return (address & 0xf000_0000) >>> 0 === 0xe000_0000;
}

/** Dotted quad of a host-order address. */
export function formatIpv4(address: number): string {
  const a = address >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** glibc `inet_pton(AF_INET, ...)`, strict: four decimal parts, no leading zeros. */
function parseIpv4Strict(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part) || (part.length > 1 && part[0] === '0')) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** glibc `inet_pton(AF_INET6, ...)`: 16 bytes, or undefined (no zone ids, no leading/trailing junk). */
export function parseIpv6(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  // A dotted quad may only end the whole address: glibc hands the rest of the string to inet_pton4.
  const groupsOf = (part: string, last: boolean): number[] | undefined => {
    if (part === '') return [];
    const words = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (last && i === words.length - 1 && w.includes('.')) {
        const v4 = parseIpv4Strict(w);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
        out.push(parseInt(w, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1]!, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const words = halves.length === 2 ? head.length + tail.length : head.length;
  if (halves.length === 2 ? words > 7 : words !== 8) return undefined;
  const all = [...head, ...new Array<number>(8 - words).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = all[i]! >> 8;
    bytes[2 * i + 1] = all[i]! & 0xff;
  }
  return bytes;
}

/** glibc `inet_ntop(AF_INET6, ...)`: the longest run of two or more zero words becomes `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) end in a dotted quad.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** Number of leading one bits of a contiguous netmask, or -1 (`mask2bits`). */
function maskToBits(mask: number): number {
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return -1;
  let bits = 0;
  for (let m = mask >>> 0; m & 0x8000_0000; m = (m << 1) >>> 0) bits++;
  return bits;
}

export interface Ipv4Prefix {
  address: number;
  length: number;
}

export interface Ipv6Prefix {
  address: Uint8Array;
  length: number;
}

/** `get_netmask()`: a length, or a dotted netmask. */
function getNetmask(text: string): number | undefined {
  const n = getUnsigned(text, 0);
  if (n !== undefined) return n;
  const mask = isAnyWord(text) ? 0 : text.includes(':') ? undefined : parseIpv4(text);
  if (mask === undefined) return undefined;
  const bits = maskToBits(mask);
  return bits >= 0 ? bits : undefined;
}

/** `get_prefix(.., AF_INET)`: throws `inet prefix is expected` (exit 1). Without `/len` it is /32. */
export function getIpv4Prefix(text: string): Ipv4Prefix {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const fail = () => prefixExpected('inet', text);
  let address: number;
  let length = 32;
  if (isAnyWord(addressText)) {
    if (slash >= 0) throw fail();
    return { address: 0, length: 0 };
  }
  const parsed = addressText.includes(':') ? undefined : parseIpv4(addressText);
  if (parsed === undefined) throw fail();
  address = parsed;
  if (slash >= 0) {
    const plen = getNetmask(text.slice(slash + 1));
    if (plen === undefined || plen > 32) throw fail();
    length = plen;
  }
  return { address, length };
}

/** `get_prefix(.., AF_INET6)`: throws `inet6 prefix is expected` (exit 1). Without `/len` it is /128. */
export function getIpv6Prefix(text: string): Ipv6Prefix {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const fail = () => prefixExpected('inet6', text);
  if (isAnyWord(addressText)) {
    if (slash >= 0) throw fail();
    return { address: new Uint8Array(16), length: 0 };
  }
  // get_addr_1 treats a word without ':' as IPv4, which the inet6 caller refuses.
  const parsed = addressText.includes(':') ? parseIpv6(addressText) : undefined;
  if (parsed === undefined) throw fail();
  let length = 128;
  if (slash >= 0) {
    const plen = getNetmask(text.slice(slash + 1));
    if (plen === undefined || plen > 128) throw fail();
    length = plen;
  }
  return { address: parsed, length };
}
