/**
 * vti with ESP between two burrow hosts on the classic topology (A and B, joined by router R):
 * `burrow xfrm` states and policies with mark 42, pings both ways as ESP, the counters of the states
 * and the devices, the outer packets on the router, the kernel's behaviour without a state, and a
 * daemon restart that adopts the IPsec database without reusing a sequence number.
 *
 *   A vti1 10.0.0.1 (192.168.0.1) --- R --- (192.168.100.1) 10.0.0.2 vti1 B
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { A, A_TUNNEL, A_UNDERLAY, B, B_TUNNEL, B_UNDERLAY, burrowOk, captureOnRouter, classicLab, counters, ping } from './tunnel-lab.js';
import { CBC, flush, GCM, ipsec, stateCounters, vtiPair } from './vti-lab.js';

const skip = labUnavailableReason() ?? undefined;

describe('vti with ESP, burrow to burrow', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await classicLab();
    await vtiPair(lab);
  });
  after(() => lab?.destroy());

  it('without IPsec states: the sender is told the host is unreachable, tx_carrier_errors', async () => {
    const r = await ping(lab, A, B_TUNNEL, ['-c', '3']);
    assert.equal(r.received, 0);
    assert.match(r.output, /Destination Host Unreachable/);
    const a = await counters(lab, A, 'vti1');
    assert.deepEqual([a.tx.carrier_errors, a.tx.errors, a.tx.packets], [3, 3, 0]);
  });

  for (const [name, algorithm] of [
    ['rfc4106(gcm(aes))', GCM],
    ['cbc(aes) + hmac(sha256)', CBC],
  ] as const) {
    it(`${name}: pings both ways as ESP; state and device counters agree`, async () => {
      await ipsec(lab, A, A_UNDERLAY, B_UNDERLAY, algorithm);
      await ipsec(lab, B, B_UNDERLAY, A_UNDERLAY, algorithm);
      try {
        const a0 = await counters(lab, A, 'vti1');
        const b0 = await counters(lab, B, 'vti1');
        let seen: string[] = [];
        seen = await captureOnRouter(lab, 'a', 'esp', 4, async () => {
          const r = await ping(lab, A, B_TUNNEL, ['-c', '2']);
          assert.equal(r.received, 2, r.output);
        });
        assert.equal(seen.length, 4, seen.join('\n'));
        // The outer DF is the inner one: set on the echo requests, clear on the kernel's replies.
        assert.ok(seen.every((l) => /proto ESP \(50\)/.test(l)), seen.join('\n'));
        assert.deepEqual(seen.map((l) => /flags \[DF\]/.test(l)), [true, false, true, false], seen.join('\n'));
        assert.deepEqual(seen.map((l) => /ttl (\d+)/.exec(l)![1]), ['64', '63', '64', '63'], 'TTL 64 from each host, one router hop');
        const back = await ping(lab, B, A_TUNNEL, ['-c', '3']);
        assert.equal(back.received, 3, back.output);
        const a = await counters(lab, A, 'vti1');
        const b = await counters(lab, B, 'vti1');
        assert.deepEqual([a.tx.packets - a0.tx.packets, a.rx.packets - a0.rx.packets], [5, 5]);
        assert.deepEqual([b.tx.packets - b0.tx.packets, b.rx.packets - b0.rx.packets], [5, 5]);
        // What A sent through 0x100 is what B took in through it, and so back.
        const aOut = await stateCounters(lab, A, '0x100');
        const bIn = await stateCounters(lab, B, '0x100');
        assert.deepEqual([aOut.packets, aOut.bytes], [bIn.packets, bIn.bytes]);
        assert.deepEqual([aOut.packets, aOut.bytes], [5, 5 * 84]);
        assert.equal(aOut.oseq, 5);
        assert.equal(bIn.seq, 5);
        const bOut = await stateCounters(lab, B, '0x200');
        const aIn = await stateCounters(lab, A, '0x200');
        assert.deepEqual([bOut.packets, bOut.bytes], [aIn.packets, aIn.bytes]);
      } finally {
        await flush(lab);
      }
    });
  }

  it('frag-needed with the ESP MTU (GCM-128 over 1500: 1446)', async () => {
    await ipsec(lab, A, A_UNDERLAY, B_UNDERLAY, GCM);
    await ipsec(lab, B, B_UNDERLAY, A_UNDERLAY, GCM);
    try {
      assert.equal((await ping(lab, A, B_TUNNEL, ['-c', '1', '-M', 'do', '-s', String(1446 - 28)])).received, 1);
      const big = await ping(lab, A, B_TUNNEL, ['-c', '1', '-M', 'do', '-s', String(1447 - 28)]);
      assert.equal(big.received, 0);
      assert.match(big.output, /mtu = 1446|mtu=1446/);
    } finally {
      await flush(lab);
    }
  });

  it('a restarted daemon adopts states and policies and never reuses a sequence number', async () => {
    await ipsec(lab, A, A_UNDERLAY, B_UNDERLAY, GCM);
    await ipsec(lab, B, B_UNDERLAY, A_UNDERLAY, GCM);
    try {
      assert.equal((await ping(lab, A, B_TUNNEL, ['-c', '2'])).received, 2);
      const before = await stateCounters(lab, A, '0x100');
      const listed = await burrowOk(lab, A, ['xfrm', 'policy', 'list']);
      // A clean stop keeps the exact counters; the next command starts a daemon that adopts them.
      await burrowOk(lab, A, ['daemon', 'stop']);
      assert.equal(await burrowOk(lab, A, ['xfrm', 'policy', 'list']), listed);
      assert.equal((await stateCounters(lab, A, '0x100')).oseq, before.oseq);
      // A killed one resumes past the block of sequence numbers it had reserved.
      const status = await burrowOk(lab, A, ['daemon', 'status']);
      // The daemon this test's command started, by its pid.
      process.kill(Number(/pid (\d+)/.exec(status)![1]), 'SIGKILL');
      // Traffic needs a daemon: the next command starts one, which adopts the state file.
      await burrowOk(lab, A, ['xfrm', 'state', 'count']);
      assert.equal((await ping(lab, A, B_TUNNEL, ['-c', '2'])).received, 2, 'B accepts what the new daemon sends');
      assert.ok((await stateCounters(lab, A, '0x100')).oseq > 65536, 'past the reservation');
    } finally {
      await flush(lab);
    }
  });
});
