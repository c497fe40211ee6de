/**
 * Kernel gold for output fidelity: what this machine's `ip` (iproute2 6.1) prints about tunnels made
 * by the real ipip, ip_gre, sit and ip_vti drivers of the guest kernel.
 *
 * `recordGold(peer)` replays a fixed table of `ip tunnel add` commands in the kernel peer and records,
 * for each, `ip tunnel show NAME`, `ip -o tunnel show NAME`, `ip -j tunnel show NAME` and
 * `ip -d link show NAME`; plus the fallback devices' listings and the text of kernel errors.
 * `record-gold.ts` writes the result to gold/ip-tunnel-kernel.json; harness.test.ts replays the table
 * and fails when the kernel disagrees with the file. Output fidelity tests can compare burrow against
 * the file without booting anything.
 *
 * Names decide what `ip tunnel show NAME` does (spec/ip-tunnel.md 1.6): a name that starts with a mode
 * (gre1, ipip1, sit1, vti1, isatap1) gets a single SIOCGETTUNNEL and, in iproute2 6.1, ignores -j
 * (plain text is printed); any other name (tgre1) takes the list path, which honours -j. The table
 * holds both kinds on purpose.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './guest-image.js';
import type { KernelPeer } from './kernel-peer.js';

export interface GoldCase {
  name: string;
  /** Arguments after `ip tunnel add NAME`. */
  args: string;
}

/** The guest NIC is eth0 at 192.0.2.2/24; remotes are documentation addresses, never contacted. */
export const GOLD_CASES: GoldCase[] = [
  { name: 'ipip1', args: 'mode ipip remote 192.0.2.1 local 192.0.2.2' },
  { name: 'ipip2', args: 'mode ipip remote 198.51.100.1 local 192.0.2.2 ttl 64 tos inherit' },
  { name: 'ipip3', args: 'mode ipip remote 198.51.100.2 local 192.0.2.2 nopmtudisc' },
  { name: 'ipip4', args: 'mode ipip remote 198.51.100.3 local 192.0.2.2 tos inherit/AF11 dev eth0' },
  { name: 'ipip5', args: 'mode ipip local 192.0.2.2' },
  { name: 'tipip6', args: 'mode ipip remote 198.51.100.4 local 192.0.2.2 ttl 3 tos 10' },
  { name: 'gre1', args: 'mode gre remote 192.0.2.1 local 192.0.2.2' },
  { name: 'gre2', args: 'mode gre remote 192.0.2.1 local 192.0.2.2 key 5' },
  { name: 'gre3', args: 'mode gre remote 192.0.2.1 local 192.0.2.2 ikey 1 okey 2' },
  { name: 'gre4', args: 'mode gre remote 198.51.100.4 local 192.0.2.2 csum' },
  { name: 'gre5', args: 'mode gre remote 198.51.100.5 local 192.0.2.2 seq' },
  { name: 'gre6', args: 'mode gre remote 198.51.100.6 local 192.0.2.2 key 7 csum seq' },
  { name: 'gre7', args: 'mode gre remote 198.51.100.7 local 192.0.2.2 icsum oseq' },
  { name: 'gre8', args: 'mode gre remote 198.51.100.8 local 192.0.2.2 key 1.2.3.4' },
  { name: 'gre9', args: 'mode gre remote 198.51.100.9 local 192.0.2.2 ttl 64 tos 10 dev eth0' },
  { name: 'gre10', args: 'mode gre local 192.0.2.2 key 9' },
  { name: 'gre11', args: 'mode gre remote 198.51.100.11 local 192.0.2.2 nopmtudisc' },
  { name: 'gre12', args: 'mode gre remote 198.51.100.12 local 192.0.2.2 ttl 255 tos EF' },
  { name: 'gre13', args: 'mode gre remote 239.1.1.1 local 192.0.2.2' },
  { name: 'tgre14', args: 'mode gre remote 198.51.100.14 local 192.0.2.2 key 7 csum seq' },
  { name: 'tgre15', args: 'mode gre remote 198.51.100.15 local 192.0.2.2 ikey 3 okey 4 icsum oseq ttl 64 tos inherit dev eth0' },
  { name: 'tgre16', args: 'mode gre remote 198.51.100.16 local 192.0.2.2 iseq ocsum okey 0x10' },
  { name: 'sit1', args: 'mode sit remote 192.0.2.1 local 192.0.2.2' },
  { name: 'sit2', args: 'mode sit remote 198.51.100.20 local 192.0.2.2 ttl 64' },
  { name: 'tsit3', args: 'mode sit remote 198.51.100.21 local 192.0.2.2 tos inherit nopmtudisc' },
  { name: 'isatap1', args: 'mode isatap local 192.0.2.2' },
  { name: 'vti1', args: 'mode vti remote 192.0.2.1 local 192.0.2.2' },
  { name: 'vti2', args: 'mode vti remote 198.51.100.30 local 192.0.2.2 key 7' },
  { name: 'vti3', args: 'mode vti remote 198.51.100.31 local 192.0.2.2 ikey 1 okey 2' },
  { name: 'tvti4', args: 'mode vti remote 198.51.100.32 local 192.0.2.2 okey 9' },
];

