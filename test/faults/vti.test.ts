/**
 * Fault group A and B for vti with IPsec ESP (reliability.md section 6): ESP from a peer that is
 * missing its state, tampered with, replayed, far too old, truncated, from addresses no vti has, or
 * refused by the inbound policy once decrypted; and on the transmit side no state, a blocking policy
 * and a state whose 32-bit sequence numbers run out, also across a SIGKILL of the daemon.
 *
 * The lab is the classic one with a vti pair (test/integration/vti-lab.ts): mark 42, GCM states 0x100
 * (A to B) and 0x200 (B to A) with policies of priority 100, so that a scenario's own policies of
 * priority 10 take precedence. Router R plays the peer for the bad ESP: it encrypts with a state B
 * holds (SPI 0x300, which A never uses), so that it chooses every sequence number itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Lab } from '../../src/lab/netns.js';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { SecurityAssociation } from '../../src/xfrm/sa.js';
import { classicLab, inject, ping } from '../integration/tunnel-lab.js';
import { GCM, ipsecBoth, vtiPair } from '../integration/vti-lab.js';
import { alive, burrowOut, daemonPid, dropDelta, fillTxLedger, readCounters, scenario, settledCounters, sleep, tunnelDelta, txPoint, until, type ScenarioContext } from './harness.js';
import { A, A_ADDR, A_UNDERLAY, B, B_UNDERLAY, echo, outer, R_ADDR, settled } from './lab.js';

const skip = labUnavailableReason() ?? undefined;
const VTI = 'vti1';
const INJECTED_SPI = 0x300;

/** The peer's side of B's state 0x300: the same GCM key, sequence numbers as the test picks them. */
const peer = new SecurityAssociation({
  spi: INJECTED_SPI,
  transform: { kind: 'aead', name: 'rfc4106(gcm(aes))', key: Buffer.from(GCM[2]!.slice(2), 'hex'), icvBits: 128 },
  replayWindow: 0,
});

/** ESP from A (or `src`) to B carrying `inner` with sequence number `seq`. */
function esp(seq: number, inner: Uint8Array, src = A_ADDR): Uint8Array {
  peer.outboundSequence = seq - 1;
  return outer(50, peer.encrypt(inner, 4)!, { src });
}

/** ESP with any SPI and bytes after it (not a valid packet of any state). */
function rawEsp(spi: number, rest: number[]): Uint8Array {
  return outer(50, Uint8Array.of(spi >>> 24, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff, ...rest));
}

/** Transmit from A into vti1 while `traffic` runs: sent = what the kernel routed into the device. */
async function txLedger(s: ScenarioContext, lab: Lab, what: string, traffic: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await txPoint(lab, A, VTI);
  await traffic();
  await settledCounters(lab, A);
  const after = await txPoint(lab, A, VTI);
  const ledger = fillTxLedger(s.ledger(what), VTI, before, after);
  ledger.reconcile();
  return { delivered: ledger.delivered, ...tunnelDelta(before.counters, after.counters, VTI).drops };
}

