/**
 * burrow's wire codecs: pure functions and views over packet bytes. No I/O, no knowledge of tunnels.
 *
 * # The codec contract
 *
 * Every protocol has one file, and each file offers the same shape:
 *
 * - **A view**, `XView extends WireView` (view.ts), over `(bytes, offset, length)`: a `Uint8Array` (a
 *   `Buffer` is one) and the range that holds the packet. `reset(bytes, offset, length)` points it at the
 *   next packet, so one view object serves every packet of a loop and nothing is allocated per packet.
 *   Getters and setters read and write fields by name, in place.
 *
 * - **`check()`**, the single length gate. It returns `null` when the packet can be read, or one of a
 *   few malformation reasons (`truncated`, `bad-version`, `bad-checksum`, ...; each file lists its own
 *   and `Malformation` below is their union). Only after `null` may getters be trusted: reading past the
 *   end of a `Uint8Array` yields `undefined`, which bit operations quietly turn into 0, so a forgotten
 *   check gives wrong fields rather than a crash. `check()` therefore also tests everything a getter
 *   relies on (the header length the flags imply, the total length the header claims), and a view
 *   whose range runs past the end of its bytes is `truncated`. Checksummed headers are verified here;
 *   ICMPv6 and UDP take the pseudo-header sum as an argument because their checksum covers addresses
 *   that live in another layer.
 *
 * - **A record**, `XHeader` (or `ArpPacket`), plain data that tests, the CLI and logs can build and
 *   compare. `parseX(view)` runs `check()` and returns the record or the reason; it may allocate.
 *
 * - **`emitX(record, bytes, offset, ...)`** writes every byte of the header into the caller's buffer
 *   (nothing is left as it was, so a buffer full of 0xa5 comes out identical to a zeroed one) and
 *   returns the number of bytes written; `xHeaderLength(record)` tells that number in advance. Where a
 *   checksum covers the payload (ICMP, ICMPv6, UDP, GRE with C), the payload is written first, right
 *   behind where the header will go, and emit takes its length: encapsulation builds packets back to
 *   front anyway, inner packet first, outer headers prepended into headroom.
 *
 * - **Hot-path helpers** for what the tunnel modes do on every packet: `writeXHeader(bytes, offset,
 *   ...fields)` writes a header from numbers (no record), and `xFieldUnchecked(bytes, offset)` reads or
 *   patches one field of a packet whose length the caller has already checked (the `Unchecked` suffix,
 *   conventions.md). None of them allocates or creates closures.
 *
 * Conventions: offsets returned by getters (`payloadOffset`, `srcOffset`, ...) index `bytes`, not the
 * view, so the next layer is `next.reset(view.bytes, view.payloadOffset, view.payloadLength)`. IPv4
 * addresses are host-order unsigned 32-bit numbers; IPv6 and MAC addresses are byte arrays read in place
 * by offset (copies only from record-producing functions). Malformations are values, never exceptions;
 * `tunnel/drop.ts` maps them into its drop reasons. The only throw in wire/ is `emitIpv4Header` given
 * more than 40 bytes of options, a caller bug. Text (addresses, `describe`) belongs at the edges.
 *
 * Tests: beside each codec (`gre.test.ts`), the four smoltcp-style tests on captured or hand-built
 * fixtures from `test/fixtures/` plus a truncation sweep; properties in `test/fuzz/wire.test.ts`.
 */

import type { ArpMalformation } from './arp.js';
import type { EthernetMalformation } from './ethernet.js';
import type { GreMalformation } from './gre.js';
import type { IcmpMalformation } from './icmp.js';
import type { Icmpv6Malformation } from './icmpv6.js';
import type { Ipv4Malformation } from './ipv4.js';
import type { Ipv6Malformation } from './ipv6.js';
import type { UdpMalformation } from './udp.js';
import type { VxlanMalformation } from './vxlan.js';

/** Every reason a wire codec refuses bytes. */
export type Malformation =
  | Ipv4Malformation
  | Ipv6Malformation
  | IcmpMalformation
  | Icmpv6Malformation
  | GreMalformation
  | UdpMalformation
  | VxlanMalformation
  | EthernetMalformation
  | ArpMalformation;

export * from './view.js';
export * from './numbers.js';
export * from './checksum.js';
export * from './address.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmp.js';
export * from './icmpv6.js';
export * from './gre.js';
export * from './udp.js';
export * from './vxlan.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './describe.js';
