/**
 * burrow's vti with ESP against the kernel's ip_vti and esp4 (issue 7, part 4), one boot for the file:
 * pings both ways through vti devices with both algorithms, the kernel's `ip -s xfrm state` counters
 * equal to burrow's, tampered and replayed ESP dropped and counted on both sides, a vti without states
 * and ESP for an unknown SPI counted alike, frag-needed with the same ESP MTU, and `burrow xfrm`'s
 * lines and the kernel's refusals as `ip xfrm` prints them.
 *
 *   netns bwq-v<n>-<pid> (burrow daemon)            guest (Linux 6.1)
 *   tap 192.0.2.1/24                     <------->  eth0 192.0.2.2/24
 *   vti1 10.9.0.1/24 key 42                          vti1 10.9.0.2/24 key 42
 *   ESP spi 0x100 (host to guest), spi 0x200 (guest to host), mark 42
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { BurrowNode, pingCount } from './burrow.js';
import { GUEST_ADDRESS as GUEST, HOST_ADDRESS as HOST, kernelPeerFixture } from './fixture.js';
import { KernelPeer } from './kernel-peer.js';
import { captureOnHost, ethernetIpv4, ipv4, sendRaw } from './packets.js';

const GCM = `aead 'rfc4106(gcm(aes))' 0x4a6f686e20446f65207761732068657265010203 128`;
const CBC = `enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha256)' 0x${'5a'.repeat(32)} 128`;

/** The same SAs on both ends, in the same order; policies mirrored. `ip xfrm` words, for both. */
function stateCommands(algorithm: string): string[] {
  return [
    `state add src ${HOST} dst ${GUEST} proto esp spi 0x100 reqid 7 mode tunnel replay-window 32 mark 42 ${algorithm}`,
    `state add src ${GUEST} dst ${HOST} proto esp spi 0x200 reqid 7 mode tunnel replay-window 32 mark 42 ${algorithm}`,
  ];
}

function policyCommands(local: string, remote: string): string[] {
  return [
    `policy add dir out tmpl src ${local} dst ${remote} proto esp reqid 7 mode tunnel mark 42`,
    `policy add dir in tmpl src ${remote} dst ${local} proto esp mode tunnel mark 42`,
  ];
}

/** Policies that carry no traffic (dir fwd), the same on both ends, to compare how they print. */
const SHOWN_POLICIES = [
  'policy add src 10.99.0.0/16 dst 10.98.0.5/32 proto tcp dport 22 dir fwd priority 5 tmpl src 192.0.2.9 dst 192.0.2.8 proto esp spi 0x42 reqid 3 mode tunnel level use',
  'policy add src 10.97.0.0/24 dst 0.0.0.0/0 proto icmp type 8 dir fwd action block mark 7 mask 0xff',
  'policy add dir fwd src 10.96.0.0/8 proto gre key 5 mark 0',
];

/** Splits on spaces, keeping '...' words whole (the command lines above, for burrow's argv). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** `ip -s xfrm state` (or burrow's) per SPI: lifetime bytes/packets, replay context and error counters. */
function saCounters(text: string): Map<number, Record<string, number>> {
  const out = new Map<number, Record<string, number>>();
  for (const block of text.split(/^src /m).slice(1)) {
    const spi = /spi 0x([0-9a-f]+)/.exec(block);
    const current = /lifetime current:\s+(\d+)\(bytes\), (\d+)\(packets\)/.exec(block);
    const replay = /anti-replay context: seq 0x([0-9a-f]+), oseq 0x([0-9a-f]+)/.exec(block);
    const stats = /stats:\s+replay-window (\d+) replay (\d+) failed (\d+)/.exec(block);
    if (!spi || !current || !replay || !stats) continue;
    out.set(parseInt(spi[1]!, 16), {
      bytes: Number(current[1]),
      packets: Number(current[2]),
      seq: parseInt(replay[1]!, 16),
      oseq: parseInt(replay[2]!, 16),
      replayWindow: Number(stats[1]),
      replay: Number(stats[2]),
      failed: Number(stats[3]),
    });
  }
  return out;
}

/** Timestamps and policy indexes differ between two hosts by nature. */
function maskVolatile(text: string): string {
  return text.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, 'TIME').replace(/index \d+/g, 'index N');
}

