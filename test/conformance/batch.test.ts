/**
 * `burrow -batch` against `ip -batch`, live on this machine: the recorded `same` cases of
 * tunnel-cases.json and link-cases.json, each as the first line of a two-line batch run with `-force`,
 * whose second line (`frob`) always fails. So each case shows whether its error ends the whole batch
 * (iproute2 calls exit(): no `Command failed`, the second line never runs, the case's own status) or
 * fails the command (`Command failed FILE:1`, then the second line, status 1), and that burrow decides
 * it as ip does. Some `daemon` cases (valid input that ip's kernel refuses and that burrow cannot send
 * to an absent daemon) check the framing alone; and files with comments, continuations and quotes,
 * a missing file and standard input, the reader's rules (src/cli/batch.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  BURROW, CASE_FILE, LINK_CASE_FILE, cleanUp, ipAvailability, readCases, substituteProgramName,
  type ConformanceCase, type Outcome,
} from './harness.js';

const availability = ipAvailability();
let dir = '';

function run(file: string, args: string[], input: string, env?: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: [input === '' ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ exit: code ?? -1, stdout, stderr }));
    child.stdin?.on('error', () => {}).end(input); // a program that stops reading early is not our error
  });
}

/** ip (in a fresh network namespace) and burrow (no daemon) on the same batch file. */
async function both(text: string, options: string[] = ['-force'], name = 'b'): Promise<{ ip: Outcome; burrow: Outcome }> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const args = [...options, '-batch', file];
  const ipOut = availability.netns ? await run('unshare', ['--net', 'ip', ...args], '') : await run('ip', args, '');
  const burrowOut = await run(process.execPath, [BURROW, ...args], '', { ...process.env, BURROW_AUTOSTART: '0', BURROW_RUN_DIR: dir });
  return {
    ip: { exit: ipOut.exit, stdout: substituteProgramName(ipOut.stdout), stderr: substituteProgramName(ipOut.stderr) },
    burrow: burrowOut,
  };
}

/** Words a batch line can carry as they are (no quoting needed). */
const plain = (c: ConformanceCase) =>
  c.args.length > 0 && !c.args[0].startsWith('-') && c.args.every((a) => a !== '' && !/[\s'"#\\]/.test(a));

const cases = [...readCases(CASE_FILE).cases, ...readCases(LINK_CASE_FILE).cases].filter(
  (c) => (c.program ?? 'ip') === 'ip' && plain(c),
);
// Every other case: enough of each kind of error, in half the time.
const same = cases.filter((c) => c.expect === 'same').filter((_, i) => i % 2 === 0);
const daemon = cases.filter((c) => c.expect === 'daemon' && c.args[0] === 'tunnel').slice(0, 6);

describe('burrow -batch conforms to ip -batch', { concurrency: os.availableParallelism() }, () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-batch-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    cleanUp();
  });

  for (const [i, c] of same.entries()) {
    it(`same: ${JSON.stringify(c.args)}`, async (t) => {
      if (!availability.ip) return t.skip('needs iproute2 (`ip`)');
      const r = await both(`${c.args.join(' ')}\nfrob\n`, ['-force'], `same-${i}`);
      assert.deepEqual(r.burrow, r.ip);
    });
  }

  for (const [i, c] of daemon.entries()) {
    it(`daemon: ${JSON.stringify(c.args)} fails the command and goes on`, async (t) => {
      if (!availability.ip) return t.skip('needs iproute2 (`ip`)');
      const r = await both(`${c.args.join(' ')}\nfrob\n`, ['-force'], `daemon-${i}`);
      const framing = (o: Outcome) => ({ exit: o.exit, lines: o.stderr.split('\n').filter((l) => /^(Command failed|Object)/.test(l)) });
      assert.deepEqual(framing(r.burrow), framing(r.ip));
      assert.equal(r.burrow.exit, 1);
    });
  }

  const files: Array<[string, string, string[]]> = [
    ['comments, blank lines and continuations', '# a comment\n\nfrob # here too\ntunnel \\\n  frob\n\n', ['-force']],
    ['stops at the first failure without -force', 'frob\nfrob\n', []],
    ['quotes', 'tunnel "add" \'x\' mode "frob"\n', ['-force']],
    ['an unterminated quote', 'frob\ntunnel "add\nfrob\n', ['-force']],
    ['a continuation with nothing after it', 'frob\ntunnel show \\\n', ['-force']],
    ['too many words', `tunnel ${Array(520).fill('x').join(' ')}\n`, ['-force']],
    ['an exit() ends it despite -force', 'frob\ntunnel add x mode ipip remote 999.1.1.1\nfrob\n', ['-force']],
  ];
  for (const [title, text, options] of files) {
    it(title, async (t) => {
      if (!availability.ip) return t.skip('needs iproute2 (`ip`)');
      const r = await both(text, options, title.replace(/\W+/g, '-'));
      assert.deepEqual(r.burrow, r.ip);
    });
  }

  it('a missing file, and standard input', async (t) => {
    if (!availability.ip) return t.skip('needs iproute2 (`ip`)');
    const missing = path.join(dir, 'missing');
    const env = { ...process.env, BURROW_AUTOSTART: '0', BURROW_RUN_DIR: dir };
    assert.deepEqual(await run(process.execPath, [BURROW, '-batch', missing], '', env), await run('ip', ['-batch', missing], ''));
    const ipStdin = await run('ip', ['-force', '-batch', '-'], 'frob\n\nfrob\n');
    const burrowStdin = await run(process.execPath, [BURROW, '-force', '-batch', '-'], 'frob\n\nfrob\n', env);
    assert.deepEqual(burrowStdin, { ...ipStdin, stderr: substituteProgramName(ipStdin.stderr) });
  });
});
