import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRE_CSUM, GRE_KEY, GRE_SEQ, VTI_ISVTI } from '../tunnel/params.js';
import { DsfieldTable } from './dsfield.js';
import { FakeClient } from './fake-client.js';
import { parseIpv6 } from './inet.js';
import { staticLinks } from './links.js';
import { formatTunnels, type PrintOptions, type ShownTunnel } from './print.js';

const A = 0xc0a8010a; // 192.168.1.10
const B = 0xc0a80214; // 192.168.2.20

function options(over: Partial<PrintOptions> = {}): PrintOptions {
  return {
    json: false,
    pretty: false,
    oneline: false,
    stats: 0,
    links: staticLinks({ lo: 1, eth0: 2 }),
    dsfield: DsfieldTable.stock(),
    ...over,
  };
}

const line = (t: ShownTunnel, over: Partial<PrintOptions> = {}) => formatTunnels([t], options(over), false);
const tunnel = FakeClient.tunnel;

/** The examples of spec 2.1 (except tunl0, whose protocol 0 no burrow mode has). */
const EXAMPLES: Array<[ShownTunnel, string]> = [
  [
    tunnel({ name: 'gre0', mode: 'gre', pmtudisc: false }),
    'gre0: gre/ip remote any local any ttl inherit nopmtudisc',
  ],
  [
    tunnel({ name: 'sit0', mode: 'sit', ttl: 64, pmtudisc: false }),
    'sit0: ipv6/ip remote any local any ttl 64 nopmtudisc 6rd-prefix 2002::/16',
  ],
  [
    tunnel({ name: 'ip_vti0', mode: 'vti', pmtudisc: false, iflags: VTI_ISVTI | GRE_KEY, oflags: GRE_KEY }),
    'ip_vti0: ip/ip remote any local any ttl inherit nopmtudisc key 0',
  ],
  [tunnel({ name: 'vpn0', mode: 'ipip', remote: B, local: A, ttl: 64 }), 'vpn0: ip/ip remote 192.168.2.20 local 192.168.1.10 ttl 64'],
  [
    tunnel({
      name: 'gre1',
      mode: 'gre',
      remote: B,
      local: A,
      link: 2,
      ttl: 64,
      tos: 1,
      iflags: GRE_KEY,
      oflags: GRE_KEY,
      ikey: 42,
      okey: 42,
    }),
    'gre1: gre/ip remote 192.168.2.20 local 192.168.1.10 dev eth0 ttl 64 tos inherit key 42',
  ],
  [
    tunnel({
      name: 'gre2',
      mode: 'gre',
      remote: B,
      local: A,
      iflags: GRE_KEY | GRE_SEQ | GRE_CSUM,
      oflags: GRE_KEY | GRE_SEQ | GRE_CSUM,
      ikey: 5,
      okey: 6,
    }),
    'gre2: gre/ip remote 192.168.2.20 local 192.168.1.10 ttl inherit ikey 5 okey 6\n' +
      '  Drop packets out of sequence.\n' +
      '  Checksum in received packet is required.\n' +
      '  Sequence packets on output.\n' +
      '  Checksum output packets.',
  ],
  [
    tunnel({ name: 'sit1', mode: 'sit', remote: B, local: A, ttl: 64 }),
    'sit1: ipv6/ip remote 192.168.2.20 local 192.168.1.10 ttl 64 6rd-prefix 2002::/16',
  ],
  [
    { ...tunnel({ name: 'is0', mode: 'isatap', local: A }), prl: [{ address: 0xc0a80101, isDefault: true }] },
    'is0: ipv6/ip remote any local 192.168.1.10 pdr 192.168.1.1 ttl inherit 6rd-prefix 2002::/16',
  ],
  [
    {
      ...tunnel({ name: '6rd0', mode: 'sit', local: 0x0a64c801, ttl: 64 }),
      sixRd: { prefix: parseIpv6('2001:db8::')!, prefixLength: 32, relayPrefix: 0x0a000000, relayPrefixLength: 8 },
    },
    '6rd0: ipv6/ip remote any local 10.100.200.1 ttl 64 6rd-prefix 2001:db8::/32 6rd-relay_prefix 10.0.0.0/8',
  ],
  [
    // As the daemon sends it: the prefix crosses the control socket as an array of numbers; the PRL
    // newest first, with more than one kind of router.
    {
      ...tunnel({ name: 'is1', mode: 'isatap', local: A, iflags: 1 }),
      sixRd: { prefix: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] as unknown as Uint8Array, prefixLength: 32, relayPrefix: 0, relayPrefixLength: 0 },
      prl: [
        { address: 0xc0a80102, isDefault: false },
        { address: 0xc0a80101, isDefault: true },
      ],
    },
    'is1: ipv6/ip remote any local 192.168.1.10 pr 192.168.1.2 pdr 192.168.1.1 ttl inherit 6rd-prefix 2001:db8::/32',
  ],
  [
    tunnel({ name: 'vti1', mode: 'vti', remote: B, local: A, iflags: VTI_ISVTI | GRE_KEY, oflags: GRE_KEY, ikey: 42, okey: 42 }),
    'vti1: ip/ip remote 192.168.2.20 local 192.168.1.10 ttl inherit key 42',
  ],
];

