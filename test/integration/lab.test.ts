/**
 * The lab itself (root): the classic topology behaves as the walk-through needs, processes and
 * commands run inside namespaces, and nothing survives destroy(), a failing test, an uncaught error,
 * process.exit or a signal. Also `burrow lab up|down classic` and the demo's own logic, against a
 * stand-in burrow made of kernel vxlan (the real data plane has its own end-to-end test, demo.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, LabError, isRunningPid, labFor, labUnavailableReason, listNamespaces } from '../../src/lab/netns.js';
import {
  A_UNDERLAY, B_UNDERLAY, CONTAINER_ADDR, CONTAINER_GATEWAY, CONTAINER_LINK, CONTAINER_NET, NODE, ROUTER_A_SIDE,
  TUNNEL_NET, buildClassic,
} from '../../src/lab/scenarios/classic.js';
import { runLabCommand } from '../../src/lab/command.js';
import { runDemo } from '../../src/lab/demo.js';

const unavailable = labUnavailableReason();
const skip = unavailable ?? false;
const NETNS_URL = new URL('../../src/lab/netns.js', import.meta.url).href;
const CLASSIC_URL = new URL('../../src/lab/scenarios/classic.js', import.meta.url).href;

// ---- leak detection ------------------------------------------------------------------------

/** The namespace inode of each lab namespace, taken while they exist. */
function nsInodes(lab: Lab): Map<number, string> {
  return new Map(lab.namespaces.map((n) => [statSync(`/run/netns/${lab.nsName(n)}`).ino, lab.nsName(n)]));
}

