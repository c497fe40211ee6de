/**
 * Bulk TCP through burrow and the kernel as the two ends of an ipip, gre and sit tunnel (issue 5):
 * 3 MB of random bytes go each way, checked by SHA-256. From burrow to the kernel, burrow's device hands out TCP superframes
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

/**
 * One TCP transfer: `recv ADDR PORT` listens on ADDR and prints the length and SHA-256 of everything it
 * got; `send ADDR PORT N` sends N random bytes and prints the same of what it sent. The same on both
 * hosts (the guest runs this machine's python3 over 9p).
 */
const TRANSFER = `import hashlib, os, socket, sys, time
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ':' in addr else socket.AF_INET
if mode == 'recv':
    s = socket.socket(family)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1); s.settimeout(60)
    c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
    while True:
        d = c.recv(1 << 16)
        if not d: break
        h.update(d); n += len(d)
    c.close(); print(n, h.hexdigest())
else:
    data = os.urandom(int(sys.argv[4]))
    for attempt in range(150):  # the receiver may still be starting (python over 9p in the guest)
        try:
            c = socket.create_connection((addr, port), timeout=60); break
        except ConnectionRefusedError:
            time.sleep(0.2)
    c.sendall(data); c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
    print(len(data), hashlib.sha256(data).hexdigest())
`;
const PY = `python3 -c "$(echo ${Buffer.from(TRANSFER).toString('base64')} | base64 -d)"`;
/** Waits up to 60 s for a receiver's line in `file`, prints it and removes the file. */
const RESULT = (file: string) => `for i in $(seq 600); do [ -s ${file} ] && break; sleep 0.1; done; cat ${file}; rm -f ${file}`;

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
        const port = 47000 + (pair.net ?? 0);
        // burrow -> kernel: the guest receives.
        await f.peer.check(`${PY} recv ${p.bAddress} ${port} > /tmp/bulk-rx 2>&1 &`);
        const [sentOut] = await checkScripts(f.lab, A, [`sleep 0.5; ${PY} send ${p.bAddress} ${port} ${BYTES}`]);
        const gotOut = await f.peer.check(RESULT('/tmp/bulk-rx'), { timeoutMs: 70_000 });
        assert.equal(gotOut.trim(), sentOut.trim(), 'burrow -> kernel: the kernel got every byte burrow\'s side sent');
        // kernel -> burrow: this side receives.
        const file = `/tmp/burrow-bulk-${process.pid}-${port}`;
        await checkScripts(f.lab, A, [`${PY} recv ${p.aAddress} ${port} > ${file} 2>&1 &`]);
        const sent = await f.peer.check(`sleep 0.5; ${PY} send ${p.aAddress} ${port} ${BYTES}`, { timeoutMs: 70_000 });
        const [got] = await checkScripts(f.lab, A, [RESULT(file)]);
        assert.equal(got.trim(), sent.trim(), 'kernel -> burrow: every byte arrived');
        assert.equal(got.trim().split(' ')[0], String(BYTES));
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
