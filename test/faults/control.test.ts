/**
 * Fault group C (reliability.md section 6): the command line and the control socket. Bad input of any
 * kind is refused and changes nothing (the tunnels, the devices, their addresses and routes, the state
 * file are the same before and after), duplicates are refused with iproute2's errors, concurrent
 * commands all land, and no user but root gets through.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { runCli } from '../../src/cli/main.js';
import { clientAt } from '../../src/control/client.js';
import { readCases } from '../conformance/harness.js';
import { burrowOut, control, daemonFiles, scenario, sleep, snapshot } from './harness.js';
import { A, A_UNDERLAY, B_UNDERLAY, faultLab } from './lab.js';

const skip = labUnavailableReason() ?? undefined;
const here = path.dirname(fileURLToPath(import.meta.url));

/** What must not change: the tunnels as shown, the devices, addresses and routes, the state file. */
async function state(lab: Lab): Promise<string> {
  const shown = await burrowOut(lab, A, ['-d', 'tunnel', 'show']);
  const snap = await snapshot(lab, A);
  const file = fs.readFileSync(daemonFiles(lab, A).state, 'utf8');
  return JSON.stringify({ shown, devices: snap.devices, addresses: snap.addresses, routes: snap.routes, file }, null, 1);
}

/** Runs the command line in this process against the daemon of A: status and output. */
async function cli(lab: Lab, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    connect: async () => clientAt(daemonFiles(lab, A).socket),
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    daemonCommand: async () => 255,
    labCommand: async () => 255,
  });
  return { code, stdout, stderr };
}

/** One raw line (or bytes) on a fresh connection to A's control socket; the daemon's answer, if any. */
function raw(lab: Lab, data: string | Buffer, end = true): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(daemonFiles(lab, A).socket);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.once('connect', () => {
      socket.write(data);
      if (end) socket.end();
    });
    socket.on('error', () => resolve(received));
    socket.on('close', () => resolve(received));
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