/** Commands whose failure text comes from the kernel (errno) or from iproute2 around it. */
export const GOLD_ERRORS: { setup?: string; cmd: string }[] = [
  { setup: 'ip tunnel add gre1 mode gre remote 192.0.2.1 local 192.0.2.2', cmd: 'ip tunnel add gre2 mode gre remote 192.0.2.1 local 192.0.2.2' },
  { setup: 'ip tunnel add ipip1 mode ipip remote 192.0.2.1 local 192.0.2.2', cmd: 'ip tunnel add ipip2 mode ipip remote 192.0.2.1 local 192.0.2.2' },
  { setup: 'ip tunnel add sit1 mode sit remote 192.0.2.1 local 192.0.2.2', cmd: 'ip tunnel add sit2 mode sit remote 192.0.2.1 local 192.0.2.2' },
  { setup: 'ip tunnel add vti1 mode vti remote 192.0.2.1 local 192.0.2.2', cmd: 'ip tunnel add vti2 mode vti remote 192.0.2.1 local 192.0.2.2' },
  { setup: 'ip tunnel add gre1 mode gre remote 192.0.2.1 local 192.0.2.2', cmd: 'ip tunnel add gre1 mode gre remote 198.51.100.1 local 192.0.2.2' },
  { cmd: 'ip tunnel del gre0' },
  { cmd: 'ip tunnel del tunl0' },
  { cmd: 'ip tunnel show gre99' },
  { cmd: 'ip tunnel show nosuch' },
  { cmd: 'ip tunnel del mode gre remote 203.0.113.1 local 192.0.2.2' },
  { setup: 'ip tunnel add gre1 mode gre local 192.0.2.2', cmd: 'ip tunnel change gre1 mode gre remote 192.0.2.1 local 192.0.2.2' },
  { cmd: 'ip tunnel prl prl-default 192.0.2.9 dev sit0' },
  { cmd: 'ip tunnel add gre1 mode gre remote 239.1.1.1' },
  { cmd: 'ip tunnel add ipip1 mode ipip remote 192.0.2.1 ttl 64 nopmtudisc' },
];

export interface GoldEntry {
  name: string;
  add: string;
  /** `ip tunnel show NAME` */
  show: string;
  /** `ip -o tunnel show NAME` */
  oneline: string;
  /** `ip -j tunnel show NAME` (plain text for names that imply a mode, see above) */
  json: string;
  /** `ip -d link show NAME`, the ifindex replaced by N */
  detail: string;
}

export interface Gold {
  provenance: { kernel: string; iproute2: string; recordedBy: string };
  /** Listings at boot, only the fallback devices: show, -j, -s, -o, and `ip -d link show` of each. */
  fallback: { show: string; json: string; stats: string; oneline: string; detail: Record<string, string> };
  cases: GoldEntry[];
  /** The table again, all at once, as the list path prints it: `ip tunnel show` and `ip -j tunnel show`. */
  list: { show: string; json: string };
  errors: { setup?: string; cmd: string; code: number; stdout: string; stderr: string }[];
  /** What `ip tunnel add` does in a new namespace with net.core.fb_tunnels_only_for_init_net = 1. */
  noFallbackNetns: { sysctlDefault: string; links: string; add: { code: number; stderr: string }; linkAdd: { code: number; show: string } };
}

export const GOLD_PATH = join('test', 'interop', 'gold', 'ip-tunnel-kernel.json');

export function loadGold(): Gold {
  return JSON.parse(readFileSync(join(repoRoot(), GOLD_PATH), 'utf8')) as Gold;
}

const normaliseIfindex = (s: string) => s.replace(/^\d+: /gm, 'N: ');

