/**
 * burrow's vxlan against the kernel's vxlan driver, which this machine has: K1 and K2 run the kernel's
 * devices, B runs burrow's, on one underlay LAN (vxlan-lab.ts). What issue 4 asks of it, checked as a
 * user sees it: pings both ways, full-size frames, a TCP transfer byte for byte, VNI and port mismatches,
 * flooding then learned unicast across three hosts, ageing, static entries, `fdb show` and `-d link
 * show` lines equal to the kernel's, malformed VXLAN dropped and counted while traffic flows, restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import {
  B,
  K1,
  K2,
  OVERLAY,
  SW,
  UNDERLAY,
  burrowOk,
  capture,
  counters,
  deleteVxlan,
  inject,
  macOf,
  ping,
  pingOk,
  tcpTransfer,
  towards,
  udpTo,
  unchargedDrops,
  vxlan,
  vxlanHeader,
  vxlanLab,
  waitFor,
} from './vxlan-lab.js';

const skip = labUnavailableReason() ?? undefined;

/** Runs `body` with the listed devices made, and deletes them afterwards whatever happens. */
async function withDevices(lab: Lab, devices: Array<[string, string[], { name?: string; address?: boolean }?]>, body: () => Promise<void>): Promise<void> {
  const made: Array<[string, string]> = [];
  try {
    for (const [ns, args, options] of devices) {
      await vxlan(lab, ns, args, options);
      made.push([ns, options?.name ?? 'vx0']);
    }
    await body();
  } finally {
    for (const [ns, name] of made.reverse()) await deleteVxlan(lab, ns, name).catch(() => undefined);
  }
}

/** A line's vxlan part of `ip -d link show` (from "vxlan" to before "addrgenmode"). */
function vxlanPart(text: string): string {
  const m = /\n {4}(vxlan .*?)addrgenmode/.exec(text);
  assert.ok(m, text);
  return m[1];
}

