/**
 * The interop topology: burrow on host A, the real kernel (Debian's 6.1 under qemu) as host B, on two
 * networks joined by a router R that forwards and decrements TTL. The addresses are the classic
 * walk-through's (src/lab/scenarios/classic.ts), with the kernel in B's place:
 *
 * ```
 *        LAN1 192.168.0.0/24                 LAN2 192.168.100.0/24
 *
 *  +-----------------+        +----------------------+         +--------------------------------+
 *  | A  netns        |        | R  netns             |         | B  qemu guest, kernel 6.1      |
 *  |    burrow       |        |    ip_forward=1      |         |    ip_forward=1                |
 *  | eth0            |--------| eth0           tap   |=========| eth0 (virtio-net)              |
 *  | 192.168.0.1/24  |  veth  | 192.168.0.254        |  qemu   | 192.168.100.1/24               |
 *  +-----------------+        |      192.168.100.254 |         |                                |
 *  default via                +----------------------+         | docker0 172.16.0.1/16 (bridge) |
 *  192.168.0.254                                               |   veth0 --- netns c: eth0      |
 *                                                              |             172.16.0.5/16      |
 *                                                              +--------------------------------+
 *                                                              default via 192.168.100.254
 *
 *  tunnels, made by each test:   A 10.0.N.1 / 2001:db8:N::1  <====>  B 10.0.N.2 / 2001:db8:N::2
 * ```
 * The container network in B (docker0 and the namespace c) is made only by the walk-through
 * (`addContainerNetwork`). tcpdump on R's eth0 sees A's outer packets as they leave A and B's as A
 * receives them; on R's tap, A's as B receives them and B's as they leave B.
 *
 * Both hosts forward IPv6 (A's `net.ipv6.conf.all.forwarding`, B's too), so that neither solicits
 * routers through the tunnels and the counters count only the tests' own packets; the test of IPv6
 * chatter turns forwarding off to see what each host sends on its own.
 *
 * One Lab (namespaces A and R, prefix `bwlabq-<pid base 36>-<n>`) and one guest per test file; the Lab
 * removes its namespaces and stops the burrow daemon in A on every exit path it can see, qemu dies
 * with the test process however it ends, and `sweepStalePeerLabs` removes what a SIGKILLed test
 * process of this suite left behind.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before } from 'node:test';
import { Lab } from '../../src/lab/netns.js';
import {
  A_UNDERLAY,
  B_UNDERLAY,
  CONTAINER_ADDR,
  CONTAINER_GATEWAY,
  CONTAINER_LINK,
  ROUTER_A_SIDE,
  ROUTER_B_SIDE,
  UNDERLAY_PREFIX_LEN,
} from '../../src/lab/scenarios/classic.js';
import { buildTopology, type TopologySpec } from '../../src/lab/topology.js';
import { KernelPeer, type RunResult } from './kernel-peer.js';
import { alive } from './netns.js';

export { A_UNDERLAY, B_UNDERLAY, CONTAINER_ADDR, CONTAINER_GATEWAY, CONTAINER_LINK, ROUTER_A_SIDE, ROUTER_B_SIDE };

/** Node names in the Lab. */
export const A = 'a';
export const R = 'r';
/** R's interface towards A. */
export const R_TO_A = 'eth0';

/** Lab prefixes of this suite: `bwlabq-<pid base 36>-<n>`, so that a stale one names its dead owner. */
const PREFIX = 'bwlabq';
let labs = 0;

/** A Lab with this suite's prefix (see sweepStalePeerLabs). */
export function newPeerLab(): Lab {
  return new Lab({ prefix: `${PREFIX}-${process.pid.toString(36)}-${labs++}` });
}

export function peerTopology(): TopologySpec {
  const len = `/${UNDERLAY_PREFIX_LEN}`;
  return {
    name: 'kernel-peer',
    nodes: [
      {
        name: A,
        kind: 'host',
        routes: [{ to: 'default', via: ROUTER_A_SIDE }],
        sysctls: { 'net.ipv6.conf.all.forwarding': 1 },
      },
      { name: R, kind: 'router' },
    ],
    links: [
      {
        a: { node: A, ifname: 'eth0', addresses: [`${A_UNDERLAY}${len}`] },
        b: { node: R, ifname: R_TO_A, addresses: [`${ROUTER_A_SIDE}${len}`] },
      },
    ],
  };
}

