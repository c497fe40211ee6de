/**
 * The kernel peer itself: it boots, runs commands, reaches this machine over its tap, and its
 * tunnel drivers answer `ip tunnel` as spec/ip-tunnel.md 2.1 says.
 *
 *   netns bwq-h0-<pid>                      qemu guest (Debian 6.1 kernel)
 *   tap bwqt<pid>.. 192.0.2.1/24  <------>  eth0 192.0.2.2/24 (virtio-net)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GUEST_ADDRESS as GUEST, HOST_ADDRESS as HOST, kernelPeerFixture } from './fixture.js';
import { findGuestKernel } from './guest-image.js';
import { KernelPeer } from './kernel-peer.js';
import { sh } from './netns.js';

describe('kernel peer harness', { skip: KernelPeer.unavailable() ?? false }, () => {
  const f = kernelPeerFixture('h');

  test('boots the stock Debian kernel under software emulation', (t) => {
    assert.equal(f.peer.kernelRelease, findGuestKernel().version);
    t.diagnostic(
      `kernel ${f.peer.kernelRelease} (${f.peer.bootedWith.pvh ? 'PVH entry' : 'bzImage'}): ` +
        `image ${ms(f.peer.times.image)}, boot to agent ${ms(f.peer.times.boot)}, network setup ${ms(f.peer.times.setup)}`,
    );
  });

  test("runs this machine's iproute2 (the same binary, over 9p)", async () => {
    assert.equal(await f.peer.check('ip -V'), sh('ip', ['-V']));
    assert.match(await f.peer.check('ip -V'), /iproute2-6\.1\.0/);
  });

  test('run() keeps stdout, stderr and the exit status apart', async (t) => {
    const r = await f.peer.run(`printf 'out\\n\\tline 2 \\303\\251\\n'; echo err >&2; exit 3`);
    assert.deepEqual(r, { stdout: 'out\n\tline 2 é\n', stderr: 'err\n', code: 3 });
    const start = performance.now();
    for (let i = 0; i < 5; i++) await f.peer.run('true');
    t.diagnostic(`round trip of an empty command: ${ms((performance.now() - start) / 5)}`);
  });

  test('run() kills a command that outlives its timeout', async () => {
    const start = performance.now();
    const r = await f.peer.run('sleep 20', { timeoutMs: 500 });
    assert.equal(r.code, 143); // busybox timeout: SIGTERM
    assert.ok(performance.now() - start < 5_000);
    assert.equal(await f.peer.check('echo still here'), 'still here\n');
  });

  test('runMany() runs scripts in order in one round trip, each with its own status', async () => {
    const rs = await f.peer.runMany(['echo one; exit 2', 'echo two >&2', 'x=3; echo $x']);
    assert.deepEqual(rs, [
      { stdout: 'one\n', stderr: '', code: 2 },
      { stdout: '', stderr: 'two\n', code: 0 },
      { stdout: '3\n', stderr: '', code: 0 },
    ]);
  });

  test('ping works both ways over the virtio link', async () => {
    const fromGuest = await f.peer.run(`ping -c 3 -i 0.2 -W 2 ${HOST}`);
    assert.equal(fromGuest.code, 0, fromGuest.stdout + fromGuest.stderr);
    assert.match(fromGuest.stdout, /3 packets transmitted, 3 received/);
    const fromHost = f.ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', GUEST]);
    assert.match(fromHost, /3 packets transmitted, 3 received/);
  });

  test('spawn() runs tcpdump in the background; stop() ends it with its capture', async (t) => {
    const start = performance.now();
    const cap = await f.peer.spawn('tcpdump -ni eth0 -l icmp');
    await cap.waitForOutput(/listening on eth0/);
    const ready = performance.now() - start;
    const sent = performance.now();
    const out = f.ns.exec('ping', ['-c', '100', '-i', '0.005', '-q', GUEST]);
    const pingMs = performance.now() - sent;
    assert.match(out, /100 packets transmitted, 100 received/);
    // The emulated guest may still be printing when ping returns: wait for all 200 lines first.
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline && ((await cap.peek()).stdout.match(/ICMP echo (request|reply)/g)?.length ?? 0) < 200) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await cap.stop();
    const requests = r.stdout.split('\n').filter((l) => l.includes('ICMP echo request')).length;
    const replies = r.stdout.split('\n').filter((l) => l.includes('ICMP echo reply')).length;
    assert.equal(requests, 100, r.stderr);
    assert.equal(replies, 100);
    assert.match(r.stderr, /200 packets captured/);
    assert.match(r.stderr, /^0 packets dropped by kernel$/m);
    t.diagnostic(`tcpdump listening after ${ms(ready)}; 100 pings at 5 ms intervals took ${ms(pingMs)}, all captured`);
  });

  test('the tunnel modules are loaded and their fallback devices exist', async () => {
    assert.equal(await f.peer.check('sysctl -n net.core.fb_tunnels_only_for_init_net'), '0\n');
    assert.equal(
      await f.peer.check('ip tunnel show'),
      'tunl0: any/ip remote any local any ttl inherit nopmtudisc\n' +
        'gre0: gre/ip remote any local any ttl inherit nopmtudisc\n' +
        'sit0: ipv6/ip remote any local any ttl 64 nopmtudisc 6rd-prefix 2002::/16\n' +
        'ip_vti0: ip/ip remote any local any ttl inherit nopmtudisc key 0\n',
    );
  });

  // Spec/ip-tunnel.md 2.1, seen on the real drivers. The full table is in gold.test.ts.
  const SHOW: [string, string][] = [
    ['ipip1 mode ipip remote 192.0.2.1 local 192.0.2.2',
      'ipip1: ip/ip remote 192.0.2.1 local 192.0.2.2 ttl inherit\n'],
    ['ipip2 mode ipip remote 198.51.100.1 local 192.0.2.2 ttl 64 tos inherit dev eth0',
      'ipip2: ip/ip remote 198.51.100.1 local 192.0.2.2 dev eth0 ttl 64 tos inherit\n'],
    ['gre1 mode gre remote 192.0.2.1 local 192.0.2.2',
      'gre1: gre/ip remote 192.0.2.1 local 192.0.2.2 ttl inherit\n'],
    ['gre2 mode gre remote 192.0.2.1 local 192.0.2.2 key 5',
      'gre2: gre/ip remote 192.0.2.1 local 192.0.2.2 ttl inherit key 5\n'],
    ['gre3 mode gre remote 192.0.2.1 local 192.0.2.2 ikey 1 okey 2',
      'gre3: gre/ip remote 192.0.2.1 local 192.0.2.2 ttl inherit ikey 1 okey 2\n'],
    ['gre4 mode gre remote 198.51.100.4 local 192.0.2.2 key 7 csum seq',
      'gre4: gre/ip remote 198.51.100.4 local 192.0.2.2 ttl inherit key 7\n' +
        '  Drop packets out of sequence.\n' +
        '  Checksum in received packet is required.\n' +
        '  Sequence packets on output.\n' +
        '  Checksum output packets.\n'],
    ['gre5 mode gre remote 198.51.100.5 local 192.0.2.2 nopmtudisc tos 10',
      'gre5: gre/ip remote 198.51.100.5 local 192.0.2.2 ttl inherit tos 0x10 nopmtudisc\n'],
    ['sit1 mode sit remote 192.0.2.1 local 192.0.2.2',
      'sit1: ipv6/ip remote 192.0.2.1 local 192.0.2.2 ttl inherit 6rd-prefix 2002::/16\n'],
    ['isatap1 mode isatap local 192.0.2.2',
      'isatap1: ipv6/ip remote any local 192.0.2.2 ttl inherit 6rd-prefix 2002::/16\n'],
    ['vti1 mode vti remote 192.0.2.1 local 192.0.2.2',
      'vti1: ip/ip remote 192.0.2.1 local 192.0.2.2 ttl inherit key 0\n'],
  ];

  test('ip tunnel add works for every mode and show prints the spec 2.1 line', async () => {
    const names = SHOW.map(([args]) => args.split(' ')[0]);
    const rs = await f.peer.runMany([
      ...SHOW.map(([args]) => `ip tunnel add ${args}`),
      ...names.map((n) => `ip tunnel show ${n}`),
      'ip -o tunnel show gre4',
      'ip -j tunnel show',
      ...names.map((n) => `ip tunnel del ${n}`),
    ]);
    const adds = rs.slice(0, names.length);
    const shows = rs.slice(names.length, 2 * names.length);
    adds.forEach((r, i) => assert.equal(r.code, 0, `ip tunnel add ${SHOW[i][0]}: ${r.stderr}`));
    shows.forEach((r, i) => assert.equal(r.stdout, SHOW[i][1]));
    const [oneline, json] = rs.slice(2 * names.length, 2 * names.length + 2);
    assert.equal(
      oneline.stdout,
      'gre4: gre/ip remote 198.51.100.4 local 192.0.2.2 ttl inherit key 7' +
        '\\  Drop packets out of sequence.\\  Checksum in received packet is required.' +
        '\\  Sequence packets on output.\\  Checksum output packets.\n',
    );
    const list = JSON.parse(json.stdout) as Record<string, unknown>[];
    assert.deepEqual(list.find((e) => e.ifname === 'gre4'), {
      ifname: 'gre4', mode: 'gre/ip', remote: '198.51.100.4', local: '192.0.2.2', key: 7,
      flags: ['rx_drop_ooseq', 'rx_csum', 'tx_seq', 'tx_csum'],
    });
    rs.slice(2 * names.length + 2).forEach((r) => assert.equal(r.code, 0, r.stderr));
    assert.equal((await f.peer.check('ip tunnel show')).split('\n').length, 5); // the four fallbacks again
  });
});

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`;
}
