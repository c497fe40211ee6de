/**
 * burrow's ESP transforms (src/xfrm/sa.ts) against the kernel's esp4 in the qemu guest, both ways,
 * with both algorithms: packets burrow encrypts are decrypted and answered by the kernel (tunnel-mode
 * states and policies between the two hosts); the kernel's answers are decrypted by burrow; the
 * kernel's `ip -s xfrm state` counters equal burrow's; a tampered and a replayed packet are dropped
 * and counted on both sides.
 *
 *   netns (this machine; burrow's SA in the test)     guest (Linux 6.1, ip xfrm)
 *   tap 192.0.2.1  --- ESP spi 0x200 (inner 10.7.0.1 > 10.7.0.2 echo) -->  eth0 192.0.2.2, 10.7.0.2 on lo
 *                  <-- ESP spi 0x100 (echo reply) ------------------------
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecurityAssociation, type EspTransform } from '../../src/xfrm/sa.js';
import { GUEST_ADDRESS as GUEST, HOST_ADDRESS as HOST, kernelPeerFixture } from './fixture.js';
import { KernelPeer } from './kernel-peer.js';
import { captureOnHost, ethernetIpv4, icmpEcho, inetChecksum, ipv4, parseIpv4, sendRaw } from './packets.js';

const IPPROTO_ESP = 50;
const hex = (s: string) => Buffer.from(s, 'hex');

interface Algorithm {
  name: string;
  /** The `ip xfrm state` words for it. */
  ip: string;
  transform: EspTransform;
}

const GCM_KEY = '4a6f686e20446f652077617320686572650102030405';
const CBC_KEY = '000102030405060708090a0b0c0d0e0f';
const HMAC_KEY = '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f';
const ALGORITHMS: Algorithm[] = [
  {
    name: 'rfc4106(gcm(aes)) 128-bit ICV',
    ip: `aead 'rfc4106(gcm(aes))' 0x${GCM_KEY.slice(0, 40)} 128`,
    transform: { kind: 'aead', name: 'rfc4106(gcm(aes))', key: hex(GCM_KEY.slice(0, 40)), icvBits: 128 },
  },
  {
    name: 'cbc(aes) + hmac(sha256) truncated to 128 bits',
    ip: `enc 'cbc(aes)' 0x${CBC_KEY} auth-trunc 'hmac(sha256)' 0x${HMAC_KEY} 128`,
    transform: { kind: 'cbc-hmac', encryption: hex(CBC_KEY), authentication: hex(HMAC_KEY), icvBits: 128 },
  },
];

/** `ip -s xfrm state` per SPI: lifetime current bytes/packets and the three error counters. */
function kernelSaStats(text: string): Map<number, { bytes: number; packets: number; replayWindow: number; replay: number; integrityFailed: number }> {
  const out = new Map();
  for (const block of text.split(/^src /m).slice(1)) {
    const spi = /spi 0x([0-9a-f]+)/.exec(block);
    const current = /lifetime current:\s+(\d+)\(bytes\), (\d+)\(packets\)/.exec(block);
    const stats = /stats:\s+replay-window (\d+) replay (\d+) failed (\d+)/.exec(block);
    if (!spi || !current || !stats) continue;
    out.set(parseInt(spi[1], 16), {
      bytes: Number(current[1]),
      packets: Number(current[2]),
      replayWindow: Number(stats[1]),
      replay: Number(stats[2]),
      integrityFailed: Number(stats[3]),
    });
  }
  return out;
}