export interface PeerLab {
  lab: Lab;
  peer: KernelPeer;
  /** R's tap, the guest's NIC. */
  tap: string;
}

/**
 * Builds the topology and boots the guest before the suite; removes everything after it. `lab` and
 * `peer` are set once the `before` hook has run.
 */
export function peerLabFixture(): PeerLab {
  const f = {} as PeerLab;
  before(async () => {
    await sweepStalePeerLabs();
    f.lab = newPeerLab();
    await buildTopology(f.lab, peerTopology());
    f.peer = await KernelPeer.boot({
      netns: f.lab.nsName(R),
      hostAddress: `${ROUTER_B_SIDE}/${UNDERLAY_PREFIX_LEN}`,
      guestAddress: `${B_UNDERLAY}/${UNDERLAY_PREFIX_LEN}`,
    });
    f.tap = f.peer.tap;
    await f.peer.check(
      `ip route add default via ${ROUTER_B_SIDE} && ` +
        'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1',
    );
  });
  after(async () => {
    await f.peer?.close();
    f.lab?.destroy();
  });
  return f;
}

/** Removes the namespaces (and stops the burrow daemons in them) of test processes of this suite that died by SIGKILL. */
export async function sweepStalePeerLabs(): Promise<string[]> {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  const prefixes = new Set<string>();
  for (const name of names) {
    const m = new RegExp(`^(${PREFIX}-([0-9a-z]+)-[0-9]+)-`).exec(name);
    if (m !== null && !alive(parseInt(m[2], 36))) prefixes.add(m[1]);
  }
  for (const prefix of prefixes) (await Lab.adopt(prefix, { hooks: false })).destroy();
  return [...prefixes];
}

// ---- running things --------------------------------------------------------------------------

/**
 * Runs shell scripts one after the other in one `sh` inside namespace `ns` (one process start for
 * all of them); each gets its own output and status, and a failing one does not stop the rest.
 */
export async function runScripts(lab: Lab, ns: string, scripts: string[]): Promise<RunResult[]> {
  const lines = ['d=$(mktemp -d) || exit 1', 'trap \'rm -rf "$d"\' EXIT'];
  scripts.forEach((s, i) => lines.push(`(\n${s}\n) </dev/null >"$d/o${i}" 2>"$d/e${i}"; echo $? >"$d/c${i}"`));
  lines.push(
    `for i in ${scripts.map((_, i) => i).join(' ')}; do ` +
      'printf "%s %s %s\\n" "$(cat "$d/c$i")" "$(base64 -w0 "$d/o$i")" "$(base64 -w0 "$d/e$i")"; done',
  );
  const r = await lab.sh(ns, lines.join('\n'), { timeoutMs: 30_000 + 10_000 * scripts.length });
  if (r.code !== 0) throw new Error(`runScripts in ${ns} failed (${r.code}): ${r.stderr}`);
  const rows = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(rows.length, scripts.length, `runScripts lost results: ${r.stderr}`);
  return rows.map((row) => {
    const [code, out = '', err = ''] = row.split(' ');
    return { code: Number(code), stdout: Buffer.from(out, 'base64').toString('utf8'), stderr: Buffer.from(err, 'base64').toString('utf8') };
  });
}

/** Like runScripts, but every script must exit 0; returns their stdout. */
export async function checkScripts(lab: Lab, ns: string, scripts: string[]): Promise<string[]> {
  const rs = await runScripts(lab, ns, scripts);
  rs.forEach((r, i) => assert.equal(r.code, 0, `[${ns}] ${scripts[i]}: exit ${r.code}: ${r.stderr}`));
  return rs.map((r) => r.stdout);
}

/** Like KernelPeer.runMany, but every script must exit 0; returns their stdout. */
export async function checkGuest(peer: KernelPeer, scripts: string[]): Promise<string[]> {
  const rs = await peer.runMany(scripts);
  rs.forEach((r, i) => assert.equal(r.code, 0, `[guest] ${scripts[i]}: exit ${r.code}: ${r.stderr}`));
  return rs.map((r) => r.stdout);
}

