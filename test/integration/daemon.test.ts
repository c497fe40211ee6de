/**
 * The daemon's life in a namespace: SIGKILL and restart, SIGTERM, two daemons at once, a device deleted
 * underneath it, a user other than root, and a burst of malformed outer packets while traffic flows.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { parseIpv4Dotted } from '../../src/wire/address.js';
import { writeGreHeader } from '../../src/wire/gre.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { A, B, B_TUNNEL, B_UNDERLAY, burrowOk, classicLab, counters, deletePair, inject, ping, R, tunnelPair } from './tunnel-lab.js';

const skip = labUnavailableReason() ?? undefined;
const ROUTER = parseIpv4Dotted('192.168.100.254')!;

async function daemonPid(lab: Lab, ns: string): Promise<number> {
  const status = await burrowOk(lab, ns, ['daemon', 'status']);
  const m = /pid (\d+)/.exec(status);
  assert.ok(m, status);
  return Number(m[1]);
}

async function untilGone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`pid ${pid} is still running`);
}

function totalDrops(status: string): number {
  return [...status.matchAll(/^drop [a-z0-9-]+: (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('the daemon', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await classicLab();
  });
  after(() => lab?.destroy());

  it('survives SIGKILL: tunnel, addresses and routes stay, and the next command brings traffic back', async () => {
    await tunnelPair(lab, 'ipip', { both: ['ttl', '64'] });
    try {
      await lab.ip(A, ['route', 'add', '172.16.0.0/16', 'via', B_TUNNEL]);
      const pid = await daemonPid(lab, A);
      process.kill(pid, 'SIGKILL');
      await untilGone(pid);
      assert.match(await lab.ip(A, ['addr', 'show', 'vpn0']), /inet 10\.0\.0\.1\/24/);
      assert.match(await lab.ip(A, ['route', 'show']), /172\.16\.0\.0\/16 via 10\.0\.0\.2 dev vpn0/);
      assert.equal((await ping(lab, A, B_TUNNEL, ['-c', '2'])).received, 0, 'no daemon, no traffic');
      const shown = await burrowOk(lab, A, ['tunnel', 'show']);
      assert.equal(shown, 'vpn0: ip/ip remote 192.168.100.1 local 192.168.0.1 ttl 64\n');
      assert.notEqual(await daemonPid(lab, A), pid, 'a new daemon adopted the tunnel');
      assert.equal((await ping(lab, A, B_TUNNEL)).received, 5);
      assert.match(await lab.ip(A, ['route', 'show']), /172\.16\.0\.0\/16 via 10\.0\.0\.2 dev vpn0/);
    } finally {
      await deletePair(lab);
    }
  });

  it('stops on SIGTERM keeping its tunnels, which the next daemon adopts', async () => {
    await tunnelPair(lab, 'gre', { both: ['key', '9'] });
    try {
      const pid = await daemonPid(lab, B);
      process.kill(pid, 'SIGTERM');
      await untilGone(pid);
      assert.match(await lab.ip(B, ['link', 'show', 'vpn0']), /vpn0/, 'the device is kept');
      assert.equal(await burrowOk(lab, B, ['tunnel', 'show', 'vpn0']), 'vpn0: gre/ip remote 192.168.0.1 local 192.168.100.1 ttl inherit key 9\n');
      assert.equal((await ping(lab, A, B_TUNNEL)).received, 5);
    } finally {
      await deletePair(lab);
    }
  });

  it('refuses a second daemon in the same namespace, also when two start at once', async () => {
    await burrowOk(lab, R, ['daemon', 'start']);
    const second = await lab.burrow(R, ['daemon', 'run'], { timeoutMs: 10_000 });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^burrow: a daemon is already running in this network namespace \(pid \d+\)\n$/);
    await burrowOk(lab, R, ['daemon', 'stop']);
    const both = await Promise.all([
      lab.burrow(R, ['tunnel', 'add', 'r1', 'mode', 'ipip', 'remote', '192.168.0.1', 'local', '192.168.0.254']),
      lab.burrow(R, ['tunnel', 'add', 'r2', 'mode', 'ipip', 'remote', '192.168.100.1', 'local', '192.168.100.254']),
    ]);
    for (const r of both) assert.equal(r.code, 0, r.stderr);
    // Both made it, in whichever order the race gave them their devices.
    const shown = (await burrowOk(lab, R, ['tunnel', 'show'])).split('\n').filter(Boolean).sort();
    assert.deepEqual(shown, [
      'r1: ip/ip remote 192.168.0.1 local 192.168.0.254 ttl inherit',
      'r2: ip/ip remote 192.168.100.1 local 192.168.100.254 ttl inherit',
    ]);
    const daemons = execFileSync('ip', ['netns', 'pids', lab.nsName(R)], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(daemons.length, 1, `one process (the daemon) in the namespace: ${daemons.join(' ')}`);
    await burrowOk(lab, R, ['daemon', 'stop', '--flush']);
  });

  it('forgets a tunnel whose device is deleted with ip link del', async () => {
    await burrowOk(lab, A, ['tunnel', 'add', 'gone0', 'mode', 'gre', 'remote', '192.168.100.1', 'local', '192.168.0.1']);
    await lab.ip(A, ['link', 'del', 'gone0']);
    for (let i = 0; i < 50 && (await burrowOk(lab, A, ['tunnel', 'show'])).includes('gone0'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.doesNotMatch(await burrowOk(lab, A, ['tunnel', 'show']), /gone0/);
    await burrowOk(lab, A, ['tunnel', 'add', 'gone0', 'mode', 'gre', 'remote', '192.168.100.1', 'local', '192.168.0.1']);
    await burrowOk(lab, A, ['tunnel', 'del', 'gone0']);
  });

  it('takes a -batch file of tunnel commands in one process, stopping at the first failure unless -force', async () => {
    const file = path.join(os.tmpdir(), `burrow-batch-${process.pid}`);
    const adds = Array.from({ length: 50 }, (_, i) => `tunnel add bt${i} mode gre remote 10.9.${i}.1 local 192.168.0.1 key ${i}`);
    try {
      fs.writeFileSync(file, ['# fifty tunnels', ...adds, ''].join('\n'));
      await burrowOk(lab, A, ['-batch', file]);
      const shown = await burrowOk(lab, A, ['tunnel', 'show', 'mode', 'gre']);
      assert.equal(shown.split('\n').filter((l) => /^bt\d+: gre\/ip/.test(l)).length, 50, shown);
      fs.writeFileSync(file, 'tunnel del bt0\ntunnel del bt0\ntunnel del bt1\n');
      const failed = await lab.burrow(A, ['-batch', file]);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, new RegExp(`Command failed ${file}:2\n$`));
      assert.match(await burrowOk(lab, A, ['tunnel', 'show', 'bt1']), /^bt1: gre/, 'the batch stopped at line 2');
      fs.writeFileSync(file, Array.from({ length: 50 }, (_, i) => `tunnel del bt${i}`).join('\n') + '\n');
      const forced = await lab.burrow(A, ['-force', '-batch', file]);
      assert.equal(forced.code, 1, 'bt0 was gone already');
      assert.equal((forced.stderr.match(/Command failed/g) ?? []).length, 1, forced.stderr);
      assert.doesNotMatch(await burrowOk(lab, A, ['tunnel', 'show', 'mode', 'gre']), /^bt/m);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('answers no user but root', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const r = await lab.exec(A, [process.execPath, path.join(here, 'as-nobody.js'), 'tunnel', 'add', 'x0', 'mode', 'ipip', 'remote', '192.168.100.1']);
    assert.equal(r.stderr, 'add tunnel "tunl0" failed: Operation not permitted\n');
    assert.equal(r.code, 1);
  });

  it('drops and counts a burst of malformed outer packets while good traffic flows', async () => {
    await tunnelPair(lab, 'gre', { both: ['key', '7', 'csum'] });
    // An ipip tunnel too, so that B listens for protocol 4 (else the kernel answers those itself).
    await burrowOk(lab, B, ['tunnel', 'add', 'ip0', 'mode', 'ipip', 'remote', '192.168.0.1', 'local', B_UNDERLAY]);
    try {
      const before = totalDrops(await burrowOk(lab, B, ['daemon', 'status']));
      const b = parseIpv4Dotted(B_UNDERLAY)!;
      const bad: Uint8Array[] = [];
      const outer = (protocol: number, payload: Uint8Array): Uint8Array => {
        const p = Buffer.alloc(20 + payload.length);
        p.set(payload, 20);
        writeIpv4Header(p, 0, 0, p.length, 0, false, 64, protocol, ROUTER, b);
        return p;
      };
      for (let i = 0; i < 300; i++) {
        const kind = i % 6;
        if (kind === 0) bad.push(outer(47, randomBytes(i % 40))); // random GRE
        if (kind === 1) bad.push(outer(47, Buffer.from([0x00, 0x01, 0x08, 0x00, ...randomBytes(30)]))); // version 1
        if (kind === 2) bad.push(outer(47, Buffer.from([0x40, 0x00, 0x08, 0x00, ...randomBytes(30)]))); // routing
        if (kind === 3) bad.push(outer(47, Buffer.from([0xb0, 0x00, 0x08, 0x00]))); // flags promise 12 more bytes
        if (kind === 4) {
          const g = Buffer.alloc(8 + 40);
          writeGreHeader(g, 0, 0x2000, 0x0800, 7, 0); // right key, wrong peer, no checksum
          bad.push(outer(47, g));
        }
        if (kind === 5) bad.push(outer(4, randomBytes(1 + (i % 60)))); // ipip from nobody's peer
      }
      const pinging = ping(lab, A, B_TUNNEL, ['-c', '40', '-i', '0.02']);
      assert.equal(inject(lab, R, bad), bad.length);
      const r = await pinging;
      assert.equal(r.received, 40, r.output);
      const status = await burrowOk(lab, B, ['daemon', 'status']);
      assert.equal(totalDrops(status) - before, bad.length, `every bad packet counted once:\n${status}`);
      assert.equal((await counters(lab, B)).rx.errors, 0, 'none was charged to the tunnel');
    } finally {
      await burrowOk(lab, B, ['tunnel', 'del', 'ip0']);
      await deletePair(lab);
    }
  });
});