describe('ESP against the kernel (esp4, tunnel mode)', { skip: KernelPeer.unavailable() ?? false }, () => {
  const f = kernelPeerFixture('x');

  for (const alg of ALGORITHMS) {
    test(alg.name, async (t) => {
      await f.peer.check(
        'ip xfrm state flush; ip xfrm policy flush; ' +
          `ip xfrm state add src ${HOST} dst ${GUEST} proto esp spi 0x200 mode tunnel replay-window 32 ${alg.ip} && ` +
          `ip xfrm state add src ${GUEST} dst ${HOST} proto esp spi 0x100 mode tunnel ${alg.ip} && ` +
          `ip xfrm policy add src 10.7.0.1/32 dst 10.7.0.2/32 dir in tmpl src ${HOST} dst ${GUEST} proto esp mode tunnel && ` +
          `ip xfrm policy add src 10.7.0.2/32 dst 10.7.0.1/32 dir out tmpl src ${GUEST} dst ${HOST} proto esp mode tunnel && ` +
          '(ip addr add 10.7.0.2/32 dev lo 2>/dev/null; ip route replace 10.7.0.1/32 dev eth0 src 10.7.0.2)',
      );
      const out = new SecurityAssociation({ spi: 0x200, transform: alg.transform, replayWindow: 0 });
      const back = new SecurityAssociation({ spi: 0x100, transform: alg.transform, replayWindow: 32 });
      const echo = (seq: number) =>
        ipv4({ src: '10.7.0.1', dst: '10.7.0.2', protocol: 1, ttl: 64 }, icmpEcho(8, 0x4242, seq, Buffer.from(`burrow esp ${seq}`)));

      const cap = await captureOnHost(f.ns.name, f.peer.tap, `ip proto ${IPPROTO_ESP} and src host ${GUEST}`, 3);
      const sent: Buffer[] = [];
      for (let seq = 1; seq <= 3; seq++) {
        const esp = out.encrypt(echo(seq), 4)!;
        sent.push(esp);
        sendRaw(f.ns.name, IPPROTO_ESP, GUEST, esp);
      }
      const frames = await cap.packets();
      assert.equal(frames.length, 3, 'three ESP echo replies from the kernel');
      const replies: Buffer[] = [];
      for (const frame of frames) {
        const outer = parseIpv4(ethernetIpv4(frame)!);
        assert.equal(outer.protocol, IPPROTO_ESP);
        replies.push(outer.payload);
        const r = back.decrypt(outer.payload);
        assert.ok(typeof r !== 'string', `burrow decrypts the kernel's ESP: ${String(r)}`);
        assert.equal(r.nextHeader, 4);
        const inner = parseIpv4(r.inner);
        assert.equal(inner.src, '10.7.0.2');
        assert.equal(inner.dst, '10.7.0.1');
        assert.equal(inner.payload[0], 0, 'an echo reply');
        assert.equal(inetChecksum(inner.payload), 0);
      }

      const text = await f.peer.check('ip -s xfrm state');
      const kernel = kernelSaStats(text);
      const k200 = kernel.get(0x200)!;
      const k100 = kernel.get(0x100)!;
      assert.deepEqual([k200.packets, k200.bytes], [out.stats.packets, out.stats.bytes], 'what burrow sent = what the kernel took in');
      assert.deepEqual([k100.packets, k100.bytes], [back.stats.packets, back.stats.bytes], 'what the kernel sent = what burrow took in');

      // A tampered packet: the kernel counts an integrity failure (and answers nothing).
      const tampered = out.encrypt(echo(9), 4)!;
      tampered[tampered.length - 20] ^= 0x40;
      sendRaw(f.ns.name, IPPROTO_ESP, GUEST, tampered);
      // A replayed packet: sequence number 2 again.
      sendRaw(f.ns.name, IPPROTO_ESP, GUEST, sent[1]);
      await f.peer.check('sleep 0.3');
      const after = kernelSaStats(await f.peer.check('ip -s xfrm state')).get(0x200)!;
      assert.equal(after.integrityFailed - k200.integrityFailed, 1, 'kernel: failed');
      assert.equal(after.replay - k200.replay, 1, 'kernel: replay');
      assert.equal(after.packets, k200.packets, 'neither was delivered');
      // The same on burrow's side, with the kernel's packets.
      const bad = Buffer.from(replies[0]);
      bad[bad.length - 20] ^= 0x40;
      const fresh = new SecurityAssociation({ spi: 0x100, transform: alg.transform, replayWindow: 32 });
      assert.equal(fresh.decrypt(bad), 'esp-integrity');
      assert.ok(typeof fresh.decrypt(replies[0]) !== 'string');
      assert.equal(fresh.decrypt(replies[0]), 'esp-replay');
      assert.deepEqual([fresh.stats.integrityFailed, fresh.stats.replay], [1, 1]);
      t.diagnostic(text.split('\n').filter((l) => /spi|lifetime current|bytes\),|stats|replay-window \d+ replay/.test(l)).join('\n'));
    });
  }
});
