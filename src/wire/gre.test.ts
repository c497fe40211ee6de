import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, loadPacket } from '../../test/fixtures/hex.js';
import { internetChecksum } from './checksum.js';
import {
  emitGre,
  fillGreChecksum,
  greFlags,
  greHeaderLength,
  GreHeader,
  GreView,
  parseGre,
  writeGreHeader,
  GRE_CSUM,
  GRE_KEY,
  GRE_ROUTING,
  GRE_SEQ,
} from './gre.js';

// The GRE fixtures are hand-built by test/fixtures/gre-make.py (this kernel has no GRE driver): an
// outer IPv4 header (20 bytes, so GRE starts at 20) in front of headers laid out from RFC 2784/2890,
// carrying inner packets captured from the kernel. Checksums there come from the script's own code.
const AT = 20;

interface Case {
  fixture: string;
  header: GreHeader;
  /** The GRE header bytes as the RFCs and spec section 3.8 spell them (checksum as built). */
  wire: string;
  payloadProtocol: number;
  payloadSkip: number;
}

const CASES: Case[] = [
  {
    fixture: 'gre-plain',
    header: { checksumPresent: false, keyPresent: false, sequencePresent: false, protocolType: 0x0800, key: 0, sequence: 0, checksum: 0 },
    wire: '00000800',
    payloadProtocol: 0x0800,
    payloadSkip: 0,
  },
  {
    fixture: 'gre-key',
    header: { checksumPresent: false, keyPresent: true, sequencePresent: false, protocolType: 0x0800, key: 42, sequence: 0, checksum: 0 },
    wire: '20000800 0000002a', // spec 3.8: key 42 -> 00 00 00 2a
    payloadProtocol: 0x0800,
    payloadSkip: 0,
  },
  {
    fixture: 'gre-csum',
    header: { checksumPresent: true, keyPresent: false, sequencePresent: false, protocolType: 0x0800, key: 0, sequence: 0, checksum: 0x77ff },
    wire: '80000800 77ff0000',
    payloadProtocol: 0x0800,
    payloadSkip: 0,
  },
  {
    fixture: 'gre-seq',
    header: { checksumPresent: false, keyPresent: false, sequencePresent: true, protocolType: 0x0800, key: 0, sequence: 0, checksum: 0 },
    wire: '10000800 00000000',
    payloadProtocol: 0x0800,
    payloadSkip: 0,
  },
  {
    fixture: 'gre-csum-key-seq-ipv6',
    header: { checksumPresent: true, keyPresent: true, sequencePresent: true, protocolType: 0x86dd, key: 0x2a, sequence: 7, checksum: 0x15df },
    wire: 'b00086dd 15df0000 0000002a 00000007',
    payloadProtocol: 0x86dd,
    payloadSkip: 0,
  },
  {
    fixture: 'gre-teb-key',
    header: { checksumPresent: false, keyPresent: true, sequencePresent: false, protocolType: 0x6558, key: 1, sequence: 0, checksum: 0 },
    wire: '20006558 00000001',
    payloadProtocol: 0x6558,
    payloadSkip: 0,
  },
  {
    fixture: 'gre-wccp-v2',
    header: { checksumPresent: false, keyPresent: false, sequencePresent: false, protocolType: 0x883e, key: 0, sequence: 0, checksum: 0 },
    wire: '0000883e',
    payloadProtocol: 0x0800, // gre_parse_header: WCCP with no flags is IPv4 ...
    payloadSkip: 4, // ... behind WCCPv2's 4-byte redirect header (the next nibble is not 4)
  },
];

function packet(c: Case): { bytes: Uint8Array; length: number } {
  const bytes = loadPacket(c.fixture);
  return { bytes, length: bytes.length - AT };
}

