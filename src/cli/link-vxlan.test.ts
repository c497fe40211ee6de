import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceFacts, FdbEntryInfo, LinkInfo } from '../control/protocol.js';
import { macKey, NTF_MASTER, NTF_ROUTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE } from '../tunnel/fdb.js';
import { emptyStats } from '../tunnel/stats.js';
import { defaultVxlanParams, type VxlanParams } from '../tunnel/vxlan.js';
import { DsfieldTable } from './dsfield.js';
import { formatFdb, parseFdbModify, scanMac } from './fdb.js';
import { formatLinks, linkFlags, parseVxlanArgs } from './link-vxlan.js';
import { staticLinks } from './links.js';
import { defaultOptions } from './options.js';

const links = staticLinks({ lo: 1, eth0: 2, vx0: 5 });
const dsfield = DsfieldTable.system();

function parse(...words: string[]): VxlanParams {
  return parseVxlanArgs(words, dsfield, links, () => {}).params;
}

interface ParseCase {
  words: string[];
  fields: Partial<VxlanParams>;
}

const parseCases: ParseCase[] = [
  { words: ['id', '100', 'dstport', '4789'], fields: { vni: 100, dstPort: 4789 } },
  { words: ['vni', '0x10', 'dstport', '0'], fields: { vni: 16, dstPort: 0 } },
  { words: ['id', '1', 'dstport', '0', 'remote', '1.2.3'], fields: { remote: 0x01020300 } },
  { words: ['id', '1', 'dstport', '0', 'group', '239.1.1.1', 'dev', 'eth0'], fields: { remote: 0xef010101, link: 2 } },
  { words: ['id', '1', 'dstport', '0', 'local', '10.0.0.1'], fields: { local: 0x0a000001 } },
  { words: ['id', '1', 'dstport', '0', 'ttl', 'inherit', 'tos', 'inherit', 'df', 'inherit'], fields: { ttlInherit: true, tos: 1, df: 'inherit' } },
  { words: ['id', '1', 'dstport', '0', 'ttl', 'auto', 'tos', 'AF11'], fields: { ttl: 0, tos: 0x28 } },
  { words: ['id', '1', 'dstport', '0', 'ageing', 'none', 'maxaddress', 'unlimited'], fields: { ageing: 0, maxAddresses: 0 } },
  { words: ['id', '1', 'dstport', '0', 'srcport', '1000', '2000', 'nolearning', 'proxy', 'noudpcsum'], fields: { srcPortMin: 1000, srcPortMax: 2000, learning: false, proxy: true, udpCsum: false } },
  // Prefixes resolve in iproute2 6.1's order: `l` is local, `n` nolearning, `u` udpcsum.
  { words: ['i', '1', 'dstp', '5', 'l', '5.6.7.8', 'n', 'u'], fields: { vni: 1, dstPort: 5, local: 0x05060708, learning: false, udpCsum: true } },
];

for (const c of parseCases) {
  test(`vxlan arguments: ${c.words.join(' ')}`, () => {
    const p = parse(...c.words);
    for (const [k, v] of Object.entries(c.fields)) assert.deepEqual(p[k as keyof VxlanParams], v, k);
  });
}

test('vxlan arguments: without dstport the warning iproute2 prints goes to stderr', () => {
  let warned = '';
  parseVxlanArgs(['id', '1'], dsfield, links, (t) => (warned += t));
  assert.match(warned, /^vxlan: destination port not specified\n/);
});

function facts(fields: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    flags: 0x1003 | 0x40 | 0x10000,
    mtu: 1450,
    qdisc: 'pfifo_fast',
    operstate: 'UNKNOWN',
    linkmode: 0,
    group: 0,
    txqlen: 1000,
    address: '02:00:00:00:00:0a',
    broadcast: 'ff:ff:ff:ff:ff:ff',
    promiscuity: 0,
    allmulti: 0,
    minMtu: 68,
    maxMtu: 65521,
    addrGenMode: 'eui64',
    numTxQueues: 1,
    numRxQueues: 1,
    gsoMaxSize: 65536,
    gsoMaxSegs: 65535,
    tsoMaxSize: 65536,
    tsoMaxSegs: 65535,
    groMaxSize: 65536,
    carrierChanges: 2,
    ...fields,
  };
}

function info(params: Partial<VxlanParams> = {}, stats = emptyStats()): LinkInfo {
  return { params: { ...defaultVxlanParams(), name: 'vx0', vni: 100, remote: 0xc0a86401, local: 0xc0a86402, link: 2, dstPort: 4789, ...params }, ifindex: 5, stats, drops: {}, device: facts() };
}

const print = { ...defaultOptions(), links, dsfield };

