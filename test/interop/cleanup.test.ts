/**
 * No leftovers, whatever way a test process ends: a child process boots a kernel peer and is then
 * ended by SIGINT, SIGTERM, an uncaught exception or SIGKILL. Afterwards its qemu must be gone, and
 * its tap, namespace and temp dir too. SIGKILL cannot be caught: qemu dies by its parent-death
 * signal and the tap with it; the namespace and temp dir are swept by the next test that makes one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { registerCleanup } from './cleanup.js';
import { KernelPeer, sweepStaleTempDirs } from './kernel-peer.js';
import { alive, sweepStaleNamespaces } from './netns.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'peer-child.js');

interface Made {
  qemuPid: number;
  tap: string;
  netns: string;
  dir: string;
}

function isQemu(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('qemu-system');
  } catch {
    return false;
  }
}

/** Starts the child, waits for its report, ends it the given way; returns the report and how it ended. */
async function runChild(end: 'SIGINT' | 'SIGTERM' | 'SIGKILL' | 'throw'): Promise<{ made: Made; signal: string | null; code: number | null }> {
  const child = spawn(process.execPath, [CHILD, end === 'throw' ? 'throw' : 'wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ signal: string | null; code: number | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // If this test goes wrong, the child still gets a SIGTERM, and cleans up after itself.
  const forget = registerCleanup(`child pid ${child.pid}`, () => child.kill('SIGTERM'));
  exited.then(forget);
  let made: Made;
  try {
    made = await new Promise<Made>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as Made);
      });
      exited.then(({ code, signal }) => reject(new Error(`child ended before booting (${signal ?? code}): ${err}`)));
    });
    assert.ok(isQemu(made.qemuPid), 'qemu runs while the child does');
  } catch (e) {
    child.kill('SIGTERM');
    await exited;
    throw e;
  }
  if (end !== 'throw') child.kill(end);
  return { made, ...(await exited) };
}

async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`still there after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cleanup on every exit path', { skip: KernelPeer.unavailable() ?? false }, () => {
  const tapGone = (m: Made) => !existsSync(`/run/netns/${m.netns}`) || !existsSync(`/proc/sys/net/ipv4/conf/${m.tap}`);

  // The four children boot at the same time: one boot's wait instead of four.
  const ends = ['SIGINT', 'SIGTERM', 'throw', 'SIGKILL'] as const;
  const runs = new Map(ends.map((e) => [e, KernelPeer.unavailable() === null ? runChild(e) : null]));
  for (const r of runs.values()) r?.catch(() => undefined);

  for (const end of ['SIGINT', 'SIGTERM', 'throw'] as const) {
    test(`${end === 'throw' ? 'an uncaught exception' : end}: qemu, tap, namespace and temp dir are gone`, async () => {
      const { made, signal, code } = await runs.get(end)!;
      if (end === 'throw') assert.equal(code, 1);
      else assert.equal(signal, end, 'the child dies of the signal it got, after cleaning up');
      await eventually(`qemu pid ${made.qemuPid}`, () => !isQemu(made.qemuPid));
      assert.ok(!existsSync(`/run/netns/${made.netns}`), `namespace ${made.netns}`);
      assert.ok(!existsSync(made.dir), `temp dir ${made.dir}`);
    });
  }

  test('SIGKILL: qemu dies with its parent, the tap with qemu; the namespace is swept later', async () => {
    const { made, signal } = await runs.get('SIGKILL')!;
    assert.equal(signal, 'SIGKILL');
    await eventually(`qemu pid ${made.qemuPid}`, () => !isQemu(made.qemuPid));
    await eventually(`tap ${made.tap}`, () => tapGone(made));
    // What a SIGKILL leaves: its namespace (and temp dir), removed by the next Netns/KernelPeer.
    assert.ok(existsSync(`/run/netns/${made.netns}`));
    await eventually('the dead child', () => !alive(Number.parseInt(made.netns.split('-')[2], 36)));
    assert.ok(sweepStaleNamespaces().includes(made.netns));
    assert.ok(!existsSync(`/run/netns/${made.netns}`));
    assert.ok(sweepStaleTempDirs().includes(made.dir));
    assert.ok(!existsSync(made.dir));
  });
});
