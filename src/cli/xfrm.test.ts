/**
 * `burrow xfrm` end to end without root: the command line against the daemon's real xfrm service
 * (an in-memory database, a state file in a temporary directory). The expected lines are what the
 * kernel peer's `ip xfrm` printed for the same configurations (Linux 6.1, iproute2 6.1).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { TunnelClient } from '../control/client.js';
import type { XfrmRequest } from '../control/protocol.js';
import { XfrmService } from '../daemon/xfrm.js';
import { emptyState } from '../daemon/state.js';
import { BurrowError } from '../errors.js';
import { XfrmDatabase } from '../xfrm/database.js';
import { staticLinks } from './links.js';
import { runCli } from './main.js';
import { localTime } from './xfrm-print.js';

const NOW = 1_795_000_000;
const AT = localTime(NOW);
const HMAC = '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f';
const CBC = '000102030405060708090a0b0c0d0e0f';
const GCM = '4a6f686e20446f65207761732068657265010203';

/** A daemon that answers xfrm requests with the real service; `log` collects its log lines. */
function daemon(): { client: TunnelClient; log: string[]; dir: string; db: XfrmDatabase } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-xfrm-test-'));
  const db = new XfrmDatabase(() => NOW);
  const log: string[] = [];
  const service = new XfrmService(db, path.join(dir, 'state'), emptyState(), { info: (m) => log.push(m), error: (m) => log.push(m) });
  // As over the socket: JSON in, JSON out, errors as errno and message.
  const client: TunnelClient = {
    request: async (request) => {
      try {
        return JSON.parse(JSON.stringify(service.handle(JSON.parse(JSON.stringify(request)) as XfrmRequest) ?? null));
      } catch (error) {
        if (error instanceof BurrowError) throw new BurrowError(error.code, error.message);
        throw error;
      }
    },
  };
  return { client, log, dir, db };
}

