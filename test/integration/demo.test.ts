/**
 * The walk-through end to end, as the README's first command runs it: `bin/burrow lab demo --mode all`
 * with the real CLI, daemon and data plane, in fresh namespaces (root). This is the acceptance test of
 * issue 2: ipip and gre tunnels with MTU 1480/1476, 0% loss over the tunnel, the container unreachable
 * before MASQUERADE and reachable after, and nothing left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { labUnavailableReason, repoRoot } from '../../src/lab/netns.js';
import { A_UNDERLAY, B_UNDERLAY } from '../../src/lab/scenarios/classic.js';

const unavailable = labUnavailableReason();

test('burrow lab demo --mode all passes every check and leaves nothing behind', { skip: unavailable ?? false, timeout: 300_000 }, async () => {
  const root = repoRoot();
  const burrow = join(root, 'bin', 'burrow');
  // Not a skip: the demo is the product's first command, so a checkout without it is a failure.
  assert.ok(existsSync(burrow), `${burrow} is missing: the CLI entry point has not been written or built`);
  assert.ok(existsSync(join(root, 'dist', 'src', 'cli', 'main.js')), 'dist/src/cli/main.js is missing: run npx tsc -p .');

  const child = spawn(burrow, ['lab', 'demo', '--mode', 'all'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const lines = stdout.split('\n');
  const transcript = `${stdout}\n--- stderr ---\n${stderr}`;

  assert.equal(code, 0, transcript);
  for (const mode of ['ipip', 'gre']) {
    assert.ok(lines.includes(`A# burrow tunnel add vpn0 mode ${mode} remote ${B_UNDERLAY} local ${A_UNDERLAY} ttl 64`), transcript);
    assert.ok(lines.includes(`B# burrow tunnel add vpn0 mode ${mode} remote ${A_UNDERLAY} local ${B_UNDERLAY} ttl 64`), transcript);
    assert.ok(lines.includes(`   ok: 0% packet loss over ${mode}`), transcript);
  }
  assert.ok(lines.includes('   vpn0: ip/ip remote 192.168.100.1 local 192.168.0.1 ttl 64'), transcript);
  assert.ok(lines.includes('   vpn0: gre/ip remote 192.168.100.1 local 192.168.0.1 ttl 64'), transcript);
  assert.ok(lines.includes('   ok: mtu 1480'), transcript);
  assert.ok(lines.includes('   ok: mtu 1476'), transcript);
  assert.ok(lines.includes('A# ip route add 172.16.0.0/16 via 10.0.0.2'), transcript);
  assert.ok(lines.includes('B# iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o docker0 -j MASQUERADE'), transcript);
  assert.equal(lines.filter((l) => l.startsWith('   ok: unreachable, as expected')).length, 2, transcript);
  assert.equal(lines.filter((l) => l.startsWith('   ok: reachable: B masquerades')).length, 2, transcript);
  assert.doesNotMatch(stdout, /FAILED/);
  assert.match(stdout, /^demo: all \d+ checks passed$/m);

  const prefix = /namespaces (bwlab-[a-z0-9]+)-\{a,r,b,c\}/.exec(stdout)?.[1];
  assert.ok(prefix, transcript);
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.deepEqual(netns.split('\n').filter((l) => l.startsWith(`${prefix}-`)), [], 'the demo left namespaces');
  assert.match(stdout, /^lab: removed 4 namespaces$/m);
});