/**
 * Runs the table in the peer and returns what it printed. The guest must be fresh (only fallback
 * devices) with eth0 at 192.0.2.2/24; everything made here is deleted again.
 */
export async function recordGold(peer: KernelPeer): Promise<Gold> {
  // Several commands per round trip: under software emulation the round trip costs as much as `ip`.
  const all = async (cmds: string[]) => {
    const rs = await peer.runMany(cmds);
    rs.forEach((r, i) => {
      if (r.code !== 0) throw new Error(`guest: ${cmds[i]}: exit ${r.code}: ${r.stderr}`);
    });
    return rs.map((r) => r.stdout);
  };
  const fallbackNames = ['tunl0', 'gre0', 'sit0', 'ip_vti0'];
  const [show, json, stats, oneline, ...details] = await all([
    'ip tunnel show', 'ip -j tunnel show', 'ip -s tunnel show', 'ip -o tunnel show',
    ...fallbackNames.map((n) => `ip -d link show ${n}`),
  ]);
  const detail: Record<string, string> = {};
  fallbackNames.forEach((n, i) => (detail[n] = normaliseIfindex(details[i])));
  const fallback = { show, json, stats, oneline, detail };

  const perCase = (name: string, add: string) => [
    add,
    `ip tunnel show ${name}`,
    `ip -o tunnel show ${name}`,
    `ip -j tunnel show ${name}`,
    `ip -d link show ${name}`,
    `ip tunnel del ${name}`,
  ];
  const adds = GOLD_CASES.map((c) => `ip tunnel add ${c.name} ${c.args}`);
  const outs = await all(GOLD_CASES.flatMap((c, i) => perCase(c.name, adds[i])));
  const cases: GoldEntry[] = GOLD_CASES.map((c, i) => {
    const [, show, oneline, json, detail] = outs.slice(i * 6, i * 6 + 6);
    return { name: c.name, add: adds[i], show, oneline, json, detail: normaliseIfindex(detail) };
  });

  // All of them at once, through the list path. The kernel refuses the ones that clash with an
  // earlier one (same endpoints and keys); the listing shows what it accepted.
  const added = await peer.runMany(adds);
  const made = GOLD_CASES.filter((_, i) => added[i].code === 0).map((c) => c.name);
  const [listShow, listJson] = await all(['ip tunnel show', 'ip -j tunnel show', ...made.map((n) => `ip tunnel del ${n}`)]);
  const list = { show: listShow, json: listJson };

  // Each error case: [setup, cmd, undo] (setup and undo empty when there is none).
  const errorRuns = await peer.runMany(
    GOLD_ERRORS.flatMap((e) => [e.setup ?? 'true', e.cmd, e.setup ? `ip tunnel del ${e.setup.split(' ')[3]}` : 'true']),
  );
  const errors: Gold['errors'] = GOLD_ERRORS.map((e, i) => {
    const [setup, r, undo] = errorRuns.slice(i * 3, i * 3 + 3);
    if (setup.code !== 0 || undo.code !== 0) throw new Error(`guest: setup or undo of \`${e.cmd}\` failed`);
    return { ...e, code: r.code, stdout: r.stdout, stderr: r.stderr };
  });

  const [sysctl] = await all(['sysctl -n net.core.fb_tunnels_only_for_init_net']);
  const sysctlDefault = sysctl.trim();
  const ns = await peer.runMany([
    'sysctl -qw net.core.fb_tunnels_only_for_init_net=1 && ip netns add bwqgold',
    'ip -n bwqgold -o link show | cut -d: -f2 | tr -d " "',
    'ip -n bwqgold tunnel add gre1 mode gre remote 192.0.2.1 local 192.0.2.2',
    'ip -n bwqgold link add gre1 type gre remote 192.0.2.1 local 192.0.2.2',
    'ip -n bwqgold tunnel show',
    `ip netns del bwqgold && sysctl -qw net.core.fb_tunnels_only_for_init_net=${sysctlDefault}`,
  ]);
  const [uname, version] = await all(['uname -rv', 'ip -V']);

  return {
    provenance: { kernel: uname.trim(), iproute2: version.trim(), recordedBy: 'node dist/test/interop/record-gold.js' },
    fallback,
    cases,
    list,
    errors,
    noFallbackNetns: {
      sysctlDefault,
      links: ns[1].stdout,
      add: { code: ns[2].code, stderr: ns[2].stderr },
      linkAdd: { code: ns[3].code, show: ns[4].stdout },
    },
  };
}
