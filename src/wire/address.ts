/**
 * IPv4 and IPv6 addresses: the in-memory forms burrow uses (conventions.md), their text forms as
 * iproute2 prints and accepts them, prefixes, and the address classes the kernel's martian checks use.
 *
 * - IPv4: an unsigned 32-bit number in host order (`0xc0a80001` is 192.168.0.1), normalised with `>>> 0`.
 * - IPv6: 16 bytes in a `Uint8Array`, in network order; functions that read one inside a packet take
 *   an offset so the hot path never slices.
 * - Text (edge only, may allocate): exactly what glibc's inet_ntop prints and inet_pton accepts, since
 *   iproute2 uses those two for every address it shows or reads.
 */

// ---------------------------------------------------------------------------------------------------
// IPv4

/** Dotted quad, as inet_ntop prints it. */
export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/**
 * Strict dotted quad (inet_pton's rules): exactly four decimal parts, each 0..255 with no leading
 * zero, nothing else (no spaces, no `127.1`, no octal `0177.0.0.1`, no hex). `null` otherwise.
 */
export function parseIpv4Dotted(text: string): number | null {
  return parseIpv4Range(text, 0, text.length);
}

function parseIpv4Range(text: string, start: number, end: number): number | null {
  let address = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return null; // leading zero
      part = part * 10 + (c - 0x30);
      if (part > 255) return null;
      digits++;
    } else if (c === 0x2e) {
      if (digits === 0 || parts === 3) return null;
      address = address * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  if (digits === 0 || parts !== 3) return null;
  return (address * 256 + part) >>> 0;
}