describe('vti + ESP against the kernel (ip_vti, esp4)', { skip: KernelPeer.unavailable() ?? false }, () => {
  const f = kernelPeerFixture('v');
  let b: BurrowNode;

  /** `ip xfrm ...` in the guest, as one shell line per command. */
  const guestXfrm = (commands: string[]) => f.peer.check(commands.map((c) => `ip xfrm ${c}`).join(' && '));
  const burrowXfrm = (commands: string[]) => {
    for (const c of commands) b.ok('xfrm', ...words(c));
  };
  const kernelDev = async (): Promise<Record<string, number>> => {
    const names = ['rx_packets', 'rx_errors', 'rx_dropped', 'tx_packets', 'tx_errors', 'tx_carrier_errors'];
    const values = (await f.peer.check(`cd /sys/class/net/vti1/statistics && cat ${names.join(' ')}`)).trim().split('\n').map(Number);
    return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
  };
  const flushBoth = async () => {
    b.ok('xfrm', 'state', 'flush');
    b.ok('xfrm', 'policy', 'flush');
    await f.peer.check('ip xfrm state flush && ip xfrm policy flush');
  };

  before(async () => {
    b = f.burrow();
    b.ok('tunnel', 'add', 'vti1', 'mode', 'vti', 'local', HOST, 'remote', GUEST, 'key', '42');
    b.sh('sysctl -qw net.ipv6.conf.vti1.disable_ipv6=1 && ip link set vti1 up && ip addr add 10.9.0.1/24 dev vti1');
    await f.peer.check(
      `ip tunnel add vti1 mode vti local ${GUEST} remote ${HOST} key 42 && sysctl -qw net.ipv6.conf.vti1.disable_ipv6=1 && ` +
        'ip link set vti1 up && ip addr add 10.9.0.2/24 dev vti1',
    );
  });

  test('without states: both vtis refuse to send (tx_carrier_errors, host unreachable), ESP for no SPI is rx_errors', async () => {
    const ours = b.exec('ping', '-c', '2', '-i', '0.2', '-W', '1', '10.9.0.2');
    assert.equal(pingCount(ours.stdout), 0);
    assert.match(ours.stdout, /Destination Host Unreachable/);
    const theirs = await f.peer.run('ping -c 2 -i 0.2 -W 1 10.9.0.1', { timeoutMs: 20_000 });
    assert.match(theirs.stdout, /Destination Host Unreachable/);
    // ESP with an SPI nobody has, each way.
    sendRaw(f.ns.name, 50, GUEST, Buffer.from('0000099900000001' + '00'.repeat(48), 'hex'));
    const esp = ipv4({ src: GUEST, dst: HOST, protocol: 50, ttl: 64 }, Buffer.from('0000099900000001' + '00'.repeat(48), 'hex'));
    sendRaw(f.ns.name, 255, HOST, esp);
    await f.peer.check('sleep 0.3');
    const k = await kernelDev();
    const c = b.counters('vti1');
    assert.deepEqual([c.tx.carrier_errors, c.tx.errors], [k.tx_carrier_errors, k.tx_errors]);
    assert.deepEqual([c.tx.carrier_errors, c.rx.errors, c.rx.dropped], [2, 1, 1]);
    assert.deepEqual([k.tx_carrier_errors, k.rx_errors, k.rx_dropped], [2, 1, 1]);
    assert.equal(c.drops['xfrm-in-no-state'], 1);
  });

  for (const [name, algorithm, mtu] of [
    ['rfc4106(gcm(aes))', GCM, 1446],
    ['cbc(aes) + hmac(sha256)', CBC, 1438],
  ] as const) {
    test(`${name}: pings both ways, equal SA counters, tampered and replayed ESP, frag-needed at ${mtu}`, async (t) => {
      t.after(flushBoth);
      burrowXfrm([...stateCommands(algorithm), ...policyCommands(HOST, GUEST)]);
      await guestXfrm([...stateCommands(algorithm), ...policyCommands(GUEST, HOST)]);
      const k0 = await kernelDev();
      const c0 = b.counters('vti1');

      // Host to guest and back, captured on the tap: requests and replies are ESP.
      const cap = await captureOnHost(f.ns.name, f.peer.tap, 'esp', 6);
      assert.equal(pingCount(b.exec('ping', '-c', '3', '-i', '0.2', '-W', '2', '10.9.0.2').stdout), 3, 'burrow to kernel');
      const frames = (await cap.packets()).map((fr) => ethernetIpv4(fr)!);
      assert.equal(frames.length, 6);
      const ours = frames.filter((p) => p.readUInt32BE(20) === 0x100);
      const theirs = frames.filter((p) => p.readUInt32BE(20) === 0x200);
      assert.deepEqual([ours.length, theirs.length], [3, 3]);
      const guestPing = await f.peer.run('ping -c 3 -i 0.2 -W 2 10.9.0.1', { timeoutMs: 20_000 });
      assert.equal(pingCount(guestPing.stdout), 3, `kernel to burrow: ${guestPing.stdout}${guestPing.stderr}`);

      // The SAs' counters: what one side sent through an SPI is what the other took in.
      const kernel = saCounters(await f.peer.check('ip -s xfrm state'));
      const burrow = saCounters(b.ok('-s', 'xfrm', 'state'));
      for (const spi of [0x100, 0x200]) {
        const k = kernel.get(spi)!;
        const o = burrow.get(spi)!;
        assert.deepEqual([o.packets, o.bytes], [k.packets, k.bytes], `spi ${spi.toString(16)}: packets and bytes`);
        assert.equal(Math.max(o.seq, o.oseq), Math.max(k.seq, k.oseq), `spi ${spi.toString(16)}: sequence numbers`);
      }
      assert.deepEqual([burrow.get(0x100)!.oseq, kernel.get(0x100)!.seq], [6, 6]);
      t.diagnostic(`ESP 0x100 and 0x200: ${JSON.stringify(Object.fromEntries(burrow))}`);

      // The devices: six pings each way, nothing lost.
      const k1 = await kernelDev();
      const c1 = b.counters('vti1');
      assert.deepEqual([c1.tx.packets - c0.tx.packets, c1.rx.packets - c0.rx.packets], [6, 6]);
      assert.deepEqual([k1.tx_packets - k0.tx_packets, k1.rx_packets - k0.rx_packets], [6, 6]);

      // Replayed and tampered ESP, to the kernel and to burrow.
      sendRaw(f.ns.name, 255, GUEST, ours[1]!);
      // Tampered: a new sequence number (so the replay check passes) that the ICV does not cover.
      const bad = Buffer.from(ours[2]!);
      bad[24] ^= 0x40;
      sendRaw(f.ns.name, 255, GUEST, bad);
      sendRaw(f.ns.name, 255, HOST, theirs[1]!);
      const bad2 = Buffer.from(theirs[2]!);
      bad2[24] ^= 0x40;
      sendRaw(f.ns.name, 255, HOST, bad2);
      await f.peer.check('sleep 0.3');
      const kAfter = saCounters(await f.peer.check('ip -s xfrm state')).get(0x100)!;
      const bAfter = saCounters(b.ok('-s', 'xfrm', 'state')).get(0x200)!;
      assert.deepEqual([kAfter.replay, kAfter.failed], [1, 1], 'the kernel counts our replayed and tampered packets');
      assert.deepEqual([bAfter.replay, bAfter.failed], [1, 1], 'burrow counts the kernel\'s');
      const k2 = await kernelDev();
      const c2 = b.counters('vti1');
      assert.deepEqual([k2.rx_errors - k1.rx_errors, k2.rx_dropped - k1.rx_dropped], [2, 2]);
      assert.deepEqual([c2.rx.errors - c1.rx.errors, c2.rx.dropped - c1.rx.dropped], [2, 2]);
      const drop = (c: typeof c1, reason: string) => c.drops[reason] ?? 0;
      assert.deepEqual([drop(c2, 'esp-replay') - drop(c1, 'esp-replay'), drop(c2, 'esp-integrity') - drop(c1, 'esp-integrity')], [1, 1]);

      // frag-needed: the same ESP MTU on both sides.
      const payload = String(mtu - 28);
      const over = String(mtu - 27);
      assert.equal(pingCount(b.exec('ping', '-c', '1', '-M', 'do', '-s', payload, '-W', '2', '10.9.0.2').stdout), 1);
      const ourBig = b.exec('ping', '-c', '1', '-M', 'do', '-s', over, '-W', '1', '10.9.0.2');
      const theirBig = await f.peer.run(`ping -c 1 -M do -s ${over} -W 1 10.9.0.1`, { timeoutMs: 20_000 });
      assert.match(ourBig.stdout + ourBig.stderr, new RegExp(`mtu ?= ?${mtu}`));
      assert.match(theirBig.stdout + theirBig.stderr, new RegExp(`mtu ?= ?${mtu}`));
      await f.peer.run('ip route flush cache');
      b.exec('ip', 'route', 'flush', 'cache');
    });
  }

  test('list lines, -s and -o as ip xfrm prints them for the same configuration', async (t) => {
    t.after(flushBoth);
    const states = stateCommands(GCM);
    burrowXfrm([...states, ...SHOWN_POLICIES]);
    await guestXfrm([...states, ...SHOWN_POLICIES]);
    for (const args of ['xfrm state', 'xfrm state list nokeys', '-o xfrm state', 'xfrm policy', '-o xfrm policy', 'xfrm state count', 'xfrm policy count']) {
      assert.equal(b.ok(...args.split(' ')), await f.peer.check(`ip ${args}`), args);
    }
    for (const args of ['-s xfrm state', '-s xfrm policy', '-s -s xfrm policy count', 'xfrm policy list dir fwd priority 5', 'xfrm state get dst 192.0.2.2 proto esp spi 0x100 mark 42']) {
      assert.equal(maskVolatile(b.ok(...args.split(' '))), maskVolatile(await f.peer.check(`ip ${args}`)), args);
    }
    t.diagnostic(b.ok('-s', 'xfrm', 'state', 'list', 'spi', '0x100'));
    // After traffic: the same lines with the counters moved (6.1 lists no `lastused`).
    burrowXfrm(policyCommands(HOST, GUEST));
    await guestXfrm(policyCommands(GUEST, HOST));
    assert.equal(pingCount(b.exec('ping', '-c', '1', '-W', '2', '10.9.0.2').stdout), 1);
    const theirs = await f.peer.check('ip xfrm state list spi 0x100');
    const ours = b.ok('xfrm', 'state', 'list', 'spi', '0x200');
    const shape = (s: string) => maskVolatile(s).replace(/0x[0-9a-f]+/g, 'X').replace(/192\.0\.2\.\d/g, 'A');
    assert.equal(shape(ours), shape(theirs));
  });

  test('the kernel\'s refusals, as iproute2 prints them', async (t) => {
    t.after(flushBoth);
    burrowXfrm(stateCommands(GCM));
    await guestXfrm(stateCommands(GCM));
    burrowXfrm([SHOWN_POLICIES[0]!]);
    await guestXfrm([SHOWN_POLICIES[0]!]);
    const cases = [
      stateCommands(GCM)[0]!,
      `state add src ${HOST} dst ${GUEST} proto esp spi 0x300 mode tunnel aead 'rfc4106(gcm(aes))' 0x4a6f686e20446f65207761732068657265010203 32`,
      `state add src ${HOST} dst ${GUEST} proto esp spi 0x300 mode tunnel aead 'rfc4106(gcm(aes))' 0x4a6f686e20446f6520776173206865726501 128`,
      `state add src ${HOST} dst ${GUEST} proto esp spi 0x300 mode tunnel enc 'cbc(aes)' 0x0001020304 auth-trunc 'hmac(sha256)' 0x01 128`,
      `state add src ${HOST} dst ${GUEST} proto esp spi 0x300 mode tunnel enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha256)' 0x01 264`,
      `state add src ${HOST} dst ${GUEST} proto esp spi 0x300 mode tunnel enc 'cbc(foo)' 0x00 auth-trunc 'hmac(sha256)' 0x01 128`,
      `state add src ${HOST} dst ${GUEST} proto esp spi 0x300 mode tunnel enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(foo)' 0x01 128`,
      `state get dst ${GUEST} proto esp spi 0x100`,
      `state delete dst ${GUEST} proto esp spi 0x999 mark 42`,
      SHOWN_POLICIES[0]!,
      'policy delete dir in src 10.1.0.0/16',
      'policy add dir in index 5',
      'state get',
    ];
    const theirs = await f.peer.runMany(cases.map((c) => `ip xfrm ${c}`));
    for (const [i, c] of cases.entries()) {
      const ours = b.run('xfrm', ...words(c));
      assert.deepEqual({ code: ours.code, stdout: ours.stdout, stderr: ours.stderr }, theirs[i], c);
    }
    t.diagnostic([...new Set(theirs.map((r) => r.stderr.trim()))].join('\n'));
  });
});
