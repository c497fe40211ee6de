import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLabArgs, runLabCommand } from './command.js';

test('parseLabArgs: demo modes and --keep', () => {
  assert.deepEqual(parseLabArgs(['demo']), { cmd: 'demo', modes: ['ipip', 'gre'], keep: false });
  assert.deepEqual(parseLabArgs(['demo', '--mode', 'all']), { cmd: 'demo', modes: ['ipip', 'gre'], keep: false });
  assert.deepEqual(parseLabArgs(['demo', '--mode', 'gre', '--keep']), { cmd: 'demo', modes: ['gre'], keep: true });
  assert.deepEqual(parseLabArgs(['demo', '--keep', '--mode=ipip']), { cmd: 'demo', modes: ['ipip'], keep: true });
});

test('parseLabArgs: up, down, help', () => {
  assert.deepEqual(parseLabArgs(['up', 'classic']), { cmd: 'up', topology: 'classic' });
  assert.deepEqual(parseLabArgs(['down', 'classic']), { cmd: 'down', topology: 'classic' });
  assert.deepEqual(parseLabArgs([]), { cmd: 'help' });
  assert.deepEqual(parseLabArgs(['help']), { cmd: 'help' });
});

test('parseLabArgs: usage problems', () => {
  const cases: [string[], RegExp][] = [
    [['demo', '--mode'], /"--mode" needs a value/],
    [['demo', '--mode', 'sit'], /unknown mode "sit"/],
    [['demo', '--mode', 'gre', '--mode', 'ipip'], /duplicate "--mode"/],
    [['demo', '--keep', '--keep'], /duplicate "--keep"/],
    [['demo', '--fast'], /unknown option "--fast"/],
    [['up'], /"up" needs a topology/],
    [['up', 'mesh'], /unknown topology "mesh"/],
    [['down', 'classic', 'now'], /unexpected "now"/],
    [['help', 'me'], /unexpected "me"/],
    [['sideways'], /unknown command "sideways"/],
  ];
  for (const [argv, expected] of cases) {
    const c = parseLabArgs(argv);
    assert.equal(c.cmd, 'usage', argv.join(' '));
    assert.match((c as { message: string }).message, expected, argv.join(' '));
  }
});

test('runLabCommand: usage goes to stderr with status 255, help to stdout with 0', async () => {
  const out: string[] = [];
  const err: string[] = [];
  assert.equal(await runLabCommand(['demo', '--mode', 'sit'], { out: (l) => out.push(l), err: (l) => err.push(l) }), 255);
  assert.equal(out.length, 0);
  assert.match(err.join('\n'), /^burrow lab: unknown mode "sit"/);
  assert.match(err.join('\n'), /Usage: burrow lab demo/);
  err.length = 0;
  assert.equal(await runLabCommand(['help'], { out: (l) => out.push(l), err: (l) => err.push(l) }), 0);
  assert.match(out.join('\n'), /burrow lab up classic/);
  assert.equal(err.length, 0);
});
