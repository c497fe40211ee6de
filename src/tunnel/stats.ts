/**
 * Per-tunnel counters: the kernel's net_device_stats fields that `ip -s tunnel show` prints, plus
 * those it keeps hidden, so that burrow's numbers mean what the kernel's mean (spec 2.2).
 */

export interface TunnelStats {
  rxPackets: number;
  /** Inner bytes delivered, as the kernel counts them (outer headers excluded). */
  rxBytes: number;
  rxErrors: number;
  rxDropped: number;
  /** GRE checksum presence disagreeing with icsum (not shown by `ip tunnel -s`). */
  rxCrcErrors: number;
  /** ECN decapsulation drops; shown in the CsumErrs column. */
  rxFrameErrors: number;
  /** GRE sequence drops; shown as OutOfSeq. */
  rxFifoErrors: number;
  rxLengthErrors: number;
  multicast: number;
  txPackets: number;
  /** Inner bytes sent, as the kernel counts them. */
  txBytes: number;
  txErrors: number;
  /** No buffer space in the underlay (NoBufs). */
  txDropped: number;
  /** The route to the remote leads back into the tunnel (DeadLoop). */
  collisions: number;
  /** No route to the remote, or local is not a local address (NoRoute). */
  txCarrierErrors: number;
  /** NBMA tunnel without a usable next hop. */
  txFifoErrors: number;
  txAbortedErrors: number;
}

export function emptyStats(): TunnelStats {
  return {
    rxPackets: 0,
    rxBytes: 0,
    rxErrors: 0,
    rxDropped: 0,
    rxCrcErrors: 0,
    rxFrameErrors: 0,
    rxFifoErrors: 0,
    rxLengthErrors: 0,
    multicast: 0,
    txPackets: 0,
    txBytes: 0,
    txErrors: 0,
    txDropped: 0,
    collisions: 0,
    txCarrierErrors: 0,
    txFifoErrors: 0,
    txAbortedErrors: 0,
  };
}