function filled(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

test('gre: deconstruct every fixture', () => {
  for (const c of CASES) {
    const { bytes, length } = packet(c);
    const view = new GreView(bytes, AT, length);
    const headerLength = fromHex(c.wire).length;
    assert.equal(view.check(), null, c.fixture);
    assert.deepEqual(bytes.subarray(AT, AT + headerLength), fromHex(c.wire), c.fixture);
    assert.equal(view.flags, greFlags(c.header), c.fixture);
    assert.equal(view.checksumPresent, c.header.checksumPresent);
    assert.equal(view.routingPresent, false);
    assert.equal(view.keyPresent, c.header.keyPresent);
    assert.equal(view.sequencePresent, c.header.sequencePresent);
    assert.equal(view.version, 0);
    assert.equal(view.protocolType, c.header.protocolType);
    assert.equal(view.checksum, c.header.checksum, c.fixture);
    assert.equal(view.key, c.header.key);
    assert.equal(view.sequence, c.header.sequence);
    assert.equal(view.headerLength, headerLength);
    assert.equal(view.payloadProtocol, c.payloadProtocol, c.fixture);
    assert.equal(view.payloadOffset, AT + headerLength + c.payloadSkip, c.fixture);
    assert.equal(view.payloadLength, length - headerLength - c.payloadSkip);
    // The payload is the IP version the protocol says (TEB: an Ethernet frame carrying IPv4).
    const first = bytes[view.payloadOffset];
    if (c.payloadProtocol === 0x0800) assert.equal(first >> 4, 4);
    if (c.payloadProtocol === 0x86dd) assert.equal(first >> 4, 6);
  }
});

test('gre: construct into a 0xa5 buffer with the hot-path writers', () => {
  for (const c of CASES) {
    const { bytes, length } = packet(c);
    const headerLength = greHeaderLength(greFlags(c.header));
    const out = filled(length);
    out.set(bytes.subarray(AT + headerLength, AT + length), headerLength);
    assert.equal(writeGreHeader(out, 0, greFlags(c.header), c.header.protocolType, c.header.key, c.header.sequence), headerLength);
    if (c.header.checksumPresent) fillGreChecksum(out, 0, length);
    assert.deepEqual(out, bytes.subarray(AT), c.fixture);
  }
});

test('gre: parse every fixture to its record', () => {
  for (const c of CASES) {
    const { bytes, length } = packet(c);
    assert.deepEqual(parseGre(new GreView(bytes, AT, length)), c.header, c.fixture);
  }
});

test('gre: emit every record into a 0xa5 buffer', () => {
  for (const c of CASES) {
    const { bytes, length } = packet(c);
    const headerLength = greHeaderLength(greFlags(c.header));
    const out = filled(length + 4);
    out.set(bytes.subarray(AT + headerLength, AT + length), 2 + headerLength);
    // The record's checksum is ignored: emit computes it over the payload it is told about.
    const header = { ...c.header, checksum: 0xdead };
    assert.equal(emitGre(header, out, 2, length - headerLength), headerLength);
    assert.deepEqual(out.subarray(2, 2 + length), bytes.subarray(AT), c.fixture);
    assert.equal(out[1], 0xa5);
    assert.equal(out[2 + length], 0xa5);
  }
});

test('gre: header length is 4 + 4 per C, K, S (R and version do not count)', () => {
  for (let bits = 0; bits < 16; bits++) {
    const flags = ((bits & 8) ? GRE_CSUM : 0) | ((bits & 4) ? GRE_ROUTING : 0) | ((bits & 2) ? GRE_KEY : 0) | ((bits & 1) ? GRE_SEQ : 0);
    const expected = 4 + 4 * (((bits >> 3) & 1) + ((bits >> 1) & 1) + (bits & 1));
    assert.equal(greHeaderLength(flags), expected, flags.toString(16));
    assert.equal(greHeaderLength(flags | 0x0fff), expected);
  }
});

test('gre: truncation below the base header and below what the flags say', () => {
  for (const c of CASES) {
    const { bytes } = packet(c);
    const headerLength = greHeaderLength(greFlags(c.header));
    for (let n = 0; n < headerLength; n++) {
      assert.equal(new GreView(bytes, AT, n).check(), 'truncated', `${c.fixture} length ${n}`);
      assert.equal(parseGre(new GreView(bytes.slice(AT, AT + n))), 'truncated');
    }
  }
  // A range past the end of the buffer.
  const { bytes, length } = packet(CASES[1]);
  assert.equal(new GreView(bytes, AT, length + 1).check(), 'truncated');
});

test('gre: the checksum covers the payload: any cut or flipped bit is caught', () => {
  const c = CASES[4];
  const { bytes, length } = packet(c);
  for (let n = 16; n < length; n++) assert.equal(new GreView(bytes, AT, n).check(), 'bad-checksum', `length ${n}`);
  for (let bit = 0; bit < length * 8; bit++) {
    const b = bytes.slice(AT);
    b[bit >> 3] ^= 0x80 >> (bit & 7);
    const reason = new GreView(b).check();
    if (bit === 0) {
      // Clearing C itself leaves a valid K+S packet whose "key" is the old checksum word: GRE's checksum
      // cannot protect its own presence bit (the kernel accepts this too; icsum on the tunnel catches it).
      assert.equal(reason, null);
    } else if (bit === 1) {
      assert.equal(reason, 'routing-set');
    } else if (bit >= 13 && bit < 16) {
      assert.equal(reason, 'bad-version', `bit ${bit}`);
    } else {
      assert.equal(reason, 'bad-checksum', `bit ${bit}`);
    }
  }
});

test('gre: version and routing bit, the two things gre_parse_header refuses before length', () => {
  const base = fromHex('2000 0800 0000 002a');
  for (let version = 1; version < 8; version++) {
    const b = base.slice();
    b[1] |= version;
    assert.equal(new GreView(b).check(), 'bad-version', `version ${version}`);
    assert.equal(parseGre(new GreView(b)), 'bad-version');
  }
  const routing = base.slice();
  routing[0] |= 0x40;
  assert.equal(new GreView(routing).check(), 'routing-set');
  // Both: version is reported (either way the kernel drops it); with only 4 bytes still not truncated.
  routing[1] |= 1;
  assert.equal(new GreView(routing).check(), 'bad-version');
  assert.equal(new GreView(fromHex('4000 0800')).check(), 'routing-set');
  // PPTP's enhanced GRE (version 1, K set, protocol 0x880b).
  assert.equal(new GreView(fromHex('3001 880b 0000 0000 0000 0001')).check(), 'bad-version');
});

test('gre: other reserved bits are ignored on receive and cleared by parse/emit', () => {
  const b = fromHex('2f f8 08 00 00 00 00 2a 45');
  const view = new GreView(b);
  assert.equal(view.check(), null);
  assert.equal(view.key, 42);
  const record = parseGre(view);
  assert.ok(typeof record !== 'string');
  const out = filled(8);
  emitGre(record, out, 0, 0);
  assert.deepEqual(out, fromHex('2000 0800 0000 002a'));
});

test('gre: WCCP (gre_parse_header): v1 inline IPv4, v2 behind 4 bytes, and only with no flags', () => {
  const v1 = fromHex('0000 883e 4500');
  const view = new GreView(v1);
  assert.equal(view.check(), null);
  assert.equal(view.payloadProtocol, 0x0800);
  assert.equal(view.payloadOffset, 4);
  assert.equal(view.payloadLength, 2);
  // No byte after the header to tell v1 from v2: the kernel gives up.
  assert.equal(new GreView(fromHex('0000 883e')).check(), 'truncated');
  // v2 needs its 4-byte redirect header.
  assert.equal(new GreView(fromHex('0000 883e 0000 00')).check(), 'truncated');
  const v2 = new GreView(fromHex('0000 883e 0000 0000'));
  assert.equal(v2.check(), null);
  assert.equal(v2.payloadOffset, 8);
  assert.equal(v2.payloadLength, 0);
  // With a key it is just an unknown protocol type.
  const keyed = new GreView(fromHex('2000 883e 0000 0001 1234'));
  assert.equal(keyed.check(), null);
  assert.equal(keyed.payloadProtocol, 0x883e);
  assert.equal(keyed.payloadOffset, 8);
});

test('gre: fillGreChecksum zeroes reserved1 and makes the packet verify', () => {
  const b = fromHex('8000 0800 ffff ffff 4500 0014 0000 0000 4011 0000 0a00 0001 0a00 0002');
  fillGreChecksum(b, 0, b.length);
  assert.equal(b[6], 0);
  assert.equal(b[7], 0);
  assert.equal(internetChecksum(b, 0, b.length), 0);
  assert.equal(new GreView(b).check(), null);
  // Odd-length payloads too.
  const odd = fromHex('8000 0800 0000 0000 01');
  fillGreChecksum(odd, 0, odd.length);
  assert.equal(new GreView(odd).check(), null);
});