/** Reads 4 bytes in network order at `offset` as a host-order number. The caller checks the bounds. */
export function readIpv4(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

/** Writes a host-order IPv4 address as 4 bytes in network order at `offset`. */
export function writeIpv4(bytes: Uint8Array, offset: number, address: number): void {
  bytes[offset] = address >>> 24;
  bytes[offset + 1] = address >>> 16;
  bytes[offset + 2] = address >>> 8;
  bytes[offset + 3] = address;
}

/** Netmask of a prefix length 0..32 (`24` → 0xffffff00). */
export function ipv4PrefixMask(prefixLength: number): number {
  return prefixLength <= 0 ? 0 : prefixLength >= 32 ? 0xffffffff : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Whether `address` lies in `prefix/prefixLength`; bits of `prefix` beyond the length are ignored. */
export function ipv4InPrefix(address: number, prefix: number, prefixLength: number): boolean {
  return ((address ^ prefix) & ipv4PrefixMask(prefixLength)) === 0;
}

/** 224.0.0.0/4 (ipv4_is_multicast). */
export function isMulticastIpv4(address: number): boolean {
  return address >>> 28 === 0xe;
}

/** The limited broadcast 255.255.255.255 (ipv4_is_lbcast). */
export function isBroadcastIpv4(address: number): boolean {
  return address >>> 0 === 0xffffffff;
}

/** 0.0.0.0/8, "this network" (ipv4_is_zeronet). */
export function isZeronetIpv4(address: number): boolean {
  return address >>> 24 === 0;
}

/** 127.0.0.0/8 (ipv4_is_loopback). */
export function isLoopbackIpv4(address: number): boolean {
  return address >>> 24 === 127;
}

/** 169.254.0.0/16 (ipv4_is_linklocal_169). */
export function isLinkLocalIpv4(address: number): boolean {
  return address >>> 16 === 0xa9fe;
}

/** RFC 1918: 10/8, 172.16/12, 192.168/16 (ipv4_is_private_10/172/192). */
export function isPrivateIpv4(address: number): boolean {
  return address >>> 24 === 10 || address >>> 20 === 0xac1 || address >>> 16 === 0xc0a8;
}

// ---------------------------------------------------------------------------------------------------
// IPv6

/**
 * Text form exactly as glibc's inet_ntop (and so `ip`) prints it: lowercase hex without leading zeros;
 * the longest run of two or more zero groups (the first of equal runs) becomes `::` (RFC 5952 4.2);
 * and, unlike RFC 5952, the last 32 bits in dotted decimal when the first 96 bits are zero and the
 * seventh group is not (`::1.2.3.4`, but `::1` and `::102` stay hex) or the address is IPv4-mapped
 * (`::ffff:1.2.3.4`).
 */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  // Longest run of zero groups.
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = bytes[offset + 2 * g] === 0 && bytes[offset + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      const runLength = g - runStart + 1;
      if (runLength > bestLength) {
        bestStart = runStart;
        bestLength = runLength;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLength < 2) bestStart = -1;
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (bestStart >= 0 && g >= bestStart && g < bestStart + bestLength) {
      if (g === bestStart) text += ':';
      continue;
    }
    if (g > 0) text += ':';
    // Embedded IPv4, printed the way inet_ntop's IPv4-compatible/-mapped test decides.
    if (
      g === 6 &&
      bestStart === 0 &&
      (bestLength === 6 ||
        (bestLength === 5 && bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff))
    ) {
      text += `${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
      return text;
    }
    text += ((bytes[offset + 2 * g] << 8) | bytes[offset + 2 * g + 1]).toString(16);
  }
  if (bestStart >= 0 && bestStart + bestLength === 8) text += ':';
  return text;
}

/**
 * Any RFC 4291 section 2.2 text form, with inet_pton's rules: groups of 1-4 hex digits (either case),
 * at most one `::` standing for at least one zero group, an optional dotted quad (strict, as
 * `parseIpv4Dotted`) as the last 32 bits. No zone index, no brackets, no prefix length, no spaces.
 * Returns 16 new bytes, or `null`.
 */
export function parseIpv6(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  if (gap < 0) {
    return parseGroups(text, 0, text.length, out, 0, true) === 16 ? out : null;
  }
  const headBytes = gap === 0 ? 0 : parseGroups(text, 0, gap, out, 0, false);
  if (headBytes < 0) return null;
  const tail = new Uint8Array(16);
  const tailBytes = gap + 2 === text.length ? 0 : parseGroups(text, gap + 2, text.length, tail, 0, true);
  if (tailBytes < 0) return null;
  // `::` stands for at least one group.
  if (headBytes + tailBytes > 14) return null;
  out.set(tail.subarray(0, tailBytes), 16 - tailBytes);
  return out;
}

/**
 * Parses `group(:group)*` from text[start, end) into out[at..], at most 16 bytes; the last group may be a
 * dotted quad when `allowIpv4` is set. Returns the number of bytes written, or -1.
 */
function parseGroups(text: string, start: number, end: number, out: Uint8Array, at: number, allowIpv4: boolean): number {
  let written = at;
  let groupStart = start;
  for (let i = start; i <= end; i++) {
    if (i < end && text.charCodeAt(i) !== 0x3a) continue;
    // A group is text[groupStart, i).
    const length = i - groupStart;
    if (length === 0) return -1;
    if (i === end && allowIpv4 && text.indexOf('.', groupStart) >= 0 && text.indexOf('.', groupStart) < end) {
      const v4 = parseIpv4Range(text, groupStart, end);
      if (v4 === null || written + 4 > 16) return -1;
      writeIpv4(out, written, v4);
      return written + 4 - at;
    }
    if (length > 4 || written + 2 > 16) return -1;
    let value = 0;
    for (let j = groupStart; j < i; j++) {
      const d = hexDigit(text.charCodeAt(j));
      if (d < 0) return -1;
      value = (value << 4) | d;
    }
    out[written] = value >>> 8;
    out[written + 1] = value;
    written += 2;
    groupStart = i + 1;
  }
  return written - at;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** A 16-byte netmask of a prefix length 0..128. */
export function ipv6PrefixMask(prefixLength: number): Uint8Array {
  const mask = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = prefixLength - 8 * i;
    mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff00 >>> bits) & 0xff;
  }
  return mask;
}

/**
 * Whether the address at `address[addressOffset..+16)` lies in `prefix/prefixLength` (prefix read at
 * `prefixOffset`); bits of the prefix beyond its length are ignored. No allocation.
 */
export function ipv6InPrefix(
  address: Uint8Array,
  prefix: Uint8Array,
  prefixLength: number,
  addressOffset = 0,
  prefixOffset = 0,
): boolean {
  let bits = prefixLength > 128 ? 128 : prefixLength;
  let i = 0;
  for (; bits >= 8; i++, bits -= 8) {
    if (address[addressOffset + i] !== prefix[prefixOffset + i]) return false;
  }
  if (bits <= 0) return true;
  const mask = (0xff00 >>> bits) & 0xff;
  return ((address[addressOffset + i] ^ prefix[prefixOffset + i]) & mask) === 0;
}

/** Whether two 16-byte addresses are equal. */
export function ipv6Equal(a: Uint8Array, b: Uint8Array, aOffset = 0, bOffset = 0): boolean {
  for (let i = 0; i < 16; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}

/** ff00::/8. */
export function isMulticastIpv6(bytes: Uint8Array, offset = 0): boolean {
  return bytes[offset] === 0xff;
}

/** fe80::/10. */
export function isLinkLocalIpv6(bytes: Uint8Array, offset = 0): boolean {
  return bytes[offset] === 0xfe && (bytes[offset + 1] & 0xc0) === 0x80;
}

/** :: */
export function isUnspecifiedIpv6(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 16; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

/** ::1 */
export function isLoopbackIpv6(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 15; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 15] === 1;
}

/** ::ffff:0:0/96, an IPv4-mapped address. */
export function isV4MappedIpv6(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}