/** `burrow` as the shell in A's namespace finds it. */
export function burrowCmd(lab: Lab): string {
  return lab.burrowPath!;
}

// ---- tunnel pairs ----------------------------------------------------------------------------

export type PairMode = 'ipip' | 'gre' | 'sit';

export interface PairOptions {
  mode: PairMode;
  /** Default `vpn<net>`: a name that implies no mode, so `show NAME` takes the list path (and prints -s). */
  name?: string;
  /** The tunnel subnet: 10.0.<net>.0/24, or 2001:db8:<net>::/64 for sit. */
  net?: number;
  /** Extra `tunnel add` words for both ends, A only, B only. */
  both?: string;
  a?: string;
  b?: string;
}

export interface Pair {
  name: string;
  mode: PairMode;
  six: boolean;
  /** A's and B's address on the tunnel. */
  aAddress: string;
  bAddress: string;
}

export function pairOf(o: PairOptions): Pair {
  const net = o.net ?? 0;
  const six = o.mode === 'sit';
  return {
    name: o.name ?? `vpn${net}`,
    mode: o.mode,
    six,
    aAddress: six ? `2001:db8:${net}::1` : `10.0.${net}.1`,
    bAddress: six ? `2001:db8:${net}::2` : `10.0.${net}.2`,
  };
}

/** The commands that make one end: `<tunnel add>`, up, address. */
function endScripts(add: string, p: Pair, own: string): string[] {
  const addr = p.six ? `ip -6 addr add ${own}/64 dev ${p.name} nodad` : `ip addr add ${own}/24 dev ${p.name}`;
  return [`${add} && ip link set ${p.name} up && ${addr}`];
}

/** The `tunnel add` arguments of each end. */
export function pairArgs(o: PairOptions): { a: string; b: string } {
  const p = pairOf(o);
  const extra = (side?: string) => [o.both, side].filter((s) => s !== undefined && s !== '').join(' ');
  return {
    a: `${p.name} mode ${o.mode} remote ${B_UNDERLAY} local ${A_UNDERLAY} ${extra(o.a)}`.trim(),
    b: `${p.name} mode ${o.mode} remote ${A_UNDERLAY} local ${B_UNDERLAY} ${extra(o.b)}`.trim(),
  };
}

/** Makes the tunnel on both ends (burrow in A, the kernel in B), each up with its address. */
export async function makePair(f: PeerLab, o: PairOptions): Promise<Pair> {
  const p = pairOf(o);
  const args = pairArgs(o);
  await checkScripts(f.lab, A, endScripts(`${burrowCmd(f.lab)} tunnel add ${args.a}`, p, p.aAddress));
  await checkGuest(f.peer, endScripts(`ip tunnel add ${args.b}`, p, p.bAddress));
  return p;
}

/** Deletes both ends; safe when either is missing. */
export async function deletePair(f: PeerLab, p: Pair): Promise<void> {
  await runScripts(f.lab, A, [`${burrowCmd(f.lab)} tunnel del ${p.name}`]);
  await f.peer.run(`ip tunnel del ${p.name} 2>/dev/null; true`);
}

/** Runs `body` with a pair made, and deletes the pair afterwards whatever happens. */
export async function withPair<T>(f: PeerLab, o: PairOptions, body: (p: Pair) => Promise<T>): Promise<T> {
  const p = pairOf(o);
  try {
    await makePair(f, o);
    return await body(p);
  } finally {
    await deletePair(f, p);
  }
}

// ---- counters --------------------------------------------------------------------------------

/** `stats64` as `ip -j -s -s link show` prints it; burrow's `-s -s -j tunnel show` uses the same names. */
export interface Counters {
  rx: { bytes: number; packets: number; errors: number; dropped: number; multicast: number; length_errors: number; crc_errors: number; frame_errors: number; fifo_errors: number };
  tx: { bytes: number; packets: number; errors: number; dropped: number; carrier_errors: number; collisions: number; fifo_errors: number };
}

/** The fields both sides report, as one flat record (for deltas and comparisons). */
export type Flat = Record<string, number>;