describe('show line (spec 2.1)', () => {
  for (const [t, expected] of EXAMPLES) {
    it(t.params.name, () => assert.equal(line(t), expected + '\n'));
  }

  it('key 1.2.3.4 shows as 16909060', () => {
    const t = tunnel({ name: 'g', mode: 'gre', iflags: GRE_KEY, oflags: GRE_KEY, ikey: 16909060, okey: 16909060 });
    assert.equal(line(t), 'g: gre/ip remote any local any ttl inherit key 16909060\n');
  });

  it('only one direction keyed', () => {
    assert.equal(
      line(tunnel({ name: 'g', mode: 'gre', iflags: GRE_KEY, ikey: 7 })),
      'g: gre/ip remote any local any ttl inherit ikey 7\n',
    );
    assert.equal(
      line(tunnel({ name: 'g', mode: 'gre', oflags: GRE_KEY, okey: 0 })),
      'g: gre/ip remote any local any ttl inherit okey 0\n',
    );
  });

  it('tos: hex, names, inherit/NAME', () => {
    const tos = (value: number) => line(tunnel({ name: 't', mode: 'ipip', tos: value })).replace('t: ip/ip remote any local any ttl inherit', '');
    assert.equal(tos(0x10), ' tos 0x10\n');
    assert.equal(tos(0xb8), ' tos EF\n');
    assert.equal(tos(0x01), ' tos inherit\n');
    assert.equal(tos(0x29), ' tos inherit/AF11\n');
    assert.equal(tos(0x11), ' tos inherit/0x10\n');
    assert.equal(tos(0xe1), ' tos inherit/CS7\n');
  });

  it('a dev whose index has no device prints as if%u', () => {
    assert.equal(line(tunnel({ name: 't', mode: 'ipip', link: 99 })), 't: ip/ip remote any local any dev if99 ttl inherit\n');
  });

  it('sit without 6rd prefix length prints no 6rd part', () => {
    const t = { ...tunnel({ name: 's', mode: 'sit' }), sixRd: { prefix: new Uint8Array(16), prefixLength: 0, relayPrefix: 0, relayPrefixLength: 0 } };
    assert.equal(line(t), 's: ipv6/ip remote any local any ttl inherit\n');
  });

  it('GRE flags are not printed for other modes', () => {
    assert.equal(
      line(tunnel({ name: 't', mode: 'ipip', iflags: GRE_SEQ, oflags: GRE_CSUM })),
      't: ip/ip remote any local any ttl inherit\n',
    );
  });

  it('-o puts the GRE flag lines on the same line, joined by \\', () => {
    const t = tunnel({ name: 'g', mode: 'gre', iflags: GRE_SEQ, oflags: GRE_CSUM });
    assert.equal(
      line(t, { oneline: true }),
      'g: gre/ip remote any local any ttl inherit\\  Drop packets out of sequence.\\  Checksum output packets.\n',
    );
  });
});

describe('show -s (spec 2.2)', () => {
  const t = tunnel({ name: 'vpn0', mode: 'ipip', remote: B, local: A, ttl: 64 });
  Object.assign(t.stats, {
    rxPackets: 12,
    rxBytes: 1008,
    rxErrors: 3,
    rxFrameErrors: 1,
    rxFifoErrors: 2,
    multicast: 0,
    rxCrcErrors: 9,
    txPackets: 1234567890,
    txBytes: 123456789012,
    txErrors: 4,
    collisions: 5,
    txCarrierErrors: 6,
    txDropped: 7,
  });

  it('four lines with iproute2 column widths (trailing spaces kept), CsumErrs from rx_frame_errors', () => {
    assert.equal(
      formatTunnels([t], options({ stats: 1 }), true),
      'vpn0: ip/ip remote 192.168.2.20 local 192.168.1.10 ttl 64\n' +
        'RX: Packets    Bytes        Errors CsumErrs OutOfSeq Mcasts\n' +
        '    12         1008         3      1        2        0       \n' +
        'TX: Packets    Bytes        Errors DeadLoop NoRoute  NoBufs\n' +
        '    1234567890 123456789012 4      5        6        7     \n',
    );
  });

  it('not in single-query mode', () => {
    assert.equal(formatTunnels([t], options({ stats: 1 }), false), 'vpn0: ip/ip remote 192.168.2.20 local 192.168.1.10 ttl 64\n');
  });

  it('-o -s is one line per tunnel', () => {
    assert.equal(
      formatTunnels([t], options({ stats: 1, oneline: true }), true),
      'vpn0: ip/ip remote 192.168.2.20 local 192.168.1.10 ttl 64\\' +
        'RX: Packets    Bytes        Errors CsumErrs OutOfSeq Mcasts\\' +
        '    12         1008         3      1        2        0       \\' +
        'TX: Packets    Bytes        Errors DeadLoop NoRoute  NoBufs\\' +
        '    1234567890 123456789012 4      5        6        7     \n',
    );
  });

  it('JSON: stats64 shaped as ip -j -s link show, more with -s -s', () => {
    const one = JSON.parse(formatTunnels([t], options({ json: true, stats: 1 }), true));
    assert.deepEqual(one[0].stats64, {
      rx: { bytes: 1008, packets: 12, errors: 3, dropped: 0, over_errors: 0, multicast: 0 },
      tx: { bytes: 123456789012, packets: 1234567890, errors: 4, dropped: 7, carrier_errors: 6, collisions: 5 },
    });
    const two = JSON.parse(formatTunnels([t], options({ json: true, stats: 2 }), true));
    assert.deepEqual(Object.keys(two[0].stats64.rx), [
      'bytes',
      'packets',
      'errors',
      'dropped',
      'over_errors',
      'multicast',
      'length_errors',
      'crc_errors',
      'frame_errors',
      'fifo_errors',
      'missed_errors',
    ]);
    assert.equal(two[0].stats64.rx.crc_errors, 9);
    assert.deepEqual(Object.keys(two[0].stats64.tx), [
      'bytes',
      'packets',
      'errors',
      'dropped',
      'carrier_errors',
      'collisions',
      'aborted_errors',
      'fifo_errors',
      'window_errors',
      'heartbeat_errors',
    ]);
  });
});

