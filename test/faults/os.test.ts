/**
 * Fault group E (reliability.md section 6): the operating system under the daemon. The tunnel device
 * deleted or set down, the underlay address and routes removed and restored, the underlay MTU changed,
 * a full underlay queue, a firewall, SIGKILL in the middle of a change, two daemons at once, SIGTERM.
 * Traffic that flows through a fault is delivered or lost for a reason the fault explains, and comes
 * back when the fault goes (the time it takes is recorded).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import fc from 'fast-check';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { inject, ping } from '../integration/tunnel-lab.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { fillGreChecksum, writeGreHeader } from '../../src/wire/gre.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import {
  alive,
  burrowOut,
  counterDelta,
  daemonFiles,
  dropDelta,
  fillTxLedger,
  kernelCounters,
  loggedCounters,
  rawDrops,
  readCounters,
  scenario,
  settledCounters,
  sleep,
  snapshot,
  tunnelDelta,
  txPoint,
  until,
} from './harness.js';
import { A, A_ADDR, A_UNDERLAY, B, B_ADDR, B_UNDERLAY, faultLab, pair, R } from './lab.js';
import { FAULT_SEED } from './report.js';

const skip = labUnavailableReason() ?? undefined;
const C = 'c';

/** ICMP frag-needed from R to A with `mtu`, quoting the start of an outer gre packet A sent B. */
function forgedFragNeeded(mtu: number): Uint8Array {
  const quote = new Uint8Array(28);
  writeIpv4Header(quote, 0, 0, 1460, 0, true, 64, 47, A_ADDR, B_ADDR);
  writeGreHeader(quote, 20, 0xa000, 0x0800, 7, 0);
  const p = new Uint8Array(20 + 8 + quote.length);
  writeIpv4Header(p, 0, 0xc0, p.length, 0, false, 64, 1, 0xc0a800fe, A_ADDR);
  p[20] = 3;
  p[21] = 4;
  p[26] = mtu >> 8;
  p[27] = mtu & 0xff;
  p.set(quote, 28);
  const sum = internetChecksum(p, 20, p.length - 20);
  p[22] = sum >> 8;
  p[23] = sum;
  return p;
}

/** What A's vpn0 (gre key 7 csum) sends B: an echo request to 10.0.0.2 with sequence number `i`. */
function greToVpn0(i: number): Uint8Array {
  const p = new Uint8Array(20 + 12 + 84);
  writeIpv4Header(p, 0, 0, p.length, 0, true, 64, 47, A_ADDR, B_ADDR);
  writeGreHeader(p, 20, 0xa000, 0x0800, 7, 0);
  writeIpv4Header(p, 32, 0, 84, i & 0xffff, false, 64, 1, 0x0a000001, 0x0a000002);
  p[52] = 8;
  p[58] = (i >> 8) & 0xff;
  p[59] = i & 0xff;
  const icmp = internetChecksum(p, 52, 64);
  p[54] = icmp >> 8;
  p[55] = icmp;
  fillGreChecksum(p, 20, p.length - 20);
  return p;
}

/** Pings in the background while `during` runs; resolves with ping's summary. */
async function pingThrough(lab: Lab, target: string, count: number, during: () => Promise<void>) {
  const pinging = ping(lab, A, target, ['-c', String(count), '-i', '0.02', '-W', '0.5']);
  await sleep(200);
  await during();
  return pinging;
}

/** How long until a ping through the tunnel is answered again. */
async function recovery(lab: Lab, target: string): Promise<number> {
  const since = Date.now();
  const ms = await until(async () => (await ping(lab, A, target, ['-c', '1', '-W', '0.3'])).received === 1, 15_000, 0);
  assert.ok(ms >= 0, 'traffic flows again');
  return Date.now() - since;
}

/** The TUN devices of a namespace, by name. */
async function tunDevices(lab: Lab, ns: string): Promise<string[]> {
  const links = JSON.parse(await lab.ip(ns, ['-d', '-j', 'link', 'show'])) as Array<{ ifname: string; linkinfo?: { info_kind?: string } }>;
  return links.filter((l) => l.linkinfo?.info_kind === 'tun').map((l) => l.ifname).sort();
}

function stateTunnels(lab: Lab, ns: string): string[] {
  try {
    const state = JSON.parse(fs.readFileSync(daemonFiles(lab, ns).state, 'utf8')) as { tunnels: { name: string }[] };
    return state.tunnels.map((t) => t.name).sort();
  } catch {
    return [];
  }
}