async function burrow(d: ReturnType<typeof daemon>, line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = { code: 0, stdout: '', stderr: '' };
  const argv = [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  r.code = await runCli(argv, {
    connect: async () => d.client,
    links: staticLinks({ lo: 1, eth0: 2 }),
    stdout: (t) => (r.stdout += t),
    stderr: (t) => (r.stderr += t),
  });
  return r;
}

async function ok(d: ReturnType<typeof daemon>, line: string): Promise<string> {
  const r = await burrow(d, line);
  assert.equal(r.code, 0, `${line}: ${r.stderr}`);
  return r.stdout;
}

describe('burrow xfrm state', () => {
  it('lists a state as ip xfrm state does, with -s, -o and nokeys', async () => {
    const d = daemon();
    await ok(d, `xfrm state add src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x100 reqid 5 mode tunnel enc 'cbc(aes)' 0x${CBC} auth-trunc 'hmac(sha256)' 0x${HMAC} 128 mark 42 mask 0xffffffff`);
    const plain = [
      'src 192.0.2.2 dst 192.0.2.1',
      '\tproto esp spi 0x00000100 reqid 5 mode tunnel',
      '\treplay-window 0 ',
      '\tmark 0x2a/0xffffffff ',
      `\tauth-trunc hmac(sha256) 0x${HMAC} 128`,
      `\tenc cbc(aes) 0x${CBC}`,
      '\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000',
      '\tsel src 0.0.0.0/0 dst 0.0.0.0/0 ',
      '',
    ];
    assert.equal(await ok(d, 'xfrm state'), plain.join('\n'));
    assert.equal(await ok(d, '-o xfrm state'), plain.slice(0, -1).join('\\') + '\\\n');
    const stats = [
      'src 192.0.2.2 dst 192.0.2.1',
      '\tproto esp spi 0x00000100(256) reqid 5(0x00000005) mode tunnel',
      '\treplay-window 0 seq 0x00000000 flag  (0x00000000)',
      '\tmark 0x2a/0xffffffff ',
      `\tauth-trunc hmac(sha256) 0x${HMAC} (256 bits) 128`,
      `\tenc cbc(aes) 0x${CBC} (128 bits)`,
      '\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000',
      '\tsel src 0.0.0.0/0 dst 0.0.0.0/0 uid 0',
      '\tlifetime config:',
      '\t  limit: soft (INF)(bytes), hard (INF)(bytes)',
      '\t  limit: soft (INF)(packets), hard (INF)(packets)',
      '\t  expire add: soft 0(sec), hard 0(sec)',
      '\t  expire use: soft 0(sec), hard 0(sec)',
      '\tlifetime current:',
      '\t  0(bytes), 0(packets)',
      `\t  add ${AT} use -`,
      '\tstats:',
      '\t  replay-window 0 replay 0 failed 0',
      '',
    ];
    assert.equal(await ok(d, '-s xfrm state'), stats.join('\n'));
    const hidden = await ok(d, '-s -s xfrm state list nokeys');
    assert.match(hidden, /\tauth-trunc hmac\(sha256\) <<Keys hidden>> 128\n\tenc cbc\(aes\) <<Keys hidden>>\n/);
    assert.ok(!hidden.includes(HMAC) && !hidden.includes(CBC));
    assert.equal(await ok(d, 'xfrm state count'), '\t SAD count 1\n');
    assert.equal(await ok(d, '-s xfrm state count'), '\t SAD count 1 (buckets count 8 Max 1048576)\n');
  });

  it('GCM, a selector, the message sequence field, marks as the kernel keeps them', async () => {
    const d = daemon();
    await ok(d, `xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x200 mode tunnel replay-window 32 aead 'rfc4106(gcm(aes))' 0x${GCM} 64 mark 0x12a mask 0xff sel src 10.0.0.0/8 dst 10.1.0.0/16 proto icmp type 8`);
    await ok(d, `xfrm state add src 192.0.2.7 dst 192.0.2.8 proto esp spi 7 mode tunnel aead 'rfc4106(gcm(aes))' 0x${GCM} 128 seq 5 replay-seq 9 replay-oseq 0x20 mark 0`);
    assert.equal(
      await ok(d, 'xfrm state list spi 0x200'),
      [
        'src 192.0.2.1 dst 192.0.2.2',
        '\tproto esp spi 0x00000200 reqid 0 mode tunnel',
        '\treplay-window 32 ',
        '\tmark 0x2a/0xff ',
        `\taead rfc4106(gcm(aes)) 0x${GCM} 64`,
        '\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000',
        '\tsel src 10.0.0.0/8 dst 10.1.0.0/16 proto icmp type 8 ',
        '',
      ].join('\n'),
    );
    const seven = await ok(d, '-s xfrm state list spi 7');
    assert.match(seven, /\treplay-window 0 seq 0x83886080 flag {2}\(0x00000000\)\n\tmark 0\/0xffffffff \n/);
    assert.match(seven, /\tanti-replay context: seq 0x9, oseq 0x20, bitmap 0x00000000\n/);
    assert.equal(await ok(d, 'xfrm state list spi 7 src 192.0.2.0/24 mode tunnel'), await ok(d, 'xfrm state list spi 7'));
    assert.equal(await ok(d, 'xfrm state list reqid 3'), '');
    // get: the newest state that answers the mark (value & mask).
    assert.match(await ok(d, 'xfrm state get dst 192.0.2.2 proto esp spi 0x200 mark 0x22a'), /spi 0x00000200/);
  });

  it('refusals: the kernel\'s as iproute2 prints them, burrow\'s own for what it does not do', async () => {
    const d = daemon();
    const add = `xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x200 mode tunnel aead 'rfc4106(gcm(aes))' 0x${GCM} 128`;
    await ok(d, add);
    const cases: Array<[string, number, string]> = [
      [add, 2, 'RTNETLINK answers: File exists\n'],
      [add.replace('0x200', '0x201').replace(' 128', ' 32'), 2, 'Error: Requested AEAD algorithm not found.\n'],
      [add.replace('0x200', '0x201').replace('mode tunnel', 'mode transport'), 1, 'burrow: mode transport is not supported (vti uses tunnel mode)\n'],
      [add.replace('0x200', '0x201') + ' limit time-hard 60', 1, 'burrow: limit is not supported\n'],
      ['xfrm state get dst 192.0.2.2 proto esp spi 0x999', 2, 'RTNETLINK answers: No such process\n'],
      ['xfrm state get', 2, 'RTNETLINK answers: Invalid argument\n'],
      ['xfrm state update ' + add.slice('xfrm state add '.length), 1, 'burrow: ip xfrm state update is not supported: delete the state and add it again\n'],
      ['xfrm monitor', 1, 'burrow: ip xfrm monitor is not supported\n'],
    ];
    for (const [line, code, stderr] of cases) {
      const r = await burrow(d, line);
      assert.deepEqual([r.code, r.stderr], [code, stderr], line);
    }
    assert.match((await burrow(d, 'xfrm monitor help')).stderr, /^Usage: burrow xfrm monitor /);
  });

  it('deleteall and flush', async () => {
    const d = daemon();
    for (const spi of [1, 2, 3]) await ok(d, `xfrm state add src 192.0.2.1 dst 192.0.2.${spi} proto esp spi ${spi} mode tunnel aead 'rfc4106(gcm(aes))' 0x${GCM} 128 mark ${spi}`);
    await ok(d, 'xfrm state deleteall dst 192.0.2.2');
    assert.equal(await ok(d, 'xfrm state count'), '\t SAD count 2\n');
    await ok(d, 'xfrm state flush proto ah');
    assert.equal(await ok(d, 'xfrm state count'), '\t SAD count 2\n');
    await ok(d, 'xfrm state flush');
    assert.equal(await ok(d, 'xfrm state count'), '\t SAD count 0\n');
  });

  it('keys: never in -j, never in the daemon log; in the state file (root\'s alone)', async () => {
    const d = daemon();
    await ok(d, `xfrm state add src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x100 mode tunnel enc 'cbc(aes)' 0x${CBC} auth-trunc 'hmac(sha256)' 0x${HMAC} 128`);
    for (const line of ['-j xfrm state', '-j -p -s xfrm state', '-j xfrm state get dst 192.0.2.1 proto esp spi 0x100']) {
      const json = await ok(d, line);
      assert.ok(!json.includes(HMAC) && !json.includes(CBC), line);
      JSON.parse(json);
    }
    const [entry] = JSON.parse(await ok(d, '-j xfrm state')) as Array<Record<string, unknown>>;
    assert.deepEqual(entry!['auth-trunc'], { name: 'hmac(sha256)', 'key-bits': 256, 'trunc-bits': 128 });
    assert.ok(d.log.length > 0 && d.log.every((l) => !l.includes(HMAC) && !l.includes(CBC)), d.log.join('\n'));
    const file = path.join(d.dir, 'state');
    assert.ok(fs.readFileSync(file, 'utf8').includes(HMAC), 'the next daemon needs the keys');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    fs.rmSync(d.dir, { recursive: true, force: true });
  });
});

describe('burrow xfrm policy', () => {
  it('lists policies as ip xfrm policy does (the kernel peer\'s lines)', async () => {
    const d = daemon();
    await ok(d, 'xfrm policy add dir out tmpl src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel mark 42');
    await ok(d, 'xfrm policy add src 10.0.0.0/8 dst 10.2.0.0/16 proto icmp dir in tmpl src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x100 reqid 3 mode tunnel level use mark 42 priority 10');
    await ok(d, 'xfrm policy add src 10.0.0.0/8 dst 10.2.0.0/16 dir fwd action block');
    assert.equal(
      await ok(d, 'xfrm policy'),
      [
        'src 10.0.0.0/8 dst 10.2.0.0/16 ',
        '\tdir fwd action block priority 0 ptype main ',
        'src 10.0.0.0/8 dst 10.2.0.0/16 proto icmp ',
        '\tdir in priority 10 ptype main ',
        '\tmark 0x2a/0xffffffff ',
        '\ttmpl src 192.0.2.2 dst 192.0.2.1',
        '\t\tproto esp spi 0x00000100 reqid 3 mode tunnel',
        '\t\tlevel use ',
        'src 0.0.0.0/0 dst 0.0.0.0/0 ',
        '\tdir out priority 0 ptype main ',
        '\tmark 0x2a/0xffffffff ',
        '\ttmpl src 192.0.2.1 dst 192.0.2.2',
        '\t\tproto esp reqid 0 mode tunnel',
        '',
      ].join('\n'),
    );
    assert.equal(
      await ok(d, '-s xfrm policy list dir in'),
      [
        'src 10.0.0.0/8 dst 10.2.0.0/16 proto icmp uid 0',
        '\tdir in action allow index 8 priority 10 ptype main share any flag  (0x00000000)',
        '\tlifetime config:',
        '\t  limit: soft (INF)(bytes), hard (INF)(bytes)',
        '\t  limit: soft (INF)(packets), hard (INF)(packets)',
        '\t  expire add: soft 0(sec), hard 0(sec)',
        '\t  expire use: soft 0(sec), hard 0(sec)',
        '\tlifetime current:',
        '\t  0(bytes), 0(packets)',
        `\t  add ${AT} use -`,
        '\tmark 0x2a/0xffffffff ',
        '\ttmpl src 192.0.2.2 dst 192.0.2.1',
        '\t\tproto esp spi 0x00000100(256) reqid 3(0x00000003) mode tunnel',
        '\t\tlevel use share any ',
        '\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff',
        '',
      ].join('\n'),
    );
    assert.equal(await ok(d, 'xfrm policy count'), '\t SPD IN  1 OUT 1 FWD 1\n');
    assert.equal(await ok(d, '-s xfrm policy count'), '\t SPD IN  1 OUT 1 FWD 1 (Sock: IN 0 OUT 0 FWD 0)\n');
    // get and delete: by selector or index, the mark as given.
    assert.match(await ok(d, 'xfrm policy get dir out src 0.0.0.0/0 mark 42'), /dir out/);
    assert.deepEqual(await burrow(d, 'xfrm policy get dir out index 1'), { code: 2, stdout: '', stderr: 'RTNETLINK answers: No such file or directory\n' });
    await ok(d, 'xfrm policy delete dir out index 1 mark 42');
    await ok(d, 'xfrm policy deleteall dir fwd');
    assert.equal(await ok(d, 'xfrm policy count'), '\t SPD IN  1 OUT 0 FWD 0\n');
    assert.deepEqual(await burrow(d, 'xfrm policy add dir in index 5'), { code: 2, stdout: '', stderr: "Error: Policy index doesn't match direction.\n" });
    assert.deepEqual(await burrow(d, 'xfrm policy add dir in tmpl proto ah mode tunnel'), { code: 1, stdout: '', stderr: "burrow: tmpl proto ah is not supported (burrow's IPsec is ESP)\n" });
  });
});
