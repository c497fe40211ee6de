/**
 * Shared by the conformance test and its recorder: the case file, how `ip` and `bin/burrow` are run,
 * and the one allowed difference in texts (the program name).
 *
 * `ip` runs in a throwaway network namespace (`unshare --net`) when it can, so that a valid command on
 * a kernel that has the tunnel drivers creates nothing on the host. burrow runs with the daemon
 * unreachable: BURROW_AUTOSTART=0 and an empty BURROW_RUN_DIR.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Outcome {
  exit: number;
  stdout: string;
  stderr: string;
}

export interface ConformanceCase {
  args: string[];
  /** The oracle: `ip` (the default) or `bridge` (for `burrow fdb`, `bridge fdb`). */
  program?: 'ip' | 'bridge';
  /**
   * same: burrow prints exactly what `ip` prints (program name substituted).
   * daemon: a valid command; `ip` reaches the kernel, burrow must reach the daemon (before which nothing
   *   may fail) and so reports it unreachable.
   * differs: a documented difference (docs/cli-differences.md); `burrow` holds the expected output.
   */
  expect: 'same' | 'daemon' | 'differs';
  note?: string;
  /** What `ip` printed when the file was recorded (substituted). */
  ip?: Outcome;
  /** For `differs`: what burrow must print. */
  burrow?: Outcome;
}

export interface CaseFile {
  /** `ip -V` of the recording machine. */
  iproute2: string;
  cases: ConformanceCase[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The source tree's root (this file runs from dist/test/conformance). */
export const ROOT = path.resolve(here, '..', '..', '..');
export const CASE_FILE = path.join(ROOT, 'test', 'conformance', 'tunnel-cases.json');
/** `burrow link` against `ip link`, `burrow fdb` against `bridge fdb`. */
export const LINK_CASE_FILE = path.join(ROOT, 'test', 'conformance', 'link-cases.json');
export const XFRM_CASE_FILE = path.join(ROOT, 'test', 'conformance', 'xfrm-cases.json');
export const BURROW = path.join(ROOT, 'bin', 'burrow');

/** The stderr prefix of a burrow command that got as far as the daemon. */
export const DAEMON_STAGE = 'Cannot talk to the burrow daemon: ';

/** ip's texts with its program name replaced by burrow's, and nothing else. */
export function substituteProgramName(text: string): string {
  return text
    .replace(/(^|[\s"])ip(?= (?:tunnel|tunl|link|xfrm|-help|help)\b)/gm, '$1burrow')
    .replace(/(^|[\s"])bridge(?= fdb\b)/gm, '$1burrow');
}

export function readCases(file = CASE_FILE): CaseFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CaseFile;
}

/** One case per line, so that a change in behaviour is a one-line diff. */
export function writeCases(file: CaseFile, path_ = CASE_FILE): void {
  const lines = file.cases.map((c) => '    ' + JSON.stringify(c));
  fs.writeFileSync(
    path_,
    `{\n  "iproute2": ${JSON.stringify(file.iproute2)},\n  "cases": [\n${lines.join(',\n')}\n  ]\n}\n`,
  );
}

/** Runs a program to completion; its exit status, stdout and stderr. */
function execute(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    // Killed by a signal: the shell's 128 + N.
    child.once('close', (code, signal) =>
      resolve({ exit: code ?? 128 + (signal ? os.constants.signals[signal] : 0), stdout, stderr }),
    );
  });
}

/** Whether `ip` exists here, and whether it can be run in a new network namespace. */
export function ipAvailability(): { ip: boolean; netns: boolean; version: string } {
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return { ip: false, netns: false, version: '' };
  const n = spawnSync('unshare', ['--net', 'true'], { encoding: 'utf8' });
  return { ip: true, netns: !n.error && n.status === 0, version: v.stdout.trim() };
}

export async function runIp(args: string[], netns: boolean, program: 'ip' | 'bridge' = 'ip'): Promise<Outcome> {
  const o = netns ? await execute('unshare', ['--net', program, ...args]) : await execute(program, args);
  return { exit: o.exit, stdout: substituteProgramName(o.stdout), stderr: substituteProgramName(o.stderr) };
}

let runDir: string | undefined;

export function runBurrow(args: string[]): Promise<Outcome> {
  runDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-conformance-'));
  return execute(process.execPath, [BURROW, ...args], { ...process.env, BURROW_AUTOSTART: '0', BURROW_RUN_DIR: runDir });
}

/** Removes the empty run directory burrow was given. */
export function cleanUp(): void {
  if (runDir !== undefined) fs.rmSync(runDir, { recursive: true, force: true });
  runDir = undefined;
}

/** burrow, with no daemon to talk to, got as far as the daemon and printed nothing else. */
export function reachedDaemonStage(burrow: Outcome): void {
  assert.equal(burrow.stdout, '');
  assert.ok(burrow.stderr.startsWith(DAEMON_STAGE), `did not reach the daemon stage: ${JSON.stringify(burrow.stderr)}`);
  assert.equal(burrow.exit, 1);
}

/** What "valid input" means for one object: how far burrow got, and what the oracle's kernel said. */
export interface ValidInputRules {
  /** Checks that burrow, with no daemon to talk to, got as far as the daemon. */
  reachedDaemon(burrow: Outcome, recorded: Outcome): void;
  /** Whether the oracle's outcome shows that its parser took the input (the kernel may still refuse). */
  oracleTook(oracle: Outcome): boolean;
}

/**
 * One conformance case: burrow's outcome against the recorded one (same, daemon or differs), then the
 * oracle on this machine against the recording, so that an iproute2 upgrade shows up as a failure.
 */
export async function checkCase(
  c: ConformanceCase,
  file: CaseFile,
  availability: { ip: boolean; netns: boolean; version: string },
  t: { diagnostic(message: string): void },
  rules: ValidInputRules,
): Promise<void> {
  const burrow = await runBurrow(c.args);
  if (c.expect === 'same') assert.deepEqual(burrow, c.ip);
  else if (c.expect === 'daemon') rules.reachedDaemon(burrow, c.ip!);
  else assert.deepEqual(burrow, c.burrow);

  if (!availability.ip) {
    t.diagnostic('needs iproute2 (`ip`, `bridge`) to check the recorded expectation');
    return;
  }
  const oracle = await runIp(c.args, availability.netns, c.program ?? 'ip');
  if (c.expect === 'daemon') assert.ok(rules.oracleTook(oracle), `the oracle refused valid input: ${oracle.stderr}`);
  else if (availability.version === file.iproute2) {
    assert.deepEqual(oracle, c.ip, 'the iproute2 on this machine no longer prints what was recorded');
  }
}