describe('show -j', () => {
  it('keys, 0.0.0.0 for any, no ttl when inherit, flags for GRE only', () => {
    const all = EXAMPLES.map(([t]) => t);
    const parsed = JSON.parse(formatTunnels(all, options({ json: true }), false));
    assert.deepEqual(parsed[0], { ifname: 'gre0', mode: 'gre/ip', remote: '0.0.0.0', local: '0.0.0.0', nopmtudisc: null, flags: [] });
    assert.deepEqual(parsed[1], {
      ifname: 'sit0',
      mode: 'ipv6/ip',
      remote: '0.0.0.0',
      local: '0.0.0.0',
      ttl: 64,
      nopmtudisc: null,
      '6rd-prefix': '2002::',
      '6rd-prefixlen': 16,
    });
    assert.deepEqual(parsed[2], { ifname: 'ip_vti0', mode: 'ip/ip', remote: '0.0.0.0', local: '0.0.0.0', nopmtudisc: null, key: 0 });
    assert.deepEqual(parsed[4], {
      ifname: 'gre1',
      mode: 'gre/ip',
      remote: '192.168.2.20',
      local: '192.168.1.10',
      dev: 'eth0',
      ttl: 64,
      key: 42,
      flags: [],
    });
    assert.deepEqual(parsed[5].flags, ['rx_drop_ooseq', 'rx_csum', 'tx_seq', 'tx_csum']);
    assert.equal(parsed[7].pdr, '192.168.1.1');
    assert.deepEqual(
      [parsed[8]['6rd-prefix'], parsed[8]['6rd-prefixlen'], parsed[8]['6rd-relay_prefix'], parsed[8]['6rd-relay_prefixlen']],
      ['2001:db8::', 32, '10.0.0.0', 8],
    );
  });

  it('compact layout as iproute2 writes it, a newline after each entry', () => {
    const t = tunnel({ name: 'g', mode: 'gre', tos: 0x29, ttl: 3 });
    assert.equal(
      formatTunnels([t], options({ json: true }), false),
      '[{"ifname":"g","mode":"gre/ip","remote":"0.0.0.0","local":"0.0.0.0","ttl":3,"tos":"0x29","flags":[]}\n]\n',
    );
    assert.equal(formatTunnels([], options({ json: true }), true), '[]\n');
    // tos inherit alone is text-only, as in iproute2.
    assert.equal(
      formatTunnels([tunnel({ name: 'i', mode: 'ipip', tos: 1 })], options({ json: true }), false),
      '[{"ifname":"i","mode":"ip/ip","remote":"0.0.0.0","local":"0.0.0.0"}\n]\n',
    );
  });

  it('-p indents as iproute2 does (with its newline after each entry)', () => {
    const t = tunnel({ name: 'g', mode: 'gre', iflags: GRE_SEQ });
    assert.equal(
      formatTunnels([t, tunnel({ name: 'h', mode: 'gre' })], options({ json: true, pretty: true }), false),
      [
        '[ {',
        '        "ifname": "g",',
        '        "mode": "gre/ip",',
        '        "remote": "0.0.0.0",',
        '        "local": "0.0.0.0",',
        '        "flags": [ "rx_drop_ooseq" ]',
        '    }',
        ',{',
        '        "ifname": "h",',
        '        "mode": "gre/ip",',
        '        "remote": "0.0.0.0",',
        '        "local": "0.0.0.0",',
        '        "flags": [ ]',
        '    }',
        ' ]',
        '',
      ].join('\n'),
    );
    assert.equal(formatTunnels([], options({ json: true, pretty: true }), true), '[ ]\n');
  });
});
