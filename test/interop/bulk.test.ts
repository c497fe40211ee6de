/**
 * Bulk TCP through burrow and the kernel as the two ends of an ipip, gre and sit tunnel (issue 5):
 * iperf3 moves 3 MB each way. From burrow to the kernel, burrow's device hands out TCP superframes
 * (TUN TSO, unless BURROW_OFFLOAD turns it off) that burrow must cut into segments the kernel's stack
 * accepts: one bad length or checksum and the kernel drops the segment (TcpInCsumErrors, InErrs) and
 * the transfer stalls. From the kernel to burrow, burrow coalesces the kernel's segments into
 * superframes for its device (GRO). Run with `scripts/test interop --offload off` for the plain path.
 *
 *   netns A (burrow)  --- router R --- guest (Linux 6.1, ip tunnel)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labUnavailableReason } from '../../src/lab/netns.js';
import { parseOffloads } from '../../src/daemon/offload.js';
import { KernelPeer } from './kernel-peer.js';
import {
  A, BURROW_STATS, KERNEL_STATS, burrowCountersFrom, checkScripts, delta, kernelCountersFrom, peerLabFixture, withPair,
  type PairOptions,
} from './peer-lab.js';

const skip = KernelPeer.unavailable() ?? labUnavailableReason() ?? false;
const BYTES = 3 * 1024 * 1024;

/** The guest's TCP error counters (nstat -a, absolute). */
const TCP_ERRORS = "nstat -az TcpInCsumErrors TcpInErrs | awk '/^Tcp/ { s += $2 } END { print s + 0 }'";

describe('bulk TCP between burrow and the kernel (segmentation and coalescing)', { skip, concurrency: false }, () => {
  const f = peerLabFixture();
  const offloads = parseOffloads(process.env.BURROW_OFFLOAD);

  const CASES: PairOptions[] = [
    { mode: 'ipip', net: 51 },
    { mode: 'gre', net: 52 },
    { mode: 'sit', net: 53 },
  ];

  for (const pair of CASES) {
    test(`${pair.mode}: 3 MB each way arrive whole, with no TCP errors on the kernel`, async (t) => {
      await withPair(f, pair, async (p) => {
        const errors0 = Number(await f.peer.check(TCP_ERRORS));
        const [statsBefore, tunBefore] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab), KERNEL_STATS(p.name)]);
        for (const reverse of [false, true]) {
          await f.peer.check('iperf3 -s -1 -D');
          const [out] = await checkScripts(f.lab, A, [
            `sleep 0.5; iperf3 -c ${p.bAddress} -n ${BYTES} ${reverse ? '-R' : ''} -J --connect-timeout 5000`,
          ]);
          const json = JSON.parse(out.slice(out.indexOf('{')));
          assert.equal(json.error, undefined, `iperf3: ${json.error}`);
          assert.ok(json.end.sum_received.bytes >= BYTES, `${reverse ? 'kernel to burrow' : 'burrow to kernel'}: ${json.end.sum_received.bytes} bytes`);
          t.diagnostic(`${reverse ? 'kernel -> burrow' : 'burrow -> kernel'}: ${(json.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s, ${json.end.sum_sent.retransmits ?? 0} retransmits`);
        }
        const [statsAfter, tunAfter] = await checkScripts(f.lab, A, [BURROW_STATS(f.lab), KERNEL_STATS(p.name)]);
        assert.equal(Number(await f.peer.check(TCP_ERRORS)) - errors0, 0, 'the kernel found no bad TCP segment');
        const ours = delta(burrowCountersFrom(statsBefore, p.name), burrowCountersFrom(statsAfter, p.name));
        const device = delta(kernelCountersFrom(tunBefore, p.name), kernelCountersFrom(tunAfter, p.name));
        assert.equal(ours.tx_dropped, 0);
        assert.equal(ours.tx_errors, 0);
        t.diagnostic(`device handed out ${device.tx_packets} packets, burrow sent ${ours.tx_packets}; burrow received ${ours.rx_packets}, wrote ${device.rx_packets}`);
        if (offloads.tso) assert.ok(device.tx_packets < ours.tx_packets, 'TSO: the device gave superframes that burrow cut');
        // Without them, one packet per read and per write (give or take the device's own IPv6 chatter).
        else assert.ok(Math.abs(device.tx_packets - ours.tx_packets) <= 4, 'no TSO: one packet per read');
        if (offloads.gro) assert.ok(device.rx_packets < ours.rx_packets, 'GRO: burrow wrote superframes');
        else assert.ok(Math.abs(device.rx_packets - ours.rx_packets) <= 4, 'no GRO: one packet per write');
      });
    });
  }
});