/** Every process on the machine still inside one of these namespaces (deleted or not). */
function processesIn(inodes: Map<number, string>): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ino = Number(/net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]);
      if (inodes.has(ino) && isRunningPid(Number(pid))) found.push(`${pid} in ${inodes.get(ino)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function assertNothingLeft(prefix: string, inodes: Map<number, string> = new Map()): void {
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.deepEqual(netns.split('\n').filter((l) => l.startsWith(`${prefix}-`)), [], 'namespaces left');
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  assert.deepEqual(links.split('\n').filter((l) => l.includes(prefix)), [], 'root-namespace links left');
  assert.deepEqual(processesIn(inodes), [], 'processes left inside the deleted namespaces');
}

async function eventually(probe: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (probe()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return probe();
}

// ---- the classic topology ------------------------------------------------------------------

test('classic topology', { skip, timeout: 120_000 }, async (t) => {
  // No burrow here: these are the lab's own checks, whatever state the data plane is in.
  const lab = new Lab({ burrow: null });
  t.after(() => lab.destroy());
  const built = await buildClassic(lab);
  assert.deepEqual(Object.keys(built.ns).sort(), ['a', 'b', 'c', 'r']);
  assert.deepEqual((await listNamespaces(lab.prefix)).sort(), Object.values(built.ns).sort());

  await t.test('A reaches the router directly (ttl 64) and B through it (ttl 63)', async () => {
    const r1 = await lab.exec(NODE.A, ['ping', '-c', '1', '-W', '2', ROUTER_A_SIDE]);
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    assert.match(r1.stdout, /ttl=64 /);
    const r2 = await lab.exec(NODE.A, ['ping', '-c', '1', '-W', '2', B_UNDERLAY]);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.match(r2.stdout, new RegExp(`from ${B_UNDERLAY.replaceAll('.', '\\.')}: icmp_seq=1 ttl=63 `));
    const r3 = await lab.exec(NODE.B, ['ping', '-c', '1', '-W', '2', A_UNDERLAY]);
    assert.match(r3.stdout, /ttl=63 /);
  });

  await t.test('B reaches the container; the container reaches B', async () => {
    assert.match(await lab.run(NODE.B, ['ping', '-c', '1', '-W', '2', CONTAINER_ADDR]), / 0% packet loss/);
    assert.match(await lab.run(NODE.C, ['ping', '-c', '1', '-W', '2', CONTAINER_GATEWAY]), / 0% packet loss/);
  });

  await t.test('the container has no route to the tunnel subnet', async () => {
    const routes = await lab.run(NODE.C, ['ip', 'route']);
    assert.deepEqual(routes.trim().split('\n'), ['172.16.0.0/16 dev eth0 proto kernel scope link src 172.16.0.5']);
    const get = await lab.exec(NODE.C, ['ip', 'route', 'get', '10.0.0.1']);
    assert.notEqual(get.code, 0);
    assert.match(get.stderr, /Network is unreachable/);
    const ping = await lab.exec(NODE.C, ['ping', '-c', '1', '-W', '1', '10.0.0.1']);
    assert.notEqual(ping.code, 0);
  });

  await t.test('forwarding, MTUs and addresses are as described', async () => {
    assert.equal(await lab.sysctl(NODE.R, 'net.ipv4.ip_forward'), '1');
    assert.equal(await lab.sysctl(NODE.B, 'net.ipv4.ip_forward'), '1');
    assert.equal(await lab.sysctl(NODE.A, 'net.ipv4.ip_forward'), '0');
    assert.equal(await lab.sysctl(NODE.C, 'net.ipv4.ip_forward'), '0');
    for (const [node, dev] of [[NODE.A, 'eth0'], [NODE.R, 'eth0'], [NODE.R, 'eth1'], [NODE.B, 'eth0'], [NODE.B, 'veth0'], [NODE.C, 'eth0']]) {
      assert.match(await lab.ip(node, ['link', 'show', dev]), / mtu 1500 .* state UP /, `${node} ${dev}`);
    }
    assert.match(await lab.ip(NODE.B, ['link', 'show', 'veth0']), / master docker0 /);
    assert.match(await lab.ip(NODE.B, ['-4', 'addr', 'show', CONTAINER_LINK]), /inet 172\.16\.0\.1\/16 /);
    assert.match(await lab.ip(NODE.A, ['route']), /^default via 192\.168\.0\.254 dev eth0/m);
    assert.match(await lab.ip(NODE.B, ['route']), /^default via 192\.168\.100\.254 dev eth0/m);
  });

  await t.test('a spawned tcpdump on R sees A\'s echo request forwarded with ttl 63', async () => {
    const dump = lab.spawn(NODE.R, ['tcpdump', '-l', '-n', '-v', '-i', 'eth1', 'icmp']);
    await dump.waitForOutput('listening on', { stream: 'stderr' });
    await lab.run(NODE.A, ['ping', '-c', '1', '-W', '2', B_UNDERLAY]);
    await dump.waitForOutput(/ttl 63,[^\n]*\n\s*192\.168\.0\.1 > 192\.168\.100\.1: ICMP echo request/, { stream: 'stdout' });
    const exit = await lab.kill(dump);
    assert.equal(dump.running, false);
    assert.ok(exit.code === 0 || exit.signal === 'SIGTERM', JSON.stringify(exit));
  });

  await t.test('MASQUERADE in B\'s namespace makes the container answer a network it has no route to', async () => {
    // Without a tunnel: let A's LAN reach the container through R and B; the container cannot answer.
    await lab.addRoute(NODE.R, CONTAINER_NET, { via: B_UNDERLAY });
    const before = await lab.exec(NODE.A, ['ping', '-c', '1', '-W', '1', CONTAINER_ADDR]);
    assert.match(before.stdout, / 100% packet loss/);
    const rule = ['-t', 'nat', '-A', 'POSTROUTING', '-s', '192.168.0.0/24', '-o', CONTAINER_LINK, '-j', 'MASQUERADE'];
    await lab.run(NODE.B, ['iptables', ...rule]);
    assert.match(await lab.run(NODE.B, ['iptables', '-t', 'nat', '-S', 'POSTROUTING']),
      /^-A POSTROUTING -s 192\.168\.0\.0\/24 -o docker0 -j MASQUERADE$/m);
    assert.match(await lab.run(NODE.A, ['ping', '-c', '1', '-W', '2', CONTAINER_ADDR]), / 0% packet loss/);
    // The tunnel subnet's rule of the walk-through is accepted as well.
    await lab.run(NODE.B, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', TUNNEL_NET, '-o', CONTAINER_LINK, '-j', 'MASQUERADE']);
    // The rules live in B's namespace only.
    const root = spawnSync('iptables', ['-t', 'nat', '-S', 'POSTROUTING'], { encoding: 'utf8' }).stdout ?? '';
    assert.doesNotMatch(root, /-o docker0 -j MASQUERADE/);
  });

  await t.test('exec, run, sh: results, errors, input, timeouts', async () => {
    const r = await lab.exec(NODE.A, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.stdout, r.stderr, r.code, r.signal, r.timedOut, r.ns], ['out\n', 'err\n', 3, null, false, built.ns.a]);
    await assert.rejects(lab.run(NODE.A, ['false']), (e: unknown) => e instanceof LabError && e.result?.code === 1);
    assert.equal((await lab.exec(NODE.A, ['cat'], { input: 'hello' })).stdout, 'hello');
    assert.equal((await lab.sh(NODE.A, 'echo "$1-$2"', { args: ['x', 'y z'] })).stdout, 'x-y z\n');
    const slow = await lab.exec(NODE.A, ['sleep', '5'], { timeoutMs: 200 });
    assert.equal(slow.timedOut, true);
    assert.equal(slow.code, 137);
    // A background child holding the pipes (as a daemon the CLI starts might) does not hold the result.
    const t0 = Date.now();
    const bg = await lab.exec(NODE.A, ['sh', '-c', 'sleep 1 & echo started']);
    assert.equal(bg.stdout, 'started\n');
    assert.ok(Date.now() - t0 < 900, `took ${Date.now() - t0} ms`);
    // That sleep is no longer the lab's (its group leader is reaped): destroy() would report it as a stray.
    assert.ok(await eventually(() => spawnSync('ip', ['netns', 'pids', built.ns.a], { encoding: 'utf8' }).stdout === '', 3000));
    await assert.rejects(lab.exec('nope', ['true']), /not a namespace of lab/);
  });

  await t.test('destroy removes namespaces and processes, and is idempotent', async () => {
    const sleeper = lab.spawn(NODE.C, ['sleep', '1000']);
    const group = lab.spawn(NODE.R, ['sh', '-c', 'sleep 1000 & sleep 1000']);
    assert.ok(await eventually(() => pgrep(group.pid).length === 3), `group ${pgrep(group.pid)}`);
    const members = pgrep(group.pid);
    const inodes = nsInodes(lab);
    assert.equal(inodes.size, 4);
    const report = lab.destroy();
    assert.deepEqual(report.namespaces.sort(), Object.values(built.ns).sort());
    assert.deepEqual(report.strays, []);
    assert.deepEqual(report.errors, []);
    assert.ok(report.killed.includes(sleeper.pid) && report.killed.includes(group.pid));
    for (const pid of [sleeper.pid, ...members]) assert.equal(isRunningPid(pid), false, `pid ${pid} still runs`);
    assertNothingLeft(lab.prefix, inodes);
    assert.deepEqual(lab.destroy(), { namespaces: [], killed: [], strays: [], errors: [] });
    await assert.rejects(lab.exec(NODE.A, ['true']), /destroyed/);
  });
});

function pgrep(pgid: number): number[] {
  const r = spawnSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter(Boolean).map(Number).filter(isRunningPid);
}

test('two labs in one process are independent', { skip, timeout: 30_000 }, async (t) => {
  const one = labFor(t);
  const two = labFor(t);
  assert.notEqual(one.prefix, two.prefix);
  await one.addNamespace('x');
  await two.addNamespace('x');
  await two.addNamespace('y');
  await two.addVeth({ ns: 'x', ifname: 'eth0' }, { ns: 'y', ifname: 'eth0' }, { mtu: 1400 });
  await two.addAddress('x', 'eth0', '10.9.0.1/24');
  await two.addAddress('y', 'eth0', '10.9.0.2/24');
  await two.linkUp('x', 'eth0');
  await two.linkUp('y', 'eth0');
  one.destroy();
  assertNothingLeft(one.prefix);
  assert.match(await two.run('x', ['ping', '-c', '1', '-W', '2', '10.9.0.2']), / 0% packet loss/);
  assert.match(await two.ip('y', ['link', 'show', 'eth0']), / mtu 1400 /);
  two.destroy();
  assertNothingLeft(two.prefix);
});

// ---- cleanup on every exit path ------------------------------------------------------------

/**
 * Runs a child process that builds the classic topology, starts two process groups in it, writes
 * what it made to a file, and then ends the way `ending` says. Returns how it ended and what it made.
 */
async function childThatEnds(ending: string, opts: { viaTestRunner?: boolean; signal?: NodeJS.Signals } = {}): Promise<{
  code: number | null; signal: NodeJS.Signals | null; prefix: string; pids: number[]; stderr: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'bwlab-test-'));
  try {
    const info = join(dir, 'info.json');
    const build = `
      const lab = new Lab();
      await buildClassic(lab);
      const a = lab.spawn('c', ['sleep', '1000']);
      const b = lab.spawn('r', ['sh', '-c', 'sleep 1000 & sleep 1000']);
      await new Promise((r) => setTimeout(r, 200));
      const group = spawnSync('pgrep', ['-g', String(b.pid)], { encoding: 'utf8' }).stdout.split('\\n').filter(Boolean).map(Number);
      writeFileSync(${JSON.stringify(info)}, JSON.stringify({ prefix: lab.prefix, pids: [a.pid, ...group] }));`;
    const imports = `
      import { Lab } from ${JSON.stringify(NETNS_URL)};
      import { buildClassic } from ${JSON.stringify(CLASSIC_URL)};
      import { writeFileSync } from 'node:fs';
      import { spawnSync } from 'node:child_process';`;
    const script = opts.viaTestRunner
      ? `${imports}\nimport { test } from 'node:test';\nimport assert from 'node:assert/strict';\n` +
        `test('a test body that fails', async () => {${build}\n${ending}\n});\n`
      : `${imports}\n${build}\n${ending}\n`;
    const file = join(dir, opts.viaTestRunner ? 'failing.test.mjs' : 'child.mjs');
    writeFileSync(file, script);
    const args = opts.viaTestRunner ? ['--test', file] : [file];
    // A nested `node --test` must not think it reports to our runner.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.stdout.resume();
    if (opts.signal) {
      const ready = await eventually(() => { try { return statSync(info).size > 0; } catch { return false; } }, 20_000);
      assert.ok(ready, `the child never got ready: ${stderr}`);
      child.kill(opts.signal);
    }
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])));
    const made = JSON.parse(readFileSync(info, 'utf8')) as { prefix: string; pids: number[] };
    return { code, signal, stderr, ...made };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertCleanedUp(r: { prefix: string; pids: number[]; stderr: string }): void {
  assert.equal(r.pids.length, 4, 'the child started one sleep and a group of three');
  for (const pid of r.pids) assert.equal(isRunningPid(pid), false, `pid ${pid} still runs; child stderr: ${r.stderr}`);
  assertNothingLeft(r.prefix);
}

test('cleanup when a node:test body fails (no after hook: the exit hook does it)', { skip, timeout: 60_000 }, async () => {
  const r = await childThatEnds(`assert.equal(1, 2, 'the body fails');`, { viaTestRunner: true });
  assert.equal(r.code, 1);
  assertCleanedUp(r);
});

test('cleanup on an uncaught exception', { skip, timeout: 60_000 }, async () => {
  const r = await childThatEnds(`setTimeout(() => { throw new Error('boom'); }, 0);`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: boom/);
  assertCleanedUp(r);
});

test('cleanup on an unhandled rejection', { skip, timeout: 60_000 }, async () => {
  const r = await childThatEnds(`Promise.reject(new Error('rejected'));`);
  assert.equal(r.code, 1);
  assertCleanedUp(r);
});

test('cleanup on process.exit', { skip, timeout: 60_000 }, async () => {
  const r = await childThatEnds(`process.exit(3);`);
  assert.equal(r.code, 3);
  assertCleanedUp(r);
});

test('cleanup when the program just ends without destroy()', { skip, timeout: 60_000 }, async () => {
  // The spawned sleeps must not keep the process alive: it ends, and the exit hook cleans up.
  const r = await childThatEnds(``);
  assert.equal(r.code, 0);
  assertCleanedUp(r);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`cleanup on ${signal}, and the process still dies of it`, { skip, timeout: 60_000 }, async () => {
    const r = await childThatEnds(`setInterval(() => {}, 1000);`, { signal });
    assert.equal(r.signal, signal);
    assert.match(r.stderr, new RegExp(`burrow lab: ${signal}: removed 4 namespace`));
    assertCleanedUp(r);
  });
}

// ---- burrow lab up / down / demo -----------------------------------------------------------

test('burrow lab up classic leaves the topology; down removes it', { skip, timeout: 60_000 }, async (t) => {
  const prefix = `bwlab-t${process.pid.toString(36)}`;
  t.after(() => Lab.adopt(prefix).then((l) => l.destroy()));
  const out: string[] = [];
  const err: string[] = [];
  const io = { prefix, out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  assert.equal(await runLabCommand(['up', 'classic'], io), 0, err.join('\n'));
  assert.match(out.join('\n'), new RegExp(`netns ${prefix}-a`));
  assert.equal((await listNamespaces(prefix)).length, 4);
  // Another process's view: it is there and it works.
  const ping = spawnSync('ip', ['netns', 'exec', `${prefix}-a`, 'ping', '-c', '1', '-W', '2', B_UNDERLAY], { encoding: 'utf8' });
  assert.match(ping.stdout, /ttl=63 /);
  assert.equal(await runLabCommand(['up', 'classic'], io), 1);
  assert.match(err.join('\n'), /is up already/);
  out.length = 0;
  assert.equal(await runLabCommand(['down', 'classic'], io), 0);
  assert.match(out.join('\n'), new RegExp(`removed ${prefix}-`));
  assertNothingLeft(prefix);
  assert.equal(await runLabCommand(['down', 'classic'], io), 0);
  assert.match(out.join('\n'), /not up/);
});

/**
 * A stand-in for burrow: kernel vxlan plays the L3 tunnel (this kernel has vxlan but no ipip or gre),
 * with the MTU and show line burrow must give. `fail` makes `tunnel add` refuse one mode.
 */
function standInBurrow(dir: string, fail = ''): string {
  const file = join(dir, 'burrow');
  writeFileSync(file, `#!/bin/sh
case "$1 $2" in
"tunnel add")
  name=$3; shift 3
  while [ $# -gt 1 ]; do eval "opt_$1=\\$2"; shift 2; done
  [ "$opt_mode" = "${fail}" ] && { echo "add tunnel \\"$name\\" failed: No such device" >&2; exit 1; }
  case "$opt_mode" in ipip) mtu=1480 proto=ip ;; gre) mtu=1476 proto=gre ;; *) exit 1 ;; esac
  ip link add "$name" type vxlan id 42 remote "$opt_remote" local "$opt_local" dstport 4789 ttl "$opt_ttl" || exit 2
  ip link set "$name" mtu "$mtu" alias "$name: $proto/ip remote $opt_remote local $opt_local ttl $opt_ttl" ;;
