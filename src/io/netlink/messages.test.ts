/**
 * The rtnetlink codecs against messages the kernel sent `ip` (fixtures.ts): each decoded field is
 * compared with what `ip` printed for the same bytes; the encoder is compared byte for byte with
 * `ip`'s requests in link/addr/route tests. Also: attribute alignment and nesting, and a truncation
 * sweep (a cut message is a BurrowError EIO, never a RangeError or a record of zeros).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurrowError } from '../../errors.js';
import * as F from './fixtures.js';
import type { Fixture } from './fixtures.js';
import { formatIp, parseIp } from './ip-address.js';
import {
  AF_INET,
  ARPHRD_ETHER,
  ARPHRD_NONE,
  IFF_ALLMULTI,
  IFF_AUTOMEDIA,
  IFF_BROADCAST,
  IFF_DEBUG,
  IFF_DORMANT,
  IFF_DYNAMIC,
  IFF_ECHO,
  IFF_LOOPBACK,
  IFF_LOWER_UP,
  IFF_MASTER,
  IFF_MULTICAST,
  IFF_NOARP,
  IFF_NOTRAILERS,
  IFF_POINTOPOINT,
  IFF_PORTSEL,
  IFF_PROMISC,
  IFF_RUNNING,
  IFF_SLAVE,
  IFF_UP,
  IFA_F_NODAD,
  IFA_F_PERMANENT,
  IFA_F_SECONDARY,
  IFLA_MTU,
  INFINITY_LIFE_TIME,
  MessageBuilder,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_MULTI,
  RTM_F_CLONED,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  decodeAddress,
  decodeDone,
  decodeError,
  decodeLink,
  decodeRoute,
  encodeSockaddrNl,
  forEachAttr,
  linkTypeName,
  parseAttrs,
  parseMessages,
  type Link,
  type NlMessage,
  type Route,
} from './messages.js';

function messagesOf(f: Fixture, datagram: number): NlMessage[] {
  return parseMessages(Buffer.from(f.datagrams[datagram]!, 'hex'));
}

function only(f: Fixture, datagram: number): NlMessage {
  const ms = messagesOf(f, datagram);
  assert.equal(ms.length, 1);
  return ms[0]!;
}

function routeOf(f: Fixture): Route {
  const m = only(f, 1);
  assert.equal(m.header.type, RTM_NEWROUTE);
  const r = decodeRoute(m.payload);
  assert.ok(r);
  return r;
}

/** The flag words `ip link` prints between < and >, in iproute2's order (print_link_flags). */
function ipLinkFlags(raw: number): string {
  const out: string[] = [];
  if ((raw & IFF_UP) !== 0 && (raw & IFF_RUNNING) === 0) out.push('NO-CARRIER');
  const names: [number, string][] = [
    [IFF_LOOPBACK, 'LOOPBACK'],
    [IFF_BROADCAST, 'BROADCAST'],
    [IFF_POINTOPOINT, 'POINTOPOINT'],
    [IFF_MULTICAST, 'MULTICAST'],
    [IFF_NOARP, 'NOARP'],
    [IFF_ALLMULTI, 'ALLMULTI'],
    [IFF_PROMISC, 'PROMISC'],
    [IFF_NOTRAILERS, 'NOTRAILERS'],
    [IFF_DEBUG, 'DEBUG'],
    [IFF_DYNAMIC, 'DYNAMIC'],
    [IFF_AUTOMEDIA, 'AUTOMEDIA'],
    [IFF_PORTSEL, 'PORTSEL'],
    [IFF_MASTER, 'MASTER'],
    [IFF_SLAVE, 'SLAVE'],
    [IFF_UP, 'UP'],
    [IFF_LOWER_UP, 'LOWER_UP'],
    [IFF_DORMANT, 'DORMANT'],
    [IFF_ECHO, 'ECHO'],
  ];
  for (const [bit, name] of names) if ((raw & bit) !== 0) out.push(name);
  return out.join(',');
}

