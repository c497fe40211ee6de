/**
 * ICMP error rate limits, as the kernel applies them to the errors it sends (net/ipv4/icmp.c):
 * a global token bucket (icmp_msgs_per_sec 1000, burst icmp_msgs_burst 50) and one per destination
 * (icmp_ratelimit: one token per 1000 ms, up to 6 banked, as inet_peer_xrlim_allow allows).
 * Without them, a decapsulator that answers every bad packet becomes a reflector (reliability.md §4).
 */

interface Bucket {
  tokens: number;
  last: number;
}

export class IcmpRateLimiter {
  private readonly global: Bucket;
  private readonly peers = new Map<string | number, Bucket>();

  constructor(
    private readonly now: () => number,
    private readonly perSecond = 1000,
    private readonly burst = 50,
    private readonly peerIntervalMs = 1000,
    private readonly peerBurst = 6,
    private readonly maxPeers = 4096,
  ) {
    this.global = { tokens: burst, last: now() };
  }

  /** Takes a token for an error to `peer`; false means the error must not be sent. */
  allow(peer: string | number): boolean {
    const t = this.now();
    const g = this.global;
    g.tokens = Math.min(this.burst, g.tokens + ((t - g.last) * this.perSecond) / 1000);
    g.last = t;
    if (g.tokens < 1) return false;
    let p = this.peers.get(peer);
    if (!p) {
      if (this.peers.size >= this.maxPeers) this.peers.delete(this.peers.keys().next().value!);
      p = { tokens: this.peerBurst, last: t };
      this.peers.set(peer, p);
    }
    p.tokens = Math.min(this.peerBurst, p.tokens + (t - p.last) / this.peerIntervalMs);
    p.last = t;
    if (p.tokens < 1) return false;
    p.tokens -= 1;
    g.tokens -= 1;
    return true;
  }
}