export function flatten(c: Counters): Flat {
  const out: Flat = {};
  for (const dir of ['rx', 'tx'] as const) {
    for (const [k, v] of Object.entries(c[dir])) if (k !== 'carrier_changes') out[`${dir}_${k}`] = v as number;
  }
  return out;
}

/** after - before, field by field. */
export function delta(before: Flat, after: Flat): Flat {
  const out: Flat = {};
  for (const k of Object.keys(after)) out[k] = after[k] - (before[k] ?? 0);
  return out;
}

/** Only the non-zero fields (what moved). */
export function moved(d: Flat): Flat {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== 0));
}

/** The counters of burrow's tunnel `name` in A (`burrow -s -s -j tunnel show`). */
export function burrowCountersFrom(json: string, name: string): Flat {
  const list = JSON.parse(json) as { ifname: string; stats64: Counters }[];
  const entry = list.find((e) => e.ifname === name);
  assert.ok(entry, `burrow does not list ${name}: ${json}`);
  return flatten(entry.stats64);
}

/** The counters of the kernel's device `name` (`ip -j -s -s link show NAME`). */
export function kernelCountersFrom(json: string, name: string): Flat {
  const list = JSON.parse(json) as { ifname: string; stats64: Counters }[];
  assert.equal(list[0]?.ifname, name, json);
  return flatten(list[0].stats64);
}

export const BURROW_STATS = (lab: Lab) => `${burrowCmd(lab)} -s -s -j tunnel show`;
export const KERNEL_STATS = (name: string) => `ip -j -s -s link show ${name}`;

export async function burrowCounters(f: PeerLab, name: string): Promise<Flat> {
  const [out] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab)]);
  return burrowCountersFrom(out, name);
}

export async function kernelCounters(f: PeerLab, name: string): Promise<Flat> {
  return kernelCountersFrom(await f.peer.check(KERNEL_STATS(name)), name);
}

/** burrow's drops not charged to any tunnel, from `burrow daemon status` (`drop REASON: N` lines). */
export function unchargedDrops(status: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of status.matchAll(/drop ([a-z-]+): (\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
}

/** A `/proc/net/snmp` counter of the guest kernel, e.g. ('Icmp', 'OutDestUnreachs'). */
export function snmpCounter(snmp: string, group: string, name: string): number {
  const lines = snmp.split('\n').filter((l) => l.startsWith(`${group}:`));
  assert.equal(lines.length, 2, `no ${group} in /proc/net/snmp`);
  const keys = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  const i = keys.indexOf(name);
  assert.ok(i > 0, `no ${group} ${name}`);
  return Number(values[i]);
}

// ---- ping ------------------------------------------------------------------------------------

export interface PingResult {
  transmitted: number;
  received: number;
  output: string;
}

export function parsePing(r: RunResult): PingResult {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { transmitted: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, output: r.stdout + r.stderr };
}

/** The ping command line both hosts use: `count` echoes 0.2 s apart, 1 s to wait for the last. */
export function pingCommand(target: string, count: number, extra = ''): string {
  const six = target.includes(':') ? ' -6' : '';
  return `ping${six} -n -c ${count} -i 0.2 -W 1 ${extra} ${target}`.replace(/ +/g, ' ').trim();
}

// ---- the walk-through's container network in the guest --------------------------------------

/**
 * Docker's shape inside the guest: a bridge docker0 with 172.16.0.1/16 and a namespace `c` whose
 * veth is its only port, with 172.16.0.5/16 and no route beyond its /16.
 */
export async function addContainerNetwork(peer: KernelPeer): Promise<void> {
  await peer.check(
    [
      `ip link add ${CONTAINER_LINK} type bridge forward_delay 0`,
      `ip addr add ${CONTAINER_GATEWAY}/16 dev ${CONTAINER_LINK}`,
      `ip link set ${CONTAINER_LINK} up`,
      'ip netns add c',
      'ip link add veth0 type veth peer name eth0 netns c',
      `ip link set veth0 master ${CONTAINER_LINK}`,
      'ip link set veth0 up',
      'ip -n c link set lo up',
      `ip -n c addr add ${CONTAINER_ADDR}/16 dev eth0`,
      'ip -n c link set eth0 up',
    ].join(' && '),
  );
}