function daemonPidFromFile(lab: Lab, ns: string): number {
  return Number(fs.readFileSync(daemonFiles(lab, ns).pid, 'utf8').trim());
}

async function gone(pid: number): Promise<void> {
  assert.ok((await until(() => !alive(pid), 10_000)) >= 0, `pid ${pid} still runs`);
}

describe('faults E: the operating system', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await faultLab(false);
  });
  after(() => lab?.destroy());

  scenario('E', 'the tunnel device deleted under the daemon while traffic flows: forgotten, counted, re-made', () => lab, { watch: [A, B] }, async (s) => {
    await pair(lab, 'vd0', ['mode', 'ipip', 'ttl', '64'], 2);
    const a0 = await readCounters(lab, A);
    const b0 = await readCounters(lab, B);
    const k0 = await kernelCounters(lab, B);
    const log = daemonFiles(lab, B).log;
    const logBefore = fs.readFileSync(log, 'utf8').length;
    const result = await pingThrough(lab, '10.2.0.2', 40, async () => {
      await lab.ip(B, ['link', 'del', 'vd0']);
    });
    const a1 = await settledCounters(lab, A);
    const b1 = await settledCounters(lab, B);
    const k1 = await kernelCounters(lab, B);
    // burrow logged the tunnel's last counters as it removed it: those are B's deliveries.
    const line = fs.readFileSync(log, 'utf8').slice(logBefore).split('\n').find((l) => / vd0 .*removed the tunnel: /.test(l));
    assert.ok(line, 'the removal is logged with the counters');
    const logged = loggedCounters(line);
    const ledger = s.ledger('A vd0 to B');
    ledger.sent = tunnelDelta(a0, a1, 'vd0').tx.packets;
    ledger.delivered = logged.rxPackets;
    ledger.explainAll(logged.drops);
    ledger.explainAll(dropDelta(b0, b1));
    // With no ipip tunnel left, B closed its protocol 4 socket: the kernel answers those itself.
    ledger.explain('kernel:Ip.InUnknownProtos (no tunnel of that protocol left)', counterDelta(k0, k1, 'Ip.InUnknownProtos'));
    ledger.reconcile();
    assert.ok(result.received > 0 && result.received < result.transmitted, result.output);
    assert.doesNotMatch(await burrowOut(lab, B, ['tunnel', 'show']), /vd0/);
    assert.deepEqual(stateTunnels(lab, B), ['vpn0'], 'gone from the state file too');
    // Re-made by hand, it carries traffic again.
    const since = Date.now();
    await burrowOut(lab, B, ['tunnel', 'add', 'vd0', 'mode', 'ipip', 'remote', A_UNDERLAY, 'local', B_UNDERLAY, 'ttl', '64']);
    await lab.run(B, ['sysctl', '-qw', 'net.ipv6.conf.vd0.disable_ipv6=1']);
    await lab.ip(B, ['link', 'set', 'vd0', 'up']);
    await lab.ip(B, ['addr', 'add', '10.2.0.2/24', 'dev', 'vd0']);
    await recovery(lab, '10.2.0.2');
    s.recovered(Date.now() - since);
    for (const ns of [A, B]) await burrowOut(lab, ns, ['tunnel', 'del', 'vd0']);
  });

  scenario('E', 'the tunnel device set down under the daemon while traffic flows: no-tunnel while down, back when up', () => lab, { watch: [A, B] }, async (s) => {
    const a0 = await readCounters(lab, A);
    const b0 = await readCounters(lab, B);
    const result = await pingThrough(lab, '10.0.0.2', 60, async () => {
      await lab.ip(B, ['link', 'set', 'vpn0', 'down']);
      await sleep(400);
      await lab.ip(B, ['link', 'set', 'vpn0', 'up']);
      s.recovered(await recovery(lab, '10.0.0.2'));
    });
    const a1 = await settledCounters(lab, A);
    const b1 = await settledCounters(lab, B);
    const ledger = s.ledger('A vpn0 to B');
    ledger.sent = tunnelDelta(a0, a1, 'vpn0').tx.packets;
    ledger.delivered = tunnelDelta(b0, b1, 'vpn0').rx.packets;
    ledger.explainAll(dropDelta(b0, b1));
    ledger.reconcile();
    assert.ok((ledger.explained['no-tunnel'] ?? 0) + (ledger.explained['rx-device-error'] ?? 0) > 0, 'some arrived while it was down');
    assert.ok(result.received < result.transmitted);
    // Down again in the middle of a backlog: the packets burrow writes before it hears of it fail (EIO).
    const packets = Array.from({ length: 6000 }, (_, i) => greToVpn0(i));
    const c0 = await readCounters(lab, B);
    const raw0 = await rawDrops(lab, B);
    let sent = inject(lab, R, packets.slice(0, 3000));
    const down = lab.ip(B, ['link', 'set', 'vpn0', 'down']);
    sent += inject(lab, R, packets.slice(3000));
    await down;
    await sleep(500);
    await lab.ip(B, ['link', 'set', 'vpn0', 'up']);
    const c1 = await settledCounters(lab, B);
    const raw1 = await rawDrops(lab, B);
    const burst = s.ledger('a backlog for vpn0 on B as it goes down');
    burst.sent = sent;
    burst.delivered = tunnelDelta(c0, c1, 'vpn0').rx.packets;
    burst.explainAll(dropDelta(c0, c1));
    burst.explain('kernel:raw socket receive buffer', (raw1[47] ?? 0) - (raw0[47] ?? 0));
    burst.reconcile();
    console.log(`  down under a backlog: ${JSON.stringify({ delivered: burst.delivered, ...burst.explained })}`);
  });

  scenario('E', 'the underlay address removed and re-added, then the routes flushed and restored, while traffic flows', () => lab, { watch: [A, B] }, async (s) => {
    const t0 = await txPoint(lab, A, 'vpn0');
    const b0 = await readCounters(lab, B);
    const restore = async (): Promise<void> => {
      await lab.ip(A, ['addr', 'replace', `${A_UNDERLAY}/24`, 'dev', 'eth0']);
      await lab.ip(A, ['route', 'replace', 'default', 'via', '192.168.0.254']);
    };
    try {
      await pingThrough(lab, '10.0.0.2', 80, async () => {
        await lab.ip(A, ['addr', 'del', `${A_UNDERLAY}/24`, 'dev', 'eth0']);
        await sleep(300);
        await restore();
        await sleep(300);
        await lab.ip(A, ['route', 'flush', 'dev', 'eth0']);
        await sleep(300);
        await lab.ip(A, ['route', 'replace', '192.168.0.0/24', 'dev', 'eth0', 'proto', 'kernel', 'scope', 'link', 'src', A_UNDERLAY]);
        await restore();
      });
    } finally {
      await restore();
    }
    s.recovered(await recovery(lab, '10.0.0.2'));
    const t1 = await txPoint(lab, A, 'vpn0');
    const b1 = await settledCounters(lab, B);
    const tx = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
    tx.reconcile();
    assert.ok((tx.explained['no-route'] ?? 0) > 0, `counted as no-route: ${JSON.stringify(tx.explained)}`);
    const wire = s.ledger('A vpn0 to B');
    wire.sent = tunnelDelta(t0.counters, t1.counters, 'vpn0').tx.packets;
    wire.delivered = tunnelDelta(b0, b1, 'vpn0').rx.packets;
    wire.explainAll(dropDelta(b0, b1));
    wire.reconcile();
  });

  scenario('E', 'the underlay MTU lowered and raised at runtime: the new path MTU applies at once (S17)', () => lab, { watch: [A] }, async (s) => {
    const t0 = await txPoint(lab, A, 'vpn0');
    try {
      await lab.ip(A, ['link', 'set', 'eth0', 'mtu', '1400']);
      await sleep(300);
      const small = await ping(lab, A, '10.0.0.2', ['-c', '2', '-M', 'do', '-s', '1400']);
      assert.equal(small.received, 0);
      assert.match(small.output, /mtu ?= ?1368/, small.output);
    } finally {
      await lab.ip(A, ['link', 'set', 'eth0', 'mtu', '1500']);
      await lab.ip(A, ['route', 'replace', 'default', 'via', '192.168.0.254']);
      await lab.ip(A, ['route', 'flush', 'cache']);
    }
    await sleep(300);
    const big = await ping(lab, A, '10.0.0.2', ['-c', '2', '-M', 'do', '-s', '1400']);
    assert.equal(big.received, 2, big.output);
    const t1 = await txPoint(lab, A, 'vpn0');
    const tx = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
    tx.reconcile();
    assert.ok((tx.explained['too-big'] ?? 0) >= 1);
  });

  scenario('E', 'ICMP frag-needed from the underlay lowers the tunnel\'s path MTU, never below 552, and it rises again (S2)', () => lab, { watch: [A, B] }, async (s) => {
    const mtu = async (value: number): Promise<void> => {
      await lab.ip(R, ['link', 'set', 'eth1', 'mtu', String(value)]);
      await lab.ip(B, ['link', 'set', 'eth0', 'mtu', String(value)]);
    };
    try {
      // R's link to B takes 1300 bytes: R answers A's 1460-byte outer packets with frag-needed.
      await mtu(1300);
      const t0 = await txPoint(lab, A, 'vpn0');
      const b0 = await readCounters(lab, B);
      const r0 = await kernelCounters(lab, R);
      const r = await ping(lab, A, '10.0.0.2', ['-c', '8', '-i', '0.4', '-M', 'do', '-s', '1400', '-W', '0.3']);
      const t1 = await txPoint(lab, A, 'vpn0');
      const b1 = await settledCounters(lab, B);
      const r1 = await kernelCounters(lab, R);
      const tx = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
      tx.reconcile();
      assert.ok((tx.explained['too-big'] ?? 0) >= 1, `burrow learned the path MTU: ${JSON.stringify(tx.explained)}`);
      assert.match(r.output, /mtu ?= ?1268/, r.output);
      const wire = s.ledger('A vpn0 across R');
      wire.sent = tunnelDelta(t0.counters, t1.counters, 'vpn0').tx.packets;
      wire.delivered = tunnelDelta(b0, b1, 'vpn0').rx.packets;
      wire.explainAll(dropDelta(b0, b1));
      wire.explain('kernel:R Ip.FragFails (DF over the link MTU)', counterDelta(r0, r1, 'Ip.FragFails'));
      wire.reconcile();
      // A forged frag-needed saying 68 about an outer packet of ours: the kernel keeps 552 (min_pmtu).
      const forged = forgedFragNeeded(68);
      assert.equal(inject(lab, R, [forged]), 1);
      s.badInputs(1);
      await sleep(1500);
      const small = await ping(lab, A, '10.0.0.2', ['-c', '2', '-M', 'do', '-s', '600', '-W', '0.3']);
      assert.match(small.output, /mtu ?= ?520/, `552 - 32 for the inner packet: ${small.output}`);
    } finally {
      await mtu(1500);
      await lab.ip(A, ['route', 'flush', 'cache']);
    }
    // The path is whole again (the kernel forgets the exception; here, flushed): so does burrow.
    await sleep(1500);
    const back = await ping(lab, A, '10.0.0.2', ['-c', '2', '-M', 'do', '-s', '1400', '-W', '1']);
    assert.equal(back.received, 2, back.output);
  });

  scenario('E', 'a full underlay queue (ENOBUFS): every packet burrow could not send is counted as tx-no-buffer', () => lab, { watch: [A, B] }, async (s) => {
    await lab.run(A, ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', '200kbit', 'burst', '1600', 'limit', '1600']);
    try {
      const t0 = await txPoint(lab, A, 'vpn0');
      const b0 = await readCounters(lab, B);
      const r = await ping(lab, A, '10.0.0.2', ['-c', '100', '-i', '0.002', '-s', '1000', '-W', '0.5']);
      await sleep(500);
      const t1 = await txPoint(lab, A, 'vpn0');
      const b1 = await settledCounters(lab, B);
      const tx = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
      tx.reconcile();
      // What burrow counts as sent, B got: the queue's drops are not hidden among them.
      const wire = s.ledger('A vpn0 to B');
      wire.sent = tunnelDelta(t0.counters, t1.counters, 'vpn0').tx.packets;
      wire.delivered = tunnelDelta(b0, b1, 'vpn0').rx.packets;
      wire.explainAll(dropDelta(b0, b1));
      wire.reconcile();
      // What burrow counts as sent, the qdisc took: the requests that were not answered are its drops.
      const nobufs = tx.explained['tx-no-buffer'] ?? 0;
      assert.ok(nobufs > 0, `some were refused: ${JSON.stringify(tx.explained)}; ${r.received}/${r.transmitted}`);
      assert.ok(r.transmitted - r.received >= nobufs, r.output);
    } finally {
      await lab.run(A, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
    }
  });

  scenario('E', 'a firewall refusing the outer packets (EPERM): counted as tx-send-failed, traffic back without it', () => lab, { watch: [A] }, async (s) => {
    await lab.run(A, ['iptables', '-A', 'OUTPUT', '-p', 'gre', '-j', 'DROP']);
    let removed = false;
    try {
      const t0 = await txPoint(lab, A, 'vpn0');
      const r = await ping(lab, A, '10.0.0.2', ['-c', '5', '-i', '0.05', '-W', '0.2']);
      const t1 = await txPoint(lab, A, 'vpn0');
      assert.equal(r.received, 0);
      const tx = fillTxLedger(s.ledger('A vpn0 transmit'), 'vpn0', t0, t1);
      tx.reconcile();
      assert.ok((tx.explained['tx-send-failed'] ?? 0) >= 5, JSON.stringify(tx.explained));
      await lab.run(A, ['iptables', '-D', 'OUTPUT', '-p', 'gre', '-j', 'DROP']);
      removed = true;
      s.recovered(await recovery(lab, '10.0.0.2'));
    } finally {
      if (!removed) await lab.run(A, ['iptables', '-D', 'OUTPUT', '-p', 'gre', '-j', 'DROP']);
    }
  });

  scenario('E', 'SIGKILL in the middle of adds and deletes: every tunnel has its device, and every device its tunnel', () => lab, { watch: [], restarts: true }, async (s) => {
    const delays = fc.sample(fc.integer({ min: 0, max: 30 }), { seed: FAULT_SEED, numRuns: 8 });
    const dir = path.dirname(daemonFiles(lab, C).state);
    const outcomes: string[] = [];
    for (let round = 0; round < delays.length; round++) {
      const name = `k${round}`;
      await burrowOut(lab, C, ['daemon', 'start']);
      const pid = daemonPidFromFile(lab, C);
      const adding = round % 2 === 0;
      if (!adding) await burrowOut(lab, C, ['tunnel', 'add', name, 'mode', 'gre', 'remote', '172.16.0.1', 'local', '172.16.0.5', 'key', String(round)]);
      // Kill when the change becomes visible: the device appears (add), the state file is rewritten (delete).
      let killed = false;
      const kill = (): void => {
        if (killed) return;
        killed = true;
        setTimeout(() => process.kill(pid, 'SIGKILL'), delays[round] % 5);
      };
      const watcher = fs.watch(dir, (_event, file) => {
        if (!adding && file === 'state.json') kill();
      });
      const monitor = adding ? lab.spawn(C, ['ip', 'monitor', 'link']) : null;
      if (monitor) await monitor.waitForOutput('', { timeoutMs: 1000 }).catch(() => {});
      const command = lab.burrow(C, adding
        ? ['tunnel', 'add', name, 'mode', 'gre', 'remote', '172.16.0.1', 'local', '172.16.0.5', 'key', String(round)]
        : ['tunnel', 'del', name]);
      if (monitor) {
        await monitor.waitForOutput(new RegExp(`: ${name}:`), { timeoutMs: 5000 }).catch(() => {});
        kill();
      }
      const result = await command;
      kill();
      watcher.close();
      if (monitor) await lab.kill(monitor);
      await gone(pid);
      outcomes.push(`${adding ? 'add' : 'del'} ${name}: exit ${result.code}`);
      // The next command starts a daemon that adopts what the state file says.
      const shown = (await burrowOut(lab, C, ['tunnel', 'show'])).split('\n').filter(Boolean).map((l) => l.split(':')[0]).sort();
      const devices = await tunDevices(lab, C);
      assert.deepEqual(devices, shown, `round ${round} (${outcomes.at(-1)}): devices ${devices} but tunnels ${shown}`);
      assert.deepEqual(stateTunnels(lab, C), shown, `round ${round}: the state file agrees`);
      // An acknowledged change happened; one that was not may or may not have.
      if (result.code === 0) assert.equal(shown.includes(name), adding, `round ${round}: acknowledged ${outcomes.at(-1)}`);
      if (shown.includes(name)) await burrowOut(lab, C, ['tunnel', 'del', name]);
    }
    s.badInputs(delays.length);
    await burrowOut(lab, C, ['daemon', 'stop', '--flush']);
    const left = await tunDevices(lab, C);
    for (const name of left) await lab.ip(C, ['link', 'del', name]); // for the scenarios after this one
    assert.deepEqual(left, [], 'no device left behind');
  });

  scenario('E', 'five daemons started at once: one runs, the others exit 1 saying so', () => lab, { watch: [], restarts: true }, async (s) => {
    const daemons = Array.from({ length: 5 }, () => lab.spawn(C, [lab.burrowPath!, 'daemon', 'run']));
    await sleep(2000);
    const running = daemons.filter((d) => d.running);
    assert.equal(running.length, 1, 'exactly one daemon runs');
    for (const d of daemons.filter((x) => !x.running)) {
      assert.equal(d.exit?.code, 1);
      assert.match(d.stderr, /^burrow: a daemon is already running in this network namespace \(pid \d+\)\n$/);
    }
    assert.equal(daemonPidFromFile(lab, C), running[0].pid);
    s.badInputs(4);
    await burrowOut(lab, C, ['daemon', 'stop', '--flush']);
    await running[0].wait(10_000);
    assert.equal(running[0].exit?.code, 0);
  });

  scenario('E', 'SIGTERM keeps the devices, addresses, routes and state as README says; the next daemon adopts them; stop --flush removes all', () => lab, { watch: [], restarts: true }, async (s) => {
    await burrowOut(lab, C, ['tunnel', 'add', 'st0', 'mode', 'ipip', 'remote', '172.16.0.1', 'local', '172.16.0.5', 'ttl', '64']);
    await lab.ip(C, ['link', 'set', 'st0', 'up']);
    await lab.ip(C, ['addr', 'add', '10.7.0.1/24', 'dev', 'st0']);
    await lab.ip(C, ['route', 'add', '10.8.0.0/16', 'via', '10.7.0.2']);
    // Some traffic, so that there are counters to log: into st0, refused at the outer route (none).
    await lab.exec(C, ['ping', '-c', '3', '-i', '0.05', '-W', '0.2', '10.8.0.1']);
    const before = await snapshot(lab, C);
    const counters = await readCounters(lab, C);
    const pid = daemonPidFromFile(lab, C);
    const logBefore = fs.readFileSync(daemonFiles(lab, C).log, 'utf8').length;
    process.kill(pid, 'SIGTERM');
    await gone(pid);
    const kept = await tunDevices(lab, C);
    assert.deepEqual(kept, ['st0'], 'the device is kept');
    assert.match(await lab.ip(C, ['addr', 'show', 'st0']), /inet 10\.7\.0\.1\/24/);
    assert.match(await lab.ip(C, ['route', 'show']), /10\.8\.0\.0\/16 via 10\.7\.0\.2 dev st0/);
    assert.deepEqual(stateTunnels(lab, C), ['st0'], 'the state is kept');
    // The last counters went into the log, as -s showed them.
    const log = fs.readFileSync(daemonFiles(lab, C).log, 'utf8').slice(logBefore);
    const st = counters.tunnels.get('st0')!;
    assert.match(log, new RegExp(`tunnel st0 at stop: rx ${st.rx.packets} packets ${st.rx.bytes} bytes ${st.rx.errors} errors, tx ${st.tx.packets} packets ${st.tx.bytes} bytes ${st.tx.errors} errors, drops: ${Object.entries(st.drops).sort().map(([r, n]) => `${r} ${n}`).join(', ')}`), log);
    assert.match(log, /daemon stopped/);
    // The next command adopts it.
    assert.match(await burrowOut(lab, C, ['tunnel', 'show']), /^st0: ip\/ip remote 172\.16\.0\.1 local 172\.16\.0\.5 ttl 64\n$/);
    const adopted = await snapshot(lab, C);
    assert.deepEqual([adopted.devices, adopted.addresses, adopted.routes], [before.devices, before.addresses, before.routes]);
    // stop --flush: the tunnels, their devices and the daemon's files go.
    await burrowOut(lab, C, ['daemon', 'stop', '--flush']);
    assert.deepEqual(await tunDevices(lab, C), []);
    assert.equal(fs.existsSync(path.dirname(daemonFiles(lab, C).state)), false, 'its directory is removed');
    s.badInputs(0);
  });
});
