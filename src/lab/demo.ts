/**
 * `burrow lab demo`: the classic walk-through (spec ip-tunnel.md section 4, scenarios 1, 3 and 4) on the
 * classic topology, with burrow in place of the kernel's missing ipip and gre drivers.
 *
 * Each step is printed as a user would type it on that host (`A# ip link set vpn0 up`), then its
 * result, shortened and indented, then `ok` or `FAILED`. The exit status is 0 only if every check
 * passed. The lab is removed at the end, on failure and on Ctrl-C too (the Lab's hooks), unless
 * `keep` asks to leave it for exploring (then `burrow lab down classic` removes it).
 */
import { existsSync } from 'node:fs';
import { Lab, labUnavailableReason, listNamespaces, type ExecResult } from './netns.js';
import { describeTopology } from './topology.js';
import {
  A_TUNNEL, A_UNDERLAY, B_TUNNEL, B_UNDERLAY, CONTAINER_ADDR, CONTAINER_LINK, CONTAINER_NET, NODE,
  TUNNEL_DEV, TUNNEL_NET, TUNNEL_PREFIX_LEN, buildClassic,
} from './scenarios/classic.js';

export type DemoMode = 'ipip' | 'gre';
export const DEMO_MODES: readonly DemoMode[] = ['ipip', 'gre'];

/** The tunnel's default MTU over a 1500-byte underlay (spec 3.2). */
export const DEMO_MTU: Record<DemoMode, number> = { ipip: 1480, gre: 1476 };
/** The MODESTR of `ip tunnel show` (spec 2.1). */
const SHOW_MODE: Record<DemoMode, string> = { ipip: 'ip/ip', gre: 'gre/ip' };

/** The prefix `burrow lab up classic` and `demo --keep` use, so that `burrow lab down classic` finds it. */
export const CLASSIC_PREFIX = 'bwlab-classic';

export interface DemoOptions {
  modes: readonly DemoMode[];
  keep: boolean;
  /** Receives each output line. Default: stdout. */
  out?: (line: string) => void;
  /** The burrow executable run inside the namespaces. Default <repo>/bin/burrow. */
  burrow?: string;
  /** Namespace prefix. Default: a fresh `bwlab-demo...` one, or CLASSIC_PREFIX with `keep`. */
  prefix?: string;
}

/** Fast but still readable pings: 3 echoes 0.2 s apart, 1 s for the last answer. */
const PING = ['ping', '-c', '3', '-i', '0.2', '-W', '1'];

interface Verdict {
  ok: boolean;
  /** Shown after ok / FAILED. */
  note?: string;
  /** Result lines shown under the command. */
  show?: string[];
}

interface Step {
  /** Node that runs it (NODE.A ...). */
  on: string;
  /** As displayed; a leading `burrow` is run as the lab's burrow executable. */
  argv: string[];
  check: (r: ExecResult) => Verdict;
}

const LABEL: Record<string, string> = { [NODE.A]: 'A', [NODE.R]: 'R', [NODE.B]: 'B', [NODE.C]: 'C' };
const INDENT = '   ';
const MAX_SHOWN = 6;

// ---- checks --------------------------------------------------------------------------------

function lines(s: string): string[] {
  return s.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0);
}