"tunnel show") for f in /sys/class/net/*/ifalias; do [ -s "$f" ] && cat "$f"; done; exit 0 ;;
"tunnel del") ip link del "$3" ;;
"daemon stop") echo "$(ip netns identify)" >> ${JSON.stringify(join(dir, 'stopped'))} ;;
*) exit 1 ;;
esac
`);
  chmodSync(file, 0o755);
  return file;
}

test('the demo walks through ipip and gre (stand-in burrow)', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bwlab-test-'));
  try {
    const lines: string[] = [];
    const code = await runDemo({ modes: ['ipip', 'gre'], keep: false, burrow: standInBurrow(dir), out: (l) => lines.push(l) });
    const text = lines.join('\n');
    assert.equal(code, 0, text);
    for (const mode of ['ipip', 'gre']) {
      assert.ok(lines.includes(`A# burrow tunnel add vpn0 mode ${mode} remote ${B_UNDERLAY} local ${A_UNDERLAY} ttl 64`), text);
      assert.ok(lines.includes(`B# burrow tunnel add vpn0 mode ${mode} remote ${A_UNDERLAY} local ${B_UNDERLAY} ttl 64`), text);
    }
    assert.match(text, /^ {3}ok: mtu 1480$/m);
    assert.match(text, /^ {3}ok: mtu 1476$/m);
    assert.match(text, /^B# iptables -t nat -A POSTROUTING -s 10\.0\.0\.0\/24 -o docker0 -j MASQUERADE$/m);
    assert.match(text, /100% packet loss.*\n {3}ok: unreachable, as expected/);
    assert.doesNotMatch(text, /FAILED/);
    assert.match(lines.at(-1)!, /^demo: all \d+ checks passed$/);
    const prefix = /namespaces (bwlab-[a-z0-9]+)-\{a,r,b,c\}/.exec(text)?.[1];
    assert.ok(prefix, text);
    assertNothingLeft(prefix);
    // destroy() asked every namespace's daemon to stop before deleting it.
    const stopped = readFileSync(join(dir, 'stopped'), 'utf8').trim().split('\n').sort();
    assert.deepEqual(stopped, ['a', 'b', 'c', 'r'].map((n) => `${prefix}-${n}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the demo reports a failing step, exits 1 and still cleans up', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bwlab-test-'));
  try {
    const lines: string[] = [];
    const code = await runDemo({ modes: ['gre'], keep: false, burrow: standInBurrow(dir, 'gre'), out: (l) => lines.push(l) });
    const text = lines.join('\n');
    assert.equal(code, 1, text);
    assert.match(text, /A# burrow tunnel add vpn0 mode gre .*\n {3}add tunnel "vpn0" failed: No such device\n {3}FAILED: exit status 1/);
    assert.match(lines.at(-1)!, /^demo: \d+ of \d+ checks FAILED$/);
    const prefix = /namespaces (bwlab-[a-z0-9]+)-\{a,r,b,c\}/.exec(text)?.[1];
    assert.ok(prefix, text);
    assertNothingLeft(prefix);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo --keep leaves the lab for `burrow lab down classic`', { skip, timeout: 120_000 }, async (t) => {
  const prefix = `bwlab-k${process.pid.toString(36)}`;
  t.after(() => Lab.adopt(prefix).then((l) => l.destroy()));
  const dir = mkdtempSync(join(tmpdir(), 'bwlab-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const io = { prefix, burrow: standInBurrow(dir), out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
  assert.equal(await runLabCommand(['demo', '--mode', 'ipip', '--keep'], io), 0, lines.join('\n'));
  assert.match(lines.join('\n'), /lab: kept for exploring/);
  const ping = spawnSync('ip', ['netns', 'exec', `${prefix}-a`, 'ping', '-c', '1', '-W', '2', CONTAINER_ADDR], { encoding: 'utf8' });
  assert.match(ping.stdout, / 0% packet loss/, 'the kept lab still has its tunnel, route and MASQUERADE');
  assert.equal(await runLabCommand(['down', 'classic'], io), 0);
  assertNothingLeft(prefix);
});

test('the lab refuses a prefix that would hide it', () => {
  assert.throws(() => new Lab({ prefix: 'mylab', hooks: false }), /must start with "bwlab"/);
  assert.throws(() => new Lab({ prefix: 'bwlab-', hooks: false }), LabError);
});