describe('faults C: command line and control socket', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await faultLab(false);
    // A second tunnel, to duplicate against.
    await burrowOut(lab, A, ['tunnel', 'add', 'ip1', 'mode', 'ipip', 'remote', B_UNDERLAY, 'local', A_UNDERLAY]);
    await burrowOut(lab, A, ['tunnel', 'add', 'six1', 'mode', 'sit', 'remote', B_UNDERLAY, 'local', A_UNDERLAY]);
    await burrowOut(lab, A, ['tunnel', 'add', 'g2', 'mode', 'gre', 'remote', B_UNDERLAY, 'local', A_UNDERLAY, 'key', '8']);
  });
  after(() => lab?.destroy());

  scenario('C', 'bad arguments (iproute2\'s 179 refused vectors and more) change nothing', () => lab, { watch: [A] }, async (s) => {
    const vectors = readCases()
      .cases.filter((c) => (c.expect === 'same' && c.ip!.exit !== 0) || (c.expect === 'differs' && c.burrow!.exit !== 0))
      .map((c) => c.args);
    // Non-canonical addresses, out-of-range numbers, impossible combinations.
    const more = [
      ['tunnel', 'add', 'x1', 'mode', 'ipip', 'remote', '::ffff:1.2.3.4'],
      ['tunnel', 'add', 'x1', 'mode', 'ipip', 'remote', '1.2.3.256'],
      ['tunnel', 'add', 'x1', 'mode', 'ipip', 'remote', B_UNDERLAY, 'ttl', '256'],
      ['tunnel', 'add', 'x1', 'mode', 'ipip', 'remote', B_UNDERLAY, 'ttl', '64', 'nopmtudisc'],
      ['tunnel', 'add', 'x1', 'mode', 'ipip', 'remote', B_UNDERLAY, 'key', '5'],
      ['tunnel', 'add', 'a-name-far-too-long', 'mode', 'gre', 'remote', B_UNDERLAY],
      ['tunnel', 'add', 'x/1', 'mode', 'gre', 'remote', B_UNDERLAY],
      ['tunnel', 'change', 'vpn0', 'mode', 'ipip', 'remote', B_UNDERLAY, 'local', A_UNDERLAY],
      ['tunnel', 'change', 'nosuch0', 'mode', 'gre', 'remote', B_UNDERLAY],
      ['tunnel', 'del', 'nosuch0'],
      ['tunnel', 'del', 'eth0'],
      ['tunnel', 'change', 'eth0', 'mode', 'gre', 'remote', B_UNDERLAY],
      ['tunnel', 'add', 'eth0', 'mode', 'gre', 'remote', B_UNDERLAY],
      ['tunnel', 'add', 'x1', 'mode', 'gre', 'remote', B_UNDERLAY, 'local', A_UNDERLAY, 'dev', 'nosuchdev'],
      ['tunnel', 'add', 'x1', 'mode', 'gre', 'remote', '224.1.2.3'],
    ];
    const before = await state(lab);
    let refused = 0;
    for (const argv of [...vectors, ...more]) {
      const r = await cli(lab, argv);
      assert.notEqual(r.code, 0, `refused: burrow ${argv.join(' ')}`);
      assert.doesNotMatch(r.stderr, /internal error/, argv.join(' '));
      refused++;
    }
    // A few through the real command line too, as a user types them.
    for (const argv of more.slice(0, 8)) {
      const r = await lab.burrow(A, argv);
      assert.notEqual(r.code, 0, argv.join(' '));
      assert.doesNotMatch(r.stderr, /internal error/);
      refused++;
    }
    s.badInputs(refused);
    assert.equal(await state(lab), before, 'nothing changed');
    // Non-canonical addresses are not refused: iproute2 reads them with its own strtoul-based reader
    // (get_addr_ipv4), and burrow reads them exactly so.
    for (const [text, read] of [['1.2.3', '1.2.3.0'], ['127.1', '127.1.0.0'], ['0177.0.0.1', '127.0.0.1'], ['0x7f.1', '127.1.0.0']]) {
      await burrowOut(lab, A, ['tunnel', 'add', 'nc0', 'mode', 'gre', 'remote', text, 'local', A_UNDERLAY, 'key', '99']);
      assert.match(await burrowOut(lab, A, ['tunnel', 'show', 'nc0']), new RegExp(`remote ${read.replaceAll('.', '\\.')} `));
      await burrowOut(lab, A, ['tunnel', 'del', 'nc0']);
    }
    assert.equal(await state(lab), before, 'and they leave nothing behind');
  });

  scenario('C', 'the control socket: garbage, wrong shapes, huge and half requests, idle connections', () => lab, { watch: [A] }, async (s) => {
    const before = await state(lab);
    const params = (over: Record<string, unknown>): string =>
      JSON.stringify({
        op: 'tunnel.add',
        params: { name: 'bad0', mode: 'gre', remote: 0xc6336401, local: 0, link: 0, ttl: 0, tos: 0, pmtudisc: true, iflags: 0, oflags: 0, ikey: 0, okey: 0, ...over },
      }) + '\n';
    const lines: string[] = [
      'not json\n',
      '\n',
      '[]\n',
      'null\n',
      '42\n',
      '{"op":"tunnel.nuke"}\n',
      '{"op":"tunnel.add"}\n',
      '{"op":"tunnel.add","params":"gre"}\n',
      '{"op":"tunnel.change","name":"vpn0","params":{}}\n',
      '{"op":"tunnel.del","name":7,"params":null}\n',
      '{"op":"tunnel.get","name":"nosuch0"}\n',
      '{"op":"__proto__"}\n',
      '{"__proto__":{"op":"daemon.stop"}}\n',
      params({ ttl: 300 }),
      params({ ttl: 1.5 }),
      params({ tos: -1 }),
      params({ remote: -1 }),
      params({ remote: 2 ** 33 }),
      params({ ikey: 2 ** 32 }),
      params({ name: '../../etc' }),
      params({ name: 'x'.repeat(16) }),
      params({ name: 'a b' }),
      params({ name: 5 }),
      params({ mode: 'bogus' }),
      params({ mode: 'gre', iflags: 0x4000 }),
      params({ mode: 'gre', oflags: 0x0001 }),
      params({ mode: 'gre', remote: 0xe0000001, local: 0 }),
      params({ pmtudisc: 'yes' }),
      params({ name: 'vpn0' }),
      params({ name: 'eth0' }),
      '{"op":"daemon.status"}', // no newline: never a request
    ];
    let answered = 0;
    for (const line of lines) {
      const reply = await raw(lab, line);
      if (line.endsWith('\n')) {
        const response = JSON.parse(reply) as { ok: boolean; error?: { code: string } };
        if (line.includes('"tunnel.get"') || line.startsWith('{"__proto__"')) {
          assert.equal(response.ok, false, line);
        } else {
          assert.equal(response.ok, false, `refused: ${line}`);
          assert.notEqual(response.error?.code, 'EIO', `an error, not a bug: ${line}`);
        }
        answered++;
      } else {
        assert.equal(reply, '', 'a request without its newline is not answered');
      }
    }
    // 2 MiB without a newline, then the end: refused as too large.
    const huge = await raw(lab, Buffer.alloc(2 << 20, 0x61));
    assert.match(huge, /EMSGSIZE/);
    // Connections that say nothing, many at once; then they go.
    const idle: net.Socket[] = [];
    for (let i = 0; i < 200; i++) idle.push(net.connect(daemonFiles(lab, A).socket));
    await sleep(300);
    assert.equal((await control(lab, A, { op: 'daemon.status' })).tunnels, 4, 'still answering meanwhile');
    for (const c of idle) c.destroy();
    await sleep(300);
    s.badInputs(lines.length + 1 + idle.length);
    // Every line but the last (no newline) got its answer.
    assert.equal(answered, lines.length - 1);
    assert.equal(await state(lab), before, 'nothing changed');
    // Unknown keys in good parameters: the tunnel is made, the keys are not kept (state file, answers).
    const reply = JSON.parse(await raw(lab, params({ name: 'uk0', mode: 'gre', oflags: 0x2000, okey: 5, iflags: 0x2000, ikey: 5, colour: 'red', nested: { deep: [1, 2] } })));
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const got = await control(lab, A, { op: 'tunnel.get', name: 'uk0' });
    assert.deepEqual(Object.keys(got.params).sort(), ['iflags', 'ikey', 'link', 'local', 'mode', 'name', 'oflags', 'okey', 'pmtudisc', 'remote', 'tos', 'ttl']);
    assert.doesNotMatch(fs.readFileSync(daemonFiles(lab, A).state, 'utf8'), /colour|nested/);
    await burrowOut(lab, A, ['tunnel', 'del', 'uk0']);
    assert.equal(await state(lab), before, 'and it is gone again');
  });

  scenario('C', 'duplicate names and identities are refused with iproute2\'s errors, and change nothing', () => lab, { watch: [A] }, async (s) => {
    const before = await state(lab);
    const cases: [string[], RegExp][] = [
      [['tunnel', 'add', 'vpn0', 'mode', 'gre', 'remote', B_UNDERLAY, 'local', A_UNDERLAY, 'key', '8'], /^add tunnel "gre0" failed: File exists\n$/],
      [['tunnel', 'add', 'vpn9', 'mode', 'gre', 'remote', B_UNDERLAY, 'local', A_UNDERLAY, 'key', '7'], /^add tunnel "gre0" failed: File exists\n$/],
      [['tunnel', 'add', 'ip9', 'mode', 'ipip', 'remote', B_UNDERLAY, 'local', A_UNDERLAY], /^add tunnel "tunl0" failed: File exists\n$/],
      [['tunnel', 'add', 'six9', 'mode', 'sit', 'remote', B_UNDERLAY, 'local', A_UNDERLAY], /^add tunnel "sit0" failed: No buffer space available\n$/],
      [['tunnel', 'add', 'eth0', 'mode', 'ipip', 'remote', '198.51.100.9', 'local', A_UNDERLAY], /^add tunnel "tunl0" failed: File exists\n$/],
      // iproute2 says "add tunnel" for a change too (tnl_add_ioctl), naming the device changed.
      [['tunnel', 'change', 'g2', 'mode', 'gre', 'remote', B_UNDERLAY, 'local', A_UNDERLAY, 'key', '7'], /^add tunnel "g2" failed: File exists\n$/],
    ];
    for (const [argv, expected] of cases) {
      const r = await lab.burrow(A, argv);
      assert.equal(r.code, 1, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected, argv.join(' '));
    }
    s.badInputs(cases.length);
    assert.equal(await state(lab), before, 'nothing changed');
  });

  scenario('C', 'concurrent commands: 16 adds, shows and deletes at once all land; one of 5 racing for a name wins', () => lab, { watch: [A] }, async (s) => {
    const before = await state(lab);
    const names = Array.from({ length: 16 }, (_, i) => `cc${i}`);
    const add = (name: string, key: number) => lab.burrow(A, ['tunnel', 'add', name, 'mode', 'gre', 'remote', B_UNDERLAY, 'local', A_UNDERLAY, 'key', String(key)]);
    const adds = await Promise.all([...names.map((n, i) => add(n, 100 + i)), ...Array.from({ length: 4 }, () => lab.burrow(A, ['-s', 'tunnel', 'show']))]);
    for (const r of adds) assert.equal(r.code, 0, r.stderr);
    const shown = (await burrowOut(lab, A, ['tunnel', 'show'])).split('\n').filter((l) => l.startsWith('cc')).map((l) => l.split(':')[0]);
    assert.deepEqual(shown.sort(), [...names].sort());
    const stateFile = JSON.parse(fs.readFileSync(daemonFiles(lab, A).state, 'utf8')) as { tunnels: { name: string }[] };
    assert.deepEqual(stateFile.tunnels.map((t) => t.name).filter((n) => n.startsWith('cc')).sort(), [...names].sort(), 'the state file has them all');
    const race = await Promise.all(Array.from({ length: 5 }, (_, i) => add('dup0', 200 + i)));
    assert.equal(race.filter((r) => r.code === 0).length, 1, 'exactly one wins');
    for (const r of race.filter((x) => x.code !== 0)) assert.match(r.stderr, /failed: File exists/);
    s.badInputs(4);
    const dels = await Promise.all([...names, 'dup0'].map((n) => lab.burrow(A, ['tunnel', 'del', n])));
    for (const r of dels) assert.equal(r.code, 0, r.stderr);
    assert.equal(await state(lab), before, 'back where it started');
  });

  scenario('C', 'no user but root: the command line and the socket refuse user nobody', () => lab, { watch: [A] }, async (s) => {
    const before = await state(lab);
    const asNobody = (args: string[]) => lab.exec(A, [process.execPath, path.join(here, '..', 'integration', 'as-nobody.js'), ...args]);
    const add = await asNobody(['tunnel', 'add', 'x0', 'mode', 'ipip', 'remote', B_UNDERLAY]);
    assert.deepEqual([add.code, add.stderr], [1, 'add tunnel "tunl0" failed: Operation not permitted\n']);
    const del = await asNobody(['tunnel', 'del', 'vpn0']);
    assert.equal(del.code, 1);
    assert.match(del.stderr, /Operation not permitted/);
    const show = await asNobody(['tunnel', 'show']);
    assert.notEqual(show.code, 0);
    assert.equal(show.stdout, '');
    // The socket itself: its directory is root's alone.
    const direct = await lab.exec(A, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e',
      `require('net').connect(${JSON.stringify(daemonFiles(lab, A).socket)}).on('error', (e) => { console.log(e.code); process.exit(0); }).on('connect', () => { console.log('connected'); process.exit(0); })`]);
    assert.equal(direct.stdout.trim(), 'EACCES', direct.stderr);
    s.badInputs(4);
    assert.equal(await state(lab), before, 'nothing changed');
  });
});