function failedExit(r: ExecResult): Verdict {
  const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`;
  return { ok: false, note: why, show: lines(r.stderr + r.stdout) };
}

/** Commands that are silent on success, as iproute2's are. */
function silent(r: ExecResult): Verdict {
  if (r.code !== 0) return failedExit(r);
  const out = lines(r.stdout + r.stderr);
  return { ok: true, show: out };
}

function showsLine(expected: string): (r: ExecResult) => Verdict {
  return (r) => {
    if (r.code !== 0) return failedExit(r);
    const out = lines(r.stdout);
    if (out.includes(expected)) return { ok: true, show: out };
    return { ok: false, note: `expected the line "${expected}"`, show: [...out, ...lines(r.stderr)] };
  };
}

function linkWithMtu(mtu: number): (r: ExecResult) => Verdict {
  return (r) => {
    if (r.code !== 0) return failedExit(r);
    const first = lines(r.stdout)[0] ?? '';
    const m = / mtu (\d+)/.exec(first);
    const flags = /<([^>]*)>/.exec(first)?.[1].split(',') ?? [];
    const shown = [first.replace(/ qdisc .*/, '')];
    if (!m || Number(m[1]) !== mtu) return { ok: false, note: `expected mtu ${mtu}`, show: shown };
    if (!flags.includes('UP')) return { ok: false, note: 'expected the link UP', show: shown };
    return { ok: true, note: `mtu ${mtu}`, show: shown };
  };
}

function pingLoss(expectedLoss: 0 | 100, why: string, ttl?: number): (r: ExecResult) => Verdict {
  return (r) => {
    const out = lines(r.stdout);
    const summary = out.find((l) => / packet loss/.test(l));
    const reply = out.find((l) => / bytes from /.test(l));
    const show = [...(reply && ttl !== undefined ? [reply] : []), ...(summary ? [summary] : lines(r.stderr))];
    const loss = summary ? Number(/([\d.]+)% packet loss/.exec(summary)?.[1]) : NaN;
    if (loss !== expectedLoss) return { ok: false, note: `expected ${expectedLoss}% packet loss`, show };
    if (expectedLoss === 0 && r.code !== 0) return failedExit(r);
    if (ttl !== undefined && !out.some((l) => l.includes(`ttl=${ttl} `))) {
      return { ok: false, note: `expected replies with ttl=${ttl}`, show };
    }
    return { ok: true, note: why, show };
  };
}

function doesNotExist(r: ExecResult): Verdict {
  const out = lines(r.stderr + r.stdout);
  if (r.code !== 0 && /does not exist/.test(r.stderr)) return { ok: true, note: 'gone', show: out };
  return { ok: false, note: `expected ${TUNNEL_DEV} to be gone`, show: out };
}

function noRouteTo(prefixStart: string): (r: ExecResult) => Verdict {
  return (r) => {
    if (r.code !== 0) return failedExit(r);
    const out = lines(r.stdout);
    if (out.some((l) => l.startsWith('default') || l.startsWith(prefixStart))) {
      return { ok: false, note: `expected no route to ${TUNNEL_NET}`, show: out };
    }
    return { ok: true, note: `no route to ${TUNNEL_NET}`, show: out };
  };
}

// ---- the walk-through ----------------------------------------------------------------------

function tunnelSteps(mode: DemoMode): Step[] {
  const masquerade = ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', TUNNEL_NET, '-o', CONTAINER_LINK, '-j', 'MASQUERADE'];
  const side = (on: string, local: string, remote: string, address: string): Step[] => [
    { on, argv: ['burrow', 'tunnel', 'add', TUNNEL_DEV, 'mode', mode, 'remote', remote, 'local', local, 'ttl', '64'], check: silent },
    { on, argv: ['ip', 'link', 'set', TUNNEL_DEV, 'up'], check: silent },
    { on, argv: ['ip', 'addr', 'add', `${address}/${TUNNEL_PREFIX_LEN}`, 'dev', TUNNEL_DEV], check: silent },
  ];
  return [
    ...side(NODE.A, A_UNDERLAY, B_UNDERLAY, A_TUNNEL),
    ...side(NODE.B, B_UNDERLAY, A_UNDERLAY, B_TUNNEL),
    {
      on: NODE.A,
      argv: ['burrow', 'tunnel', 'show'],
      check: showsLine(`${TUNNEL_DEV}: ${SHOW_MODE[mode]} remote ${B_UNDERLAY} local ${A_UNDERLAY} ttl 64`),
    },
    { on: NODE.A, argv: ['ip', 'link', 'show', TUNNEL_DEV], check: linkWithMtu(DEMO_MTU[mode]) },
    { on: NODE.B, argv: ['ip', 'link', 'show', TUNNEL_DEV], check: linkWithMtu(DEMO_MTU[mode]) },
    { on: NODE.A, argv: [...PING, B_TUNNEL], check: pingLoss(0, `0% packet loss over ${mode}`) },
    { on: NODE.A, argv: ['ip', 'route', 'add', CONTAINER_NET, 'via', B_TUNNEL], check: silent },
    {
      on: NODE.A,
      argv: [...PING, CONTAINER_ADDR],
      check: pingLoss(100, 'unreachable, as expected: the container cannot answer 10.0.0.1'),
    },
    { on: NODE.C, argv: ['ip', 'route'], check: noRouteTo('10.') },
    { on: NODE.B, argv: masquerade, check: silent },
    { on: NODE.A, argv: [...PING, CONTAINER_ADDR], check: pingLoss(0, `reachable: B masquerades ${TUNNEL_NET} behind ${CONTAINER_LINK}`) },
  ];
}

/** Undoes one mode's walk-through so that the next mode starts from the bare topology. */
function teardownSteps(): Step[] {
  return [
    { on: NODE.B, argv: ['iptables', '-t', 'nat', '-D', 'POSTROUTING', '-s', TUNNEL_NET, '-o', CONTAINER_LINK, '-j', 'MASQUERADE'], check: silent },
    { on: NODE.A, argv: ['burrow', 'tunnel', 'del', TUNNEL_DEV], check: silent },
    { on: NODE.B, argv: ['burrow', 'tunnel', 'del', TUNNEL_DEV], check: silent },
    { on: NODE.A, argv: ['ip', 'link', 'show', TUNNEL_DEV], check: doesNotExist },
  ];
}

/** Runs the demo; returns the exit status (0 only if every check passed). */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const unavailable = labUnavailableReason();
  if (unavailable) {
    out(`burrow lab demo: ${unavailable}`);
    return 1;
  }
  const prefix = opts.prefix ?? (opts.keep ? CLASSIC_PREFIX : undefined);
  if (prefix !== undefined && (await listNamespaces(prefix)).length > 0) {
    out(`burrow lab demo: namespaces ${prefix}-* exist already; remove them with: burrow lab down classic`);
    return 1;
  }
  let passed = 0;
  let failed = 0;

  const newLab = (): Lab => new Lab({ prefix, burrow: opts.burrow, log: out });
  let lab = newLab();
  const burrowPath = lab.burrowPath!;
  if (!existsSync(burrowPath)) {
    lab.destroy();
    out(`burrow lab demo: ${burrowPath} not found: build burrow first (see the README's set-up command)`);
    return 1;
  }

  const runStep = async (step: Step): Promise<boolean> => {
    const argv = step.argv[0] === 'burrow' ? [burrowPath, ...step.argv.slice(1)] : step.argv;
    out(`${LABEL[step.on]}# ${step.argv.join(' ')}`);
    const r = await lab.exec(step.on, argv, { timeoutMs: 30_000 });
    const v = step.check(r);
    const shown = v.show ?? [];
    for (const l of shown.slice(0, MAX_SHOWN)) out(`${INDENT}${l}`);
    if (shown.length > MAX_SHOWN) out(`${INDENT}... (${shown.length - MAX_SHOWN} more lines)`);
    out(`${INDENT}${v.ok ? 'ok' : 'FAILED'}${v.note ? `: ${v.note}` : ''}`);
    if (v.ok) passed++;
    else failed++;
    return v.ok;
  };

  const build = async (): Promise<boolean> => {
    out(`lab: building the classic topology (namespaces ${lab.prefix}-{a,r,b,c})`);
    try {
      const built = await buildClassic(lab);
      for (const l of describeTopology(built.spec, built.ns)) out(`${INDENT}${l}`);
      out(`${INDENT}ok`);
      passed++;
    } catch (e) {
      out(`${INDENT}${(e as Error).message}`);
      out(`${INDENT}FAILED: could not build the topology`);
      failed++;
      return false;
    }
    // The underlay first: A reaches B through R, which takes one off the TTL.
    return runStep({ on: NODE.A, argv: ['ping', '-c', '1', '-W', '2', B_UNDERLAY], check: pingLoss(0, 'B reached through R', 63) });
  };

  out('burrow lab demo: the classic two-host walk-through, with burrow in place of the missing kernel drivers');
  out('');
  try {
    if (!(await build())) return finish(lab, opts.keep, out, passed, failed);
    for (const [i, mode] of opts.modes.entries()) {
      out('');
      out(`== mode ${mode}: ${TUNNEL_DEV} ${A_TUNNEL}/${TUNNEL_PREFIX_LEN} on A <-> ${B_TUNNEL}/${TUNNEL_PREFIX_LEN} on B ==`);
      for (const step of tunnelSteps(mode)) await runStep(step);
      if (i === opts.modes.length - 1) break;
      out('');
      out(`== removing the ${mode} tunnel ==`);
      let clean = true;
      for (const step of teardownSteps()) clean = (await runStep(step)) && clean;
      if (!clean) {
        out(`lab: rebuilding the topology so that the next mode starts clean`);
        report(lab.destroy(), out);
        lab = newLab();
        if (!(await build())) break;
      }
    }
  } catch (e) {
    out(`burrow lab demo: ${(e as Error).stack ?? String(e)}`);
    failed++;
  }
  return finish(lab, opts.keep, out, passed, failed);
}

function finish(lab: Lab, keep: boolean, out: (line: string) => void, passed: number, failed: number): number {
  out('');
  if (keep && !lab.isDestroyed) {
    const ns = lab.namespaces.map((n) => lab.nsName(n));
    lab.detach();
    out(`lab: kept for exploring: ${ns.join(' ')}`);
    out(`${INDENT}ip netns exec ${ns[0]} bash    # a shell on A`);
    out(`${INDENT}burrow lab down classic    # removes it`);
  } else {
    report(lab.destroy(), out);
  }
  const total = passed + failed;
  out(failed === 0 ? `demo: all ${total} checks passed` : `demo: ${failed} of ${total} checks FAILED`);
  return failed === 0 ? 0 : 1;
}

function report(r: ReturnType<Lab['destroy']>, out: (line: string) => void): void {
  out(`lab: removed ${r.namespaces.length} namespaces${r.errors.length + r.strays.length > 0 ? ' (with warnings above)' : ''}`);
}