describe('faults: vti with IPsec ESP', { skip, concurrency: false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await classicLab();
    await vtiPair(lab);
    await ipsecBoth(lab, GCM, ['priority', '100']);
    await burrowOut(lab, B, [
      'xfrm', 'state', 'add', 'src', A_UNDERLAY, 'dst', B_UNDERLAY, 'proto', 'esp', 'spi', `0x${INJECTED_SPI.toString(16)}`,
      'mode', 'tunnel', 'replay-window', '32', 'mark', '42', ...GCM,
    ]);
    // Warm up: each daemon opens its sending socket on its first packet; the underlay's own IPv6
    // addresses finish their duplicate address detection.
    await ping(lab, A, '10.0.0.2', ['-c', '1']);
    await settled(lab);
  });
  after(() => lab?.destroy());

  scenario('A', 'vti: ESP with no state, tampered, replayed, too old, truncated, from no vti\'s peer, refused by policy, while a ping flows', () => lab, { watch: [A, B] }, async (s) => {
    const N = 10;
    const expected: Record<string, number> = {};
    const packets: Uint8Array[] = [];
    const add = (reason: string, list: Uint8Array[]): void => {
      expected[reason] = (expected[reason] ?? 0) + list.length;
      packets.push(...list);
    };
    const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
    // In order: the replay window on B's state 0x300 moves as the good ones arrive.
    const good = range(1, 2 * N).map((seq) => esp(seq, echo(seq)));
    add('delivered', good);
    add('esp-replay', good.slice(N)); // seen already, inside the window of 32
    add('delivered', [esp(100, echo(100))]);
    add('esp-replay-window', range(2 * N + 1, N).map((seq) => esp(seq, echo(seq)))); // never seen, but 100 - 32 is past them
    add(
      'esp-integrity',
      range(101, N).map((seq) => {
        const p = esp(seq, echo(seq));
        p[20 + 16 + (seq % 40)] ^= 0x20; // one bit of the ciphertext
        return p;
      }),
    );
    add('esp-malformed', range(0, N).map((i) => rawEsp(INJECTED_SPI, Array.from({ length: i * 2 }, () => 0x5a)))); // shorter than header, IV and ICV
    add('xfrm-in-no-state', range(1, N).map((seq) => rawEsp(0x999, [0, 0, 0, seq, ...new Array(60).fill(1)])));
    add('esp-no-tunnel', range(200, N).map((seq) => esp(seq, echo(seq), R_ADDR))); // B's vti has A as its peer, not R
    // Decrypted fine, but from an inner source (10.0.0.66) the inbound policy of priority 10 blocks.
    add('xfrm-in-policy', range(300, N).map((seq) => esp(seq, echo(seq, 0x0a000042))));
    const blockIn = ['src', '10.0.0.66/32', 'dst', '0.0.0.0/0', 'dir', 'in', 'mark', '42'];
    await burrowOut(lab, B, ['xfrm', 'policy', 'add', ...blockIn, 'action', 'block', 'priority', '10']);
    try {
      const a0 = await readCounters(lab, A);
      const b0 = await readCounters(lab, B);
      const pinging = ping(lab, A, '10.0.0.2', ['-c', '20', '-i', '0.02']);
      let sent = 0;
      for (let i = 0; i < packets.length; i += 10) {
        sent += inject(lab, 'r', packets.slice(i, i + 10));
        await sleep(2);
      }
      const pinged = await pinging;
      s.badInputs(sent - good.length - 1);
      const a1 = await settledCounters(lab, A);
      const b1 = await settledCounters(lab, B);
      const fromA = tunnelDelta(a0, a1, VTI).tx.packets;
      const ledger = s.ledger('ESP into B');
      ledger.sent = sent + fromA;
      ledger.delivered = tunnelDelta(b0, b1, VTI).rx.packets;
      ledger.explainAll(dropDelta(b0, b1));
      ledger.reconcile();
      assert.equal(pinged.received, pinged.transmitted, pinged.output);
      assert.deepEqual({ ...dropDelta(b0, b1), delivered: ledger.delivered - fromA }, expected, 'each kind of bad ESP under its own reason');
      const state = await burrowOut(lab, B, ['-s', 'xfrm', 'state', 'list', 'spi', `0x${INJECTED_SPI.toString(16)}`]);
      // `ip -s xfrm state`'s stats line: replay-window, replay, failed (integrity).
      assert.match(state, new RegExp(`replay-window ${N} replay ${N} failed ${N}\\b`), state);
    } finally {
      await burrowOut(lab, B, ['xfrm', 'policy', 'delete', ...blockIn]);
    }
  });

  scenario('B', 'vti: sending with no state for the template, and into a block policy: counted, the sender told, good traffic unharmed', () => lab, { watch: [A, B] }, async (s) => {
    const policy = (dst: string, rest: string[]) => ['xfrm', 'policy', 'add', 'src', '0.0.0.0/0', 'dst', dst, 'dir', 'out', 'mark', '42', 'priority', '10', ...rest];
    await burrowOut(lab, A, policy('10.0.0.77/32', ['action', 'block']));
    // A template no state fits (SPI 0x777): the kernel's bundle lookup finds nothing to send with.
    await burrowOut(lab, A, policy('10.0.0.78/32', ['tmpl', 'src', A_UNDERLAY, 'dst', B_UNDERLAY, 'proto', 'esp', 'spi', '0x777', 'mode', 'tunnel']));
    try {
      let blocked = { received: 0, output: '' };
      let noState = { received: 0, output: '' };
      const got = await txLedger(s, lab, 'vti1 transmit on A', async () => {
        blocked = await ping(lab, A, '10.0.0.77', ['-c', '5', '-i', '0.05']);
        noState = await ping(lab, A, '10.0.0.78', ['-c', '5', '-i', '0.05']);
        const good = await ping(lab, A, '10.0.0.2', ['-c', '5', '-i', '0.05']);
        assert.equal(good.received, 5, good.output);
      });
      assert.deepEqual(got, { delivered: 5, 'xfrm-out-policy-block': 5, 'xfrm-out-no-state': 5 });
      assert.equal(blocked.received + noState.received, 0);
      assert.match(blocked.output, /Destination Host Unreachable/, blocked.output);
      assert.match(noState.output, /Destination Host Unreachable/, noState.output);
    } finally {
      for (const dst of ['10.0.0.77/32', '10.0.0.78/32']) {
        await burrowOut(lab, A, ['xfrm', 'policy', 'delete', 'src', '0.0.0.0/0', 'dst', dst, 'dir', 'out', 'mark', '42']);
      }
    }
  });

  scenario('B', 'vti: a state\'s 32-bit sequence numbers run out: the rest is xfrm-out-seq-overflow, also after a SIGKILL, never a number again', () => lab, { watch: [B], restarts: true }, async (s) => {
    // SPI 0x400 from 2^32 - 3: two packets go (0xfffffffe and 0xffffffff), then none.
    const state = ['src', A_UNDERLAY, 'dst', B_UNDERLAY, 'proto', 'esp', 'spi', '0x400'];
    await burrowOut(lab, A, ['xfrm', 'state', 'add', ...state, 'mode', 'tunnel', 'replay-oseq', '0xfffffffd', 'mark', '42', ...GCM]);
    await burrowOut(lab, B, ['xfrm', 'state', 'add', ...state, 'mode', 'tunnel', 'replay-window', '32', 'mark', '42', ...GCM]);
    const out = ['src', '0.0.0.0/0', 'dst', '10.0.0.2/32', 'dir', 'out', 'mark', '42'];
    await burrowOut(lab, A, ['xfrm', 'policy', 'add', ...out, 'priority', '10', 'tmpl', 'src', A_UNDERLAY, 'dst', B_UNDERLAY, 'proto', 'esp', 'spi', '0x400', 'mode', 'tunnel']);
    try {
      const b0 = await readCounters(lab, B);
      const first = await txLedger(s, lab, 'vti1 transmit through 0x400', () => ping(lab, A, '10.0.0.2', ['-c', '5', '-i', '0.05']));
      assert.deepEqual(first, { delivered: 2, 'xfrm-out-seq-overflow': 3 });
      // A daemon killed now must not find fresh sequence numbers in its state file.
      const pid = await daemonPid(lab, A);
      process.kill(pid, 'SIGKILL');
      assert.ok((await until(() => !alive(pid), 5000)) >= 0, 'the daemon is gone');
      await burrowOut(lab, A, ['daemon', 'start']);
      const again = await txLedger(s, lab, 'vti1 transmit through 0x400 after SIGKILL', () => ping(lab, A, '10.0.0.2', ['-c', '5', '-i', '0.05']));
      assert.deepEqual(again, { delivered: 0, 'xfrm-out-seq-overflow': 5 });
      const b1 = await settledCounters(lab, B);
      const intoB = s.ledger('ESP into B through 0x400');
      intoB.sent = first.delivered + again.delivered;
      intoB.delivered = tunnelDelta(b0, b1, VTI).rx.packets;
      intoB.explainAll(dropDelta(b0, b1));
      intoB.reconcile();
      assert.equal(intoB.delivered, 2, 'B took the two, nothing after');
    } finally {
      await burrowOut(lab, A, ['xfrm', 'policy', 'delete', ...out]);
      await burrowOut(lab, A, ['xfrm', 'state', 'delete', ...state, 'mark', '42']);
      await burrowOut(lab, B, ['xfrm', 'state', 'delete', ...state, 'mark', '42']);
    }
  });
});