describe('burrow vxlan with the kernel vxlan as its peer', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await vxlanLab();
  });
  after(() => lab?.destroy());

  it('pings both ways; MTU 1450 over dev eth0; full-size frames with DF; too big fails locally', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1)]], async () => {
      assert.match(await lab.ip(B, ['link', 'show', 'vx0']), /mtu 1450 /);
      await pingOk(lab, K1, OVERLAY[B]);
      await pingOk(lab, B, OVERLAY[K1]);
      // 1422 + 8 + 20 = 1450: the largest IPv4 packet the device takes.
      await pingOk(lab, B, OVERLAY[K1], ['-M', 'do', '-s', '1422', '-c', '3']);
      await pingOk(lab, K1, OVERLAY[B], ['-M', 'do', '-s', '1422', '-c', '3']);
      const tooBig = await ping(lab, B, OVERLAY[K1], ['-M', 'do', '-s', '1423', '-c', '1']);
      assert.match(tooBig.output, /mtu ?= ?1450/, tooBig.output);
      // Counters as the kernel's: the same frames, the same bytes (inner frames less their Ethernet header).
      const k = await counters(lab, K1);
      const b = await counters(lab, B);
      assert.deepEqual([b.rx.packets, b.rx.bytes, b.tx.packets, b.tx.bytes], [k.tx.packets, k.tx.bytes, k.rx.packets, k.rx.bytes]);
      assert.equal(b.rx.errors + b.tx.errors, 0);
    });
  });

  it('without dev: MTU 1500; a full-size frame crosses as outer fragments and lowers the path MTU to 1450, as the kernel does', async () => {
    const noDev = (ns: string, peer: string) => ['id', '100', 'remote', UNDERLAY[peer], 'local', UNDERLAY[ns], 'dstport', '4789'];
    await withDevices(lab, [[K1, noDev(K1, B)], [B, noDev(B, K1)]], async () => {
      assert.match(await lab.ip(B, ['link', 'show', 'vx0']), /mtu 1500 /);
      await pingOk(lab, B, OVERLAY[K1], ['-c', '1']);
      // 1472 + 28 = 1500 bytes of IPv4 in a 1514-byte frame: a 1550-byte outer packet, in two fragments.
      const lines = await capture(lab, SW, 'p2', `src host ${UNDERLAY[B]} and ip[6:2] & 0x3fff != 0`, 2, () =>
        ping(lab, B, OVERLAY[K1], ['-M', 'do', '-s', '1472', '-c', '1', '-W', '2']),
      );
      assert.ok(lines.some((l) => /flags \[\+\], proto UDP \(17\), length 1500\)/.test(l)), lines.join('\n'));
      // skb_tunnel_check_pmtu: each sender now has 1450 (50 less than the path) for the other's address:
      // K1's kernel set it for its echo reply, burrow's frag-needed set it for B's echo request.
      for (const [ns, peer] of [[K1, B], [B, K1]]) {
        await waitFor(`${ns}'s path MTU to ${peer}`, async () => /mtu 1450/.test(await lab.ip(ns, ['route', 'get', OVERLAY[peer]])), 5000);
        const tooBig = await ping(lab, ns, OVERLAY[peer], ['-M', 'do', '-s', '1472', '-c', '1']);
        assert.match(tooBig.output, /mtu ?= ?1450/, tooBig.output);
        await pingOk(lab, ns, OVERLAY[peer], ['-M', 'do', '-s', '1422', '-c', '2']);
        // Without DF the sender fragments the inner packet to the path MTU.
        await pingOk(lab, ns, OVERLAY[peer], ['-s', '2000', '-c', '2']);
      }
      const down = await tcpTransfer(lab, K1, B, 2_000_000);
      assert.equal(down.received, down.sent);
      const up = await tcpTransfer(lab, B, K1, 2_000_000);
      assert.equal(up.received, up.sent);
    });
  });

  it('follows the device: ip link del removes the vxlan from burrow and from its state', async () => {
    await vxlan(lab, B, towards(B, K1));
    await lab.ip(B, ['link', 'del', 'vx0']);
    await waitFor('burrow to forget vx0', async () => !(await burrowOk(lab, B, ['link', 'show'])).includes('vx0'));
    await vxlan(lab, B, towards(B, K1));
    await deleteVxlan(lab, B);
  });

  it('puts on the wire what the kernel does: UDP 4789, hashed source port in 32768..60999, TTL 64, DF clear, checksum, 134 bytes', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1)]], async () => {
      await pingOk(lab, B, OVERLAY[K1], ['-c', '1']);
      // Only the echo requests: 134 bytes of IPv4 in a 148-byte Ethernet frame (ARP is far shorter).
      const lines = await capture(lab, SW, 'p2', `udp and src host ${UNDERLAY[B]} and greater 140`, 3, () => pingOk(lab, B, OVERLAY[K1], ['-c', '3']));
      const outer = lines.filter((l) => /proto UDP/.test(l));
      assert.equal(outer.length, 3, lines.join('\n'));
      for (const l of outer) assert.match(l, /ttl 64, .*flags \[none\], proto UDP \(17\), length 134\)/, l);
      const ports = lines.map((l) => /192\.168\.50\.2\.(\d+) > 192\.168\.50\.1\.4789: VXLAN/.exec(l)?.[1]).filter((p) => p !== undefined).map(Number);
      assert.equal(ports.length, 3, lines.join('\n'));
      assert.equal(new Set(ports).size, 1, 'one flow, one source port');
      assert.ok(ports[0] >= 32768 && ports[0] < 60999, `${ports[0]}`);
      assert.ok(lines.some((l) => /flags \[I\] \(0x08\), vni 100/.test(l)), lines.join('\n'));
      assert.ok(!lines.some((l) => /bad udp cksum/.test(l)), 'the UDP checksum verifies');
    });
  });

  it('carries a TCP transfer byte for byte, both ways', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1)]], async () => {
      const up = await tcpTransfer(lab, B, K1, 4_000_000);
      assert.equal(up.received, up.sent);
      const down = await tcpTransfer(lab, K1, B, 4_000_000);
      assert.equal(down.received, down.sent);
    });
  });

  it('a VNI mismatch passes nothing: B takes none, answers nothing, counts the drops', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1, []).map((w) => (w === '100' ? '200' : w))]], async () => {
      const icmpBefore = await lab.exec(B, ['nstat', '-az', 'IcmpOutDestUnreachs']);
      const before = (await unchargedDrops(lab))['vxlan-unknown-vni'] ?? 0;
      const r = await ping(lab, K1, OVERLAY[B]);
      assert.equal(r.received, 0, r.output);
      assert.equal((await counters(lab, B)).rx.packets, 0);
      assert.ok(((await unchargedDrops(lab))['vxlan-unknown-vni'] ?? 0) > before, 'counted as vxlan-unknown-vni');
      const icmpAfter = await lab.exec(B, ['nstat', '-az', 'IcmpOutDestUnreachs']);
      const sent = (text: string) => Number(/IcmpOutDestUnreachs\s+(\d+)/.exec(text)?.[1] ?? 0);
      assert.equal(sent(icmpAfter.stdout), sent(icmpBefore.stdout), 'no ICMP for an unknown VNI');
    });
  });

  it('a port mismatch gets the kernel own ICMP port unreachable from B', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1).map((w) => (w === '4789' ? '8472' : w))]], async () => {
      const lines = await capture(lab, SW, 'p2', `icmp and src host ${UNDERLAY[B]}`, 1, () => ping(lab, K1, OVERLAY[B], ['-c', '2']));
      assert.ok(lines.some((l) => /udp port 4789 unreachable/.test(l)), lines.join('\n'));
    });
  });

  it('three hosts: broadcast floods to every remote, then unicast goes to the owner only', async () => {
    const bArgs = ['id', '100', 'remote', UNDERLAY[K1], 'local', UNDERLAY[B], 'dev', 'eth0', 'dstport', '4789'];
    await withDevices(lab, [[K1, towards(K1, B)], [K2, towards(K2, B)], [B, bArgs]], async () => {
      await burrowOk(lab, B, ['fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', UNDERLAY[K2]]);
      const k1Before = await counters(lab, K1);
      // The ARP request for K2's overlay address is a broadcast: one copy to K1, one to K2.
      await pingOk(lab, B, OVERLAY[K2], ['-c', '1']);
      const k1Flooded = await counters(lab, K1);
      assert.equal(k1Flooded.rx.packets - k1Before.rx.packets, 1, 'K1 got the flooded ARP request, and nothing else');
      // K2 answered from its MAC and underlay address: B learned it, and unicast goes to K2 alone.
      const k2Mac = await macOf(lab, K2);
      assert.match(await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0']), new RegExp(`^${k2Mac} dst ${UNDERLAY[K2].replace(/\./g, '\\.')} self $`, 'm'));
      const k2Before = await counters(lab, K2);
      await pingOk(lab, B, OVERLAY[K2], ['-c', '10']);
      assert.equal((await counters(lab, K1)).rx.packets, k1Flooded.rx.packets, 'K1 saw none of the unicast');
      assert.equal((await counters(lab, K2)).rx.packets - k2Before.rx.packets, 10, 'K2 got each echo request once');
    });
  });

  it('the kernel floods to burrow too: K1 with B and K2 in its default entry reaches both', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [K2, towards(K2, K1)], [B, towards(B, K1)]], async () => {
      await lab.run(K1, ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', UNDERLAY[K2]]);
      await pingOk(lab, K1, OVERLAY[B], ['-c', '3']);
      await pingOk(lab, K1, OVERLAY[K2], ['-c', '3']);
      const bSeen = await counters(lab, B);
      assert.ok(bSeen.rx.packets >= 3 + 2, 'B got its echo requests and the flooded ARP requests');
    });
  });

  it('a multicast group: broadcasts go to the group (TTL 1), every member gets them, unicast follows learning', async () => {
    const group = (ns: string) => ['id', '100', 'group', '239.1.1.1', 'local', UNDERLAY[ns], 'dev', 'eth0', 'dstport', '4789'];
    await withDevices(lab, [[K1, group(K1)], [K2, group(K2)], [B, group(B)]], async () => {
      const k2Before = await counters(lab, K2);
      const lines = await capture(lab, SW, 'p2', `udp and dst host 239.1.1.1`, 1, () => pingOk(lab, B, OVERLAY[K1], ['-c', '3']));
      assert.match(lines[0] ?? '', /ttl 1, .*proto UDP \(17\)/, lines.join('\n'));
      assert.ok((await counters(lab, K2)).rx.packets > k2Before.rx.packets, 'K2, a member, got the ARP request');
      await pingOk(lab, K1, OVERLAY[B], ['-c', '3']);
      await pingOk(lab, K2, OVERLAY[B], ['-c', '3']);
      assert.match(await burrowOk(lab, B, ['-d', 'link', 'show', 'vx0']), /vxlan id 100 group 239\.1\.1\.1 local 192\.168\.50\.2 dev eth0 /);
    });
  });

  it('ageing: a learned entry goes `ageing` seconds (at most 10 s more, as the kernel scans) after its last refresh', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1, ['ageing', '3'])]], async () => {
      await pingOk(lab, K1, OVERLAY[B], ['-c', '1']);
      const k1Mac = await macOf(lab, K1);
      assert.match(await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0']), new RegExp(`^${k1Mac} dst`, 'm'));
      const waited = await waitFor('the learned entry to age out', async () => !(await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0'])).includes(k1Mac), 20_000);
      assert.ok(waited >= 2_000, `gone after ${waited} ms: too early for ageing 3`);
      assert.match(await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0']), /^00:00:00:00:00:00 dst 192\.168\.50\.1 via eth0 self permanent$/m, 'the default entry stays');
      await pingOk(lab, K1, OVERLAY[B], ['-c', '1']);
    });
  });

  it('static entries win: sending follows them, and frames from their MAC elsewhere are dropped, not migrated', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1, ['nolearning'])]], async () => {
      const k1Mac = await macOf(lab, K1);
      // A static entry that sends K1's MAC to K2's address: the default entry no longer applies to it.
      await burrowOk(lab, B, ['fdb', 'add', k1Mac, 'dev', 'vx0', 'dst', UNDERLAY[K2], 'static']);
      await lab.ip(B, ['neigh', 'replace', OVERLAY[K1], 'lladdr', k1Mac, 'dev', 'vx0', 'nud', 'permanent']);
      const lines = await capture(lab, SW, 'p3', `udp port 4789 and src host ${UNDERLAY[B]}`, 2, () => ping(lab, B, OVERLAY[K1], ['-c', '2']));
      assert.equal(lines.filter((l) => l.includes(`> ${UNDERLAY[K2]}.4789`)).length, 2, `both went to K2:\n${lines.join('\n')}`);
      assert.match(await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0']), new RegExp(`^${k1Mac} dst ${UNDERLAY[K2].replace(/\./g, '\\.')} self static$`, 'm'));
      await burrowOk(lab, B, ['fdb', 'replace', k1Mac, 'dev', 'vx0', 'dst', UNDERLAY[K1]]);
      await pingOk(lab, B, OVERLAY[K1]);
    });
    // With learning on, a static entry does not move when its MAC shows up elsewhere.
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1)]], async () => {
      const k1Mac = await macOf(lab, K1);
      await burrowOk(lab, B, ['fdb', 'add', k1Mac, 'dev', 'vx0', 'dst', UNDERLAY[K2]]);
      const r = await ping(lab, K1, OVERLAY[B], ['-c', '3']);
      assert.equal(r.received, 0, r.output);
      const b = await counters(lab, B);
      // K1's ARP requests come from its MAC at K1's address, where the static entry does not point.
      assert.ok((b.drops['fdb-static-conflict'] ?? 0) >= 1, JSON.stringify(b.drops));
      assert.match(await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0']), new RegExp(`^${k1Mac} dst ${UNDERLAY[K2].replace(/\./g, '\\.')} self permanent$`, 'm'));
    });
  });

  it('fdb show and -d link show print what the kernel prints for the same configuration', async () => {
    const args = ['id', '300', 'remote', '192.168.50.9', 'dev', 'eth0', 'dstport', '4789', 'srcport', '1000', '2000', 'ttl', '10', 'tos', 'inherit', 'df', 'set', 'nolearning', 'ageing', '30', 'maxaddress', '50', 'noudpcsum'];
    const entries = [
      ['add', '02:00:00:00:00:01', 'dst', '10.0.0.1'],
      ['add', '02:00:00:00:00:02', 'dst', '10.0.0.2', 'static'],
      ['add', '02:00:00:00:00:03', 'dst', '10.0.0.3', 'dynamic', 'router'],
      ['append', '00:00:00:00:00:00', 'dst', '10.0.0.5'],
      ['append', '00:00:00:00:00:00', 'dst', '10.0.0.6', 'port', '5000', 'vni', '7'],
      ['replace', '02:00:00:00:00:01', 'dst', '10.0.0.8', 'via', 'eth0'],
      ['add', '01:00:5e:00:00:01', 'dst', '10.0.0.11'],
      ['append', '01:00:5e:00:00:01', 'dst', '10.0.0.12'],
      ['del', '00:00:00:00:00:00', 'dst', '10.0.0.5'],
    ];
    await withDevices(lab, [[K2, args, { name: 'vx9', address: false }], [B, args, { name: 'vx9', address: false }]], async () => {
      for (const [verb, ...rest] of entries) {
        await lab.run(K2, ['bridge', 'fdb', verb, ...rest.slice(0, 1), 'dev', 'vx9', ...rest.slice(1)]);
        await burrowOk(lab, B, ['fdb', verb, ...rest.slice(0, 1), 'dev', 'vx9', ...rest.slice(1)]);
      }
      for (const options of [[], ['-j'], ['-j', '-p']]) {
        const kernel = await lab.run(K2, ['bridge', ...options, 'fdb', 'show', 'dev', 'vx9']);
        assert.equal(await burrowOk(lab, B, [...options, 'fdb', 'show', 'dev', 'vx9']), kernel, `fdb show ${options.join(' ')}`);
      }
      const kernelAll = (await lab.run(K2, ['bridge', 'fdb', 'show'])).split('\n').filter((l) => l.includes('dev vx9')).join('\n');
      assert.equal((await burrowOk(lab, B, ['fdb', 'show'])).trim(), kernelAll, 'fdb show without dev');
      const kernelDetail = await lab.ip(K2, ['-d', 'link', 'show', 'vx9']);
      assert.equal(vxlanPart(await burrowOk(lab, B, ['-d', 'link', 'show', 'vx9'])), vxlanPart(kernelDetail));
      const info = (text: string) => (JSON.parse(text) as Array<{ linkinfo: unknown; mtu: number }>)[0];
      const kernelJson = info(await lab.ip(K2, ['-d', '-j', 'link', 'show', 'vx9']));
      const burrowJson = info(await burrowOk(lab, B, ['-d', '-j', 'link', 'show', 'vx9']));
      assert.deepEqual(burrowJson.linkinfo, kernelJson.linkinfo);
      assert.equal(burrowJson.mtu, kernelJson.mtu);
    });
  });

  it('malformed VXLAN is dropped and counted while good traffic flows', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1)]], async () => {
      await pingOk(lab, K1, OVERLAY[B], ['-c', '1']);
      const k1Mac = Buffer.from((await macOf(lab, K1)).replace(/:/g, ''), 'hex');
      const bMac = Buffer.from((await macOf(lab, B)).replace(/:/g, ''), 'hex');
      const frame = (etherType: number, payload: number) => Buffer.concat([bMac, k1Mac, Buffer.from([etherType >> 8, etherType & 0xff]), Buffer.alloc(payload)]);
      const bad: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) {
        bad.push(udpTo(Buffer.alloc(i % 8))); // shorter than the VXLAN header
        bad.push(udpTo(Buffer.concat([vxlanHeader(100, 0x00), frame(0x0800, 40)]))); // I flag clear
        bad.push(udpTo(Buffer.concat([vxlanHeader(100, 0x0c), frame(0x0800, 40)]))); // a reserved flag bit
        bad.push(udpTo(Buffer.concat([vxlanHeader(100), Buffer.alloc(10)]))); // inner frame truncated
        bad.push(udpTo(Buffer.concat([vxlanHeader(100), frame(0x0800, 10)]))); // inner IPv4 header truncated
        bad.push(udpTo(Buffer.concat([vxlanHeader(4242), frame(0x0800, 40)]))); // unknown VNI
        if (i % 4 === 0) bad.push(udpTo(Buffer.concat([vxlanHeader(100), frame(0x0800, 40)]), 4789, 0x03)); // outer CE, inner Not-ECT
      }
      const before = await counters(lab, B);
      const uncharged = await unchargedDrops(lab);
      const pinging = ping(lab, K1, OVERLAY[B], ['-c', '40', '-i', '0.02']);
      assert.equal(inject(lab, K1, bad), bad.length);
      const r = await pinging;
      assert.equal(r.received, 40, r.output);
      const after = await counters(lab, B);
      const moved = (key: string) => (after.drops[key] ?? 0) - (before.drops[key] ?? 0);
      assert.equal(moved('vxlan-reserved-bits'), 20);
      assert.equal(moved('inner-truncated'), 20);
      assert.equal(moved('inner-malformed'), 20);
      assert.equal(moved('ecn-ce-not-ect'), 5, 'RFC 6040: CE outside a Not-ECT inner packet is dropped');
      assert.equal(after.rx.frame_errors! - before.rx.frame_errors!, 25, 'reserved bits and ECN count as frame errors, as the kernel counts them');
      assert.equal(after.rx.length_errors! - before.rx.length_errors!, 20);
      const now = await unchargedDrops(lab);
      for (const reason of ['vxlan-truncated', 'vxlan-bad-flags', 'vxlan-unknown-vni']) {
        assert.equal((now[reason] ?? 0) - (uncharged[reason] ?? 0), 20, reason);
      }
      assert.equal(after.rx.packets - before.rx.packets, 40, 'every echo request, and nothing else');
    });
  });

  it('survives SIGKILL of its daemon: the device, its address and the static FDB entries are adopted', async () => {
    await withDevices(lab, [[K1, towards(K1, B)], [B, towards(B, K1)]], async () => {
      await burrowOk(lab, B, ['fdb', 'add', '02:00:00:00:00:77', 'dev', 'vx0', 'dst', '192.168.50.77']);
      await pingOk(lab, B, OVERLAY[K1]);
      const status = await burrowOk(lab, B, ['daemon', 'status']);
      const pid = Number(/pid (\d+)/.exec(status)![1]);
      process.kill(pid, 'SIGKILL');
      await waitFor('the daemon to go', async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      });
      assert.equal((await ping(lab, B, OVERLAY[K1], ['-c', '2'])).received, 0, 'no daemon, no traffic');
      const shown = await burrowOk(lab, B, ['fdb', 'show', 'dev', 'vx0']);
      assert.match(shown, /^02:00:00:00:00:77 dst 192\.168\.50\.77 self permanent$/m);
      assert.match(shown, /^00:00:00:00:00:00 dst 192\.168\.50\.1 via eth0 self permanent$/m);
      assert.match(await lab.ip(B, ['addr', 'show', 'vx0']), /inet 10\.50\.0\.2\/24/);
      await pingOk(lab, B, OVERLAY[K1]);
    });
  });
});
