/**
 * IPv4 fragmentation (RFC 791 section 3.2, RFC 815's 8-byte units), as the kernel's ip_do_fragment
 * cuts a packet that is larger than the route MTU and may be fragmented (DF clear):
 *
 * - every fragment carries the header, then as much payload as fits `mtu`, a multiple of 8 bytes in all
 *   but the last fragment;
 * - offsets count 8-byte units from the start of the original payload (a fragment cut again keeps its
 *   place: offsets add up); MF is set on all but the last, which keeps the original MF;
 * - the first fragment keeps every option; the later ones keep the options whose copied bit (0x80) is
 *   set, the others are overwritten with NOPs so that every header has the same length
 *   (ip_options_fragment);
 * - the ID, TOS, TTL, protocol and addresses are the original's; the checksum is recomputed.
 *
 * The caller gives the ID: a raw socket picks an ID only for a packet whose ID is 0, per packet, which
 * would tear a datagram's fragments apart.
 */
import { ipv4SetFragmentFieldsUnchecked } from './ipv4.js';

const OPTION_END = 0;
const OPTION_NOP = 1;
const OPTION_COPIED = 0x80;

/**
 * How many fragments `fragmentIpv4` makes of a packet of `length` bytes with a header of
 * `headerLength` bytes for `mtu`, or 0 when it cannot (not even 8 bytes of payload fit).
 */
export function ipv4FragmentCount(length: number, headerLength: number, mtu: number): number {
  const room = (mtu - headerLength) & ~7;
  if (room < 8) return 0;
  const payload = length - headerLength;
  return payload <= 0 ? 1 : Math.ceil(payload / room);
}

/**
 * Cuts the IPv4 packet at `bytes[start .. start+length)` (header checked by the caller; `length` is its
 * total length) into fragments of at most `mtu` bytes, written one after another into `out` from
 * `at`, with the given `id`. Each fragment's offset in `out` and length go into `offsets[first + k]`
 * and `lengths[first + k]`. Returns the number of fragments, or 0 when they do not fit: fewer than 8
 * bytes of payload per fragment, more than `max` fragments, or `out` too short. Nothing is allocated.
 */
export function fragmentIpv4(
  bytes: Uint8Array,
  start: number,
  length: number,
  mtu: number,
  id: number,
  out: Uint8Array,
  at: number,
  offsets: Uint32Array,
  lengths: Uint32Array,
  first: number,
  max: number,
): number {
  const headerLength = (bytes[start] & 0x0f) << 2;
  const count = ipv4FragmentCount(length, headerLength, mtu);
  if (count === 0 || count > max) return 0;
  const room = (mtu - headerLength) & ~7;
  const payload = length - headerLength;
  if (at + payload + count * headerLength > out.length) return 0;
  const word = (bytes[start + 6] << 8) | bytes[start + 7];
  const baseUnits = word & 0x1fff;
  const originalMf = word & 0x2000;
  const keptFlags = word & 0x8000; // the reserved bit travels; DF is clear (else no fragmenting)
  let done = 0;
  for (let k = 0; k < count; k++) {
    const size = Math.min(room, payload - done);
    const last = k === count - 1;
    const f = at;
    out.set(bytes.subarray(start, start + headerLength), f);
    if (k > 0) nopUncopiedOptions(out, f, headerLength);
    out.set(bytes.subarray(start + headerLength + done, start + headerLength + done + size), f + headerLength);
    const total = headerLength + size;
    const flags = keptFlags | (last ? originalMf : 0x2000) | ((baseUnits + (done >>> 3)) & 0x1fff);
    ipv4SetFragmentFieldsUnchecked(out, f, headerLength, total, id, flags);
    offsets[first + k] = f;
    lengths[first + k] = total;
    at += total;
    done += size;
  }
  return count;
}

/** Overwrites the options without the copied bit with NOPs, in the header at `out[f]` (ip_options_fragment). */
function nopUncopiedOptions(out: Uint8Array, f: number, headerLength: number): void {
  let i = f + 20;
  const end = f + headerLength;
  while (i < end) {
    const type = out[i];
    if (type === OPTION_END) return;
    if (type === OPTION_NOP) {
      i++;
      continue;
    }
    const size = i + 1 < end ? out[i + 1] : 0;
    // A malformed length ends the walk, as in the kernel (which would not have accepted the packet).
    if (size < 2 || i + size > end) return;
    if ((type & OPTION_COPIED) === 0) out.fill(OPTION_NOP, i, i + size);
    i += size;
  }
}