function mac(bytes: Uint8Array | undefined): string {
  return [...(bytes ?? [])].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Checks a decoded link against the first lines `ip link show` printed for it. */
function assertLinkMatchesIp(link: Link, printed: string): void {
  const head = /^(\d+): ([^:@]+)(?:@\S+)?: <([^>]*)> mtu (\d+) qdisc (\S+) state (\S+).* qlen (\d+)/.exec(printed);
  assert.ok(head, printed);
  assert.equal(link.index, Number(head[1]));
  assert.equal(link.name, head[2]);
  assert.equal(ipLinkFlags(link.flags.raw), head[3]!.replace(/,?M-DOWN/, ''));
  assert.equal(link.mtu, Number(head[4]));
  assert.equal(link.qdisc, head[5]);
  assert.equal(link.operstate, head[6]);
  assert.equal(link.txqlen, Number(head[7]));
  const ll = /link\/(\S+)(?: (\S+) brd (\S+))?/.exec(printed);
  assert.ok(ll);
  assert.equal(linkTypeName(link.type), ll[1]);
  if (ll[2] !== undefined) {
    assert.equal(mac(link.address), ll[2]);
    assert.equal(mac(link.broadcast), ll[3]);
  }
  const minmtu = /minmtu (\d+) maxmtu (\d+)/.exec(printed);
  if (minmtu) {
    assert.equal(link.minMtu, Number(minmtu[1]));
    assert.equal(link.maxMtu, Number(minmtu[2]));
  }
  const gen = /addrgenmode (\S+)/.exec(printed);
  if (gen) assert.equal(link.addrGenMode, gen[1]);
  const queues = /numtxqueues (\d+) numrxqueues (\d+)/.exec(printed);
  if (queues) {
    assert.equal(link.numTxQueues, Number(queues[1]));
    assert.equal(link.numRxQueues, Number(queues[2]));
  }
}

test('nlmsghdr: a GETROUTE request as ip sent it', () => {
  const [m] = messagesOf(F.routeGetVia, 0);
  assert.equal(m!.header.type, RTM_GETROUTE);
  assert.equal(m!.header.length, 36);
  assert.equal(m!.header.flags, 1);
  assert.equal(m!.payload.length, 20);
});

test('route get via a gateway with `mtu lock`: every field ip printed', () => {
  // 198.51.100.7 via 192.0.2.1 dev bwnl0 src 192.0.2.2 uid 0 / cache mtu lock 1300
  const r = routeOf(F.routeGetVia);
  assert.equal(r.family, 4);
  assert.equal(r.type, 'unicast');
  assert.equal(r.table, RT_TABLE_MAIN);
  assert.equal(formatIp(r.dst!), '198.51.100.7');
  assert.equal(r.dstLength, 32);
  assert.equal(formatIp(r.gateway!), '192.0.2.1');
  assert.equal(formatIp(r.prefsrc!), '192.0.2.2');
  assert.equal(r.oif, 2);
  assert.equal(r.uid, 0);
  assert.equal(r.mtu, 1300);
  assert.equal(r.mtuLocked, true);
  assert.equal(r.expires, undefined);
  assert.ok((r.flags & RTM_F_CLONED) !== 0, 'cache');
  assert.equal(F.routeGetVia.printed, '198.51.100.7 via 192.0.2.1 dev bwnl0 src 192.0.2.2 uid 0 \n    cache mtu lock 1300');
});

test('route get with a PMTU exception: cache expires and mtu', () => {
  const r = routeOf(F.routeGetPmtu);
  const printed = /cache expires (\d+)sec mtu (\d+)/.exec(F.routeGetPmtu.printed);
  assert.ok(printed);
  assert.equal(r.expires, Number(printed[1]));
  assert.equal(r.mtu, Number(printed[2]));
  assert.equal(r.mtuLocked, false);
  assert.equal(formatIp(r.gateway!), '192.0.2.1');
});

test('route get from, oif, mark', () => {
  const r = routeOf(F.routeGetFromOifMark);
  assert.equal(formatIp(r.src!), '192.0.2.2');
  assert.equal(r.srcLength, 32);
  assert.equal(r.mark, 7);
  assert.equal(r.oif, 2);
  assert.equal(formatIp(r.gateway!), '192.0.2.1');
});

test('IPv6 route get: gateway, prefsrc, metric, mtu, pref', () => {
  // 2001:db8:1::7 from :: via 2001:db8::1 dev bwnl0 src 2001:db8::2 metric 1024 mtu 1400 pref medium
  const r = routeOf(F.routeGet6);
  assert.equal(r.family, 6);
  assert.equal(formatIp(r.dst!), '2001:db8:1::7');
  assert.equal(formatIp(r.gateway!), '2001:db8::1');
  assert.equal(formatIp(r.prefsrc!), '2001:db8::2');
  assert.equal(r.priority, 1024);
  assert.equal(r.mtu, 1400);
  assert.equal(r.pref, 0); // ICMPV6_ROUTER_PREF_MEDIUM
  assert.equal(r.oif, 2);
});

test('NLMSG_ERROR: ENETUNREACH echoing the whole request (no NETLINK_CAP_ACK)', () => {
  const m = only(F.routeGetUnreachable, 1);
  assert.equal(m.header.type, NLMSG_ERROR);
  const e = decodeError(m.payload, m.header.flags);
  assert.equal(e.name, 'ENETUNREACH');
  assert.equal(e.errno, 101);
  assert.equal(e.request.type, RTM_GETROUTE);
  assert.equal(e.message, undefined);
});

test('NLMSG_ERROR with an extended ack: the kernel text ip printed', () => {
  const m = only(F.linkSetMtuTooSmall, 1);
  assert.ok((m.header.flags & NLM_F_ACK_TLVS) !== 0);
  assert.equal(m.header.flags & NLM_F_CAPPED, 0);
  const e = decodeError(m.payload, m.header.flags);
  assert.equal(e.name, 'EINVAL');
  assert.equal(`Error: ${e.message}.`, F.linkSetMtuTooSmall.printed);
});

test('NLMSG_ERROR acks, capped', () => {
  const m = only(F.addrAdd4, 1);
  const e = decodeError(m.payload, m.header.flags);
  assert.equal(e.errno, 0);
  assert.equal(e.name, '');
  assert.equal(e.request.type, 20);
});

test('link: a veth as ip shows it', () => {
  const m = only(F.linkGetVeth, 1);
  assert.equal(m.header.type, RTM_NEWLINK);
  const link = decodeLink(m.payload);
  assertLinkMatchesIp(link, F.linkGetVeth.printed);
  assert.equal(link.kind, 'veth');
  assert.equal(link.info, null);
  assert.equal(link.type, ARPHRD_ETHER);
  assert.equal(link.flags.up, true);
  assert.equal(link.flags.lowerUp, true);
  assert.equal(link.flags.running, true);
  // "@if2 ... link-netns": the peer is ifindex 2 of another namespace
  assert.equal(link.link, 2);
  assert.equal(typeof link.linkNetnsid, 'number');
  assert.ok(link.stats64);
  assert.ok(link.stats64.txPackets >= 0);
});

test('link: a tun device with its tun attributes', () => {
  const link = decodeLink(only(F.linkGetTun, 1).payload);
  assertLinkMatchesIp(link, F.linkGetTun.printed);
  assert.equal(link.kind, 'tun');
  assert.equal(link.type, ARPHRD_NONE);
  assert.equal(link.flags.pointToPoint, true);
  assert.equal(link.flags.noArp, true);
  assert.deepEqual(link.info, {
    kind: 'tun',
    tunType: 'tun',
    pi: false,
    vnetHdr: false,
    persist: true,
    multiQueue: false,
  });
});

test('link: vxlan data', () => {
  const link = decodeLink(only(F.linkGetVxlan, 1).payload);
  assertLinkMatchesIp(link, F.linkGetVxlan.printed);
  assert.equal(link.kind, 'vxlan');
  const info = link.info;
  assert.ok(info !== null && info.kind === 'vxlan');
  assert.equal(info.vni, 42);
  assert.equal(formatIp(info.group!), '192.0.2.1');
  assert.equal(info.port, 4789);
  assert.equal(info.link, 2);
  assert.equal(info.ttl, 0); // "ttl auto"
  assert.equal(info.udpCsum, true);
});

test('address dump: IPv4 and IPv6 with the flags and lifetimes ip printed', () => {
  const ms = F.addrDump.datagrams.flatMap((_, i) => messagesOf(F.addrDump, i));
  assert.equal(ms.at(-1)!.header.type, NLMSG_DONE);
  assert.equal(decodeDone(ms.at(-1)!.payload, ms.at(-1)!.header.flags).errno, 0);
  const addrs = ms.filter((m) => m.header.type === RTM_NEWADDR).map((m) => decodeAddress(m.payload)!);
  assert.ok(ms.slice(0, -1).every((m) => (m.header.flags & NLM_F_MULTI) !== 0));
  const printed = [...F.addrDump.printed.matchAll(/inet6? (\S+)\/(\d+) scope (\S+)/g)];
  assert.deepEqual(
    addrs.map((a) => [formatIp(a.address), a.prefixLength]),
    printed.map((p) => [p[1], Number(p[2])]),
  );
  const v4 = addrs[0]!;
  assert.equal(v4.family, 4);
  assert.equal(v4.scope, RT_SCOPE_UNIVERSE);
  assert.equal(v4.label, 'bwnl0');
  assert.equal(v4.index, 2);
  assert.equal(v4.validLifetime, INFINITY_LIFE_TIME); // valid_lft forever
  assert.equal(v4.flags & IFA_F_PERMANENT, IFA_F_PERMANENT);
  const v6 = addrs[1]!;
  assert.equal(v6.family, 6);
  assert.equal(v6.flags & IFA_F_NODAD, IFA_F_NODAD);
  const ll = addrs[2]!;
  assert.equal(ll.scope, RT_SCOPE_LINK);
});

test('monitor notifications: link down/up, routes, address add/del', () => {
  const ms = F.monitor.datagrams.flatMap((_, i) => messagesOf(F.monitor, i));
  const summary = ms.map((m) => {
    if (m.header.type === RTM_NEWLINK) {
      const l = decodeLink(m.payload);
      return `link ${l.name} ${l.flags.up ? 'up' : 'down'}`;
    }
    if (m.header.type === 20 || m.header.type === 21) {
      const a = decodeAddress(m.payload)!;
      return `${m.header.type === 20 ? 'new' : 'del'}addr ${formatIp(a.address)}/${a.prefixLength}${a.flags & IFA_F_SECONDARY ? ' secondary' : ''}`;
    }
    const r = decodeRoute(m.payload)!;
    const table = r.table === RT_TABLE_LOCAL ? ' table local' : '';
    return `${m.header.type === 24 ? 'new' : 'del'}route ${r.type} ${formatIp(r.dst!)}/${r.dstLength}${table}`;
  });
  assert.deepEqual(summary, [
    'link bwnl0 down',
    'delroute multicast ff00::/8 table local',
    'link bwnl0 up',
    'newroute unicast 192.0.2.0/24',
    'newroute broadcast 192.0.2.255/32 table local',
    'newroute multicast ff00::/8 table local',
    'link bwnl0 up',
    'newaddr 192.0.2.9/24 secondary',
    'newroute local 192.0.2.9/32 table local',
    'deladdr 192.0.2.9/24 secondary',
    'delroute local 192.0.2.9/32 table local',
  ]);
  const local = decodeRoute(ms[8]!.payload)!;
  assert.equal(local.scope, RT_SCOPE_HOST);
  assert.equal(formatIp(local.prefsrc!), '192.0.2.2');
});

test('MessageBuilder: header, padding, nests, strings', () => {
  const b = new MessageBuilder(RTM_NEWLINK, 0x5);
  b.header(Buffer.alloc(16));
  b.attrU32(IFLA_MTU, 1400);
  b.attrString(3, 'ab'); // 3 bytes + 4 header = 7, padded to 8
  const nest = b.beginNest(26);
  b.beginNest(10);
  b.attrU8(8, 1);
  b.endNest(nest + 4);
  b.endNest(nest);
  b.attrIp(5, parseIp('2001:db8::1'));
  const m = b.finish();
  assert.equal(m.length, m.readUInt32LE(0));
  assert.equal(m.readUInt16LE(4), RTM_NEWLINK);
  assert.equal(m.readUInt16LE(6), 5);
  assert.equal(m.length % 4, 0);
  const [parsed] = parseMessages(m);
  const seen: [number, string][] = [];
  forEachAttr(parsed!.payload, 16, parsed!.payload.length, (type, value) => seen.push([type, value.toString('hex')]));
  assert.deepEqual(seen, [
    [IFLA_MTU, '78050000'],
    [3, '616200'],
    [26, '0c000a000500080001000000'],
    [5, '20010db8000000000000000000000001'],
  ]);
});

test('sockaddr_nl', () => {
  assert.equal(encodeSockaddrNl(0, 0x11).toString('hex'), '100000000000000011000000');
});

test('parseAttrs masks NLA_F_NESTED and NLA_F_NET_BYTEORDER', () => {
  const b = Buffer.from('08000a8001000000', 'hex');
  assert.equal(parseAttrs(b)[10]!.readUInt32LE(0), 1);
});

test('decoders copy what they keep: the buffer can be reused', () => {
  const bytes = Buffer.from(F.routeGet6.datagrams[1]!, 'hex');
  const r = decodeRoute(parseMessages(bytes)[0]!.payload)!;
  bytes.fill(0);
  assert.equal(formatIp(r.gateway!), '2001:db8::1');
});

test('families other than IPv4 and IPv6 are skipped, not misread', () => {
  const rt = Buffer.alloc(12);
  rt.writeUInt8(7, 0); // AF_BRIDGE
  assert.equal(decodeRoute(rt), null);
  const ifa = Buffer.alloc(8);
  ifa.writeUInt8(AF_INET + 1, 0);
  assert.equal(decodeAddress(ifa), null);
});

test('truncation sweep: every cut of every fixture datagram is an EIO BurrowError or decodes', () => {
  const all: Fixture[] = Object.values(F).filter((v): v is Fixture => typeof v === 'object' && 'datagrams' in v);
  let cuts = 0;
  for (const f of all) {
    for (const hex of f.datagrams) {
      const whole = Buffer.from(hex, 'hex');
      for (let len = 0; len < whole.length; len++) {
        cuts++;
        try {
          for (const m of parseMessages(whole.subarray(0, len))) {
            if (m.header.type === RTM_NEWLINK) decodeLink(m.payload);
            else if (m.header.type === RTM_NEWADDR || m.header.type === 21) decodeAddress(m.payload);
            else if (m.header.type === RTM_NEWROUTE || m.header.type === 25) decodeRoute(m.payload);
            else if (m.header.type === NLMSG_ERROR) decodeError(m.payload, m.header.flags);
          }
        } catch (e) {
          assert.ok(e instanceof BurrowError, `${f.command} cut at ${len}: ${String(e)}`);
          assert.equal(e.code, 'EIO');
        }
      }
      // And a payload cut inside its own length: the attributes overrun.
      const [m] = parseMessages(whole);
      if (m!.header.type === RTM_NEWLINK) {
        assert.throws(() => decodeLink(m!.payload.subarray(0, 17 + 4)), BurrowError);
      }
    }
  }
  assert.ok(cuts > 10000);
});