test('link show: the two lines of ip link show; flags in print_link_flags order', () => {
  assert.equal(
    formatLinks([info()], print),
    '5: vx0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc pfifo_fast state UNKNOWN mode DEFAULT group default qlen 1000\n' +
      '    link/ether 02:00:00:00:00:0a brd ff:ff:ff:ff:ff:ff\n',
  );
  assert.deepEqual(linkFlags(0x1003), ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP']);
});

test('link show -d: the vxlan detail line as ip -d link show prints it', () => {
  const text = formatLinks([info({ ttl: 10, tos: 1, df: 'set', learning: false, maxAddresses: 5, udpCsum: false, srcPortMin: 1000, srcPortMax: 2000 })], { ...print, details: 1 });
  assert.equal(
    text.split('\n')[2],
    '    vxlan id 100 remote 192.168.100.1 local 192.168.100.2 dev eth0 srcport 1000 2000 dstport 4789 nolearning tos inherit ttl 10 df set ageing 300 maxaddr 5 noudpcsum noudp6zerocsumtx noudp6zerocsumrx addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 65536 tso_max_segs 65535 gro_max_size 65536 ',
  );
  assert.match(text.split('\n')[1], / promiscuity 0 {2}allmulti 0 minmtu 68 maxmtu 65521 $/);
});

test('link show -s and -s -s: columns widen with the numbers, as print_stats64 sizes them', () => {
  const stats = { ...emptyStats(), rxBytes: 12345678901, rxPackets: 10_000_000, txBytes: 100, txPackets: 1 };
  const text = formatLinks([info({}, stats)], { ...print, stats: 2 });
  const lines = text.split('\n');
  assert.equal(lines[2], '    RX:   bytes packets errors dropped  missed   mcast           ');
  assert.equal(lines[3], '    12345678901 10000000      0       0       0       0 ', 'iproute2 counts 10^7 as seven digits');
  assert.equal(lines[4], '    RX errors:   length    crc   frame    fifo overrun           ');
  assert.equal(lines[8], '    TX errors:  aborted   fifo  window heartbt transns');
  assert.equal(lines[9], '                      0      0       0       0       2 ');
});

test('link show -j -d: linkinfo as ip -j prints it', () => {
  const [entry] = JSON.parse(formatLinks([info({ ttlInherit: true, tos: 0x10 })], { ...print, json: true, details: 1 })) as Array<{ linkinfo: unknown }>;
  assert.deepEqual(entry.linkinfo, {
    info_kind: 'vxlan',
    info_data: {
      id: 100, remote: '192.168.100.1', local: '192.168.100.2', link: 'eth0', port_range: { low: 0, high: 0 }, port: 4789,
      learning: true, tos: '0x10', df: 'unset', ageing: 300, udp_csum: true, udp_zero_csum6_tx: false, udp_zero_csum6_rx: false,
    },
  });
});

function entry(fields: Partial<FdbEntryInfo>): FdbEntryInfo {
  return { dev: 'vx0', ifindex: 5, mac: '02:00:00:00:00:01', state: NUD_NOARP | NUD_PERMANENT, flags: NTF_SELF, remotes: [{ ip: 0x0a000001, port: 4789, vni: 100, ifindex: 0 }], devicePort: 4789, deviceVni: 100, used: 3, updated: 7, ...fields };
}

test('fdb show: one line per remote, port and vni only where they differ, flags and state last', () => {
  const entries = [
    entry({ flags: NTF_SELF | NTF_ROUTER | NTF_MASTER }),
    entry({ mac: '02:00:00:00:00:02', state: NUD_REACHABLE }),
    entry({ mac: '02:00:00:00:00:03', state: NUD_NOARP | NUD_REACHABLE }),
    entry({ mac: '00:00:00:00:00:00', remotes: [{ ip: 0xc0a80001, port: 4789, vni: 100, ifindex: 2 }, { ip: 0x0a000006, port: 5000, vni: 7, ifindex: 0 }] }),
  ];
  const options = { ...print, filtered: true };
  assert.equal(
    formatFdb(entries, options),
    '02:00:00:00:00:01 dst 10.0.0.1 self router master permanent\n' +
      '02:00:00:00:00:02 dst 10.0.0.1 self \n' +
      '02:00:00:00:00:03 dst 10.0.0.1 self static\n' +
      '00:00:00:00:00:00 dst 192.168.0.1 via eth0 self permanent\n' +
      '00:00:00:00:00:00 dst 10.0.0.6 port 5000 vni 7 self permanent\n',
  );
  assert.equal(formatFdb(entries.slice(0, 1), { ...options, filtered: false, stats: 1 }), '02:00:00:00:00:01 dev vx0 dst 10.0.0.1 used 3/7 self router master permanent\n');
  assert.equal(
    formatFdb(entries.slice(1, 2), { ...options, json: true }),
    '[{"mac":"02:00:00:00:00:02","dst":"10.0.0.1","flags":["self"],"state":""}]\n',
  );
});

test('fdb add: what bridge would send; MACs as its sscanf reads them', () => {
  const ctx = { options: defaultOptions(), links, client: () => Promise.reject(new Error('unused')) };
  const { dev, request } = parseFdbModify(['1:2:3:4:5:6zz', 'dev', 'vx0', 'dst', '10.0.0.1', 'port', '5000', 'vni', '7', 'via', 'eth0', 'dynamic', 'router'], ctx);
  assert.equal(dev, 'vx0');
  assert.deepEqual(request, { mac: macKey(Uint8Array.from([1, 2, 3, 4, 5, 6])), ip: 0x0a000001, hasIp: true, port: 5000, vni: 7, ifindex: 2, state: NUD_REACHABLE, flags: NTF_SELF | NTF_ROUTER, nlFlags: 0 });
  assert.equal(parseFdbModify(['02:00:00:00:00:01', 'dev', 'vx0'], ctx).request.state, NUD_NOARP | NUD_PERMANENT, 'permanent by default');
  assert.deepEqual([...scanMac('0x1ff:2:3:4:5:6')!], [0xff, 2, 3, 4, 5, 6]);
  assert.equal(scanMac('1:2:3:4:5'), null);
});
