/**
 * A scripted stand-in for the kernel's end of a netlink socket, for unit tests of NetlinkHandle and
 * the verbs: it records what is sent and queues the datagrams a script answers with, stamped with the
 * request's sequence number, so captured answers (fixtures.ts) replay against fresh requests.
 */
import { constants as osConstants } from 'node:os';
import {
  MSG_TRUNC,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  SIZEOF_NLMSGHDR,
  nlmsgAlign,
} from './messages.js';
import type { NetlinkSocketOps } from './socket.js';

const { EAGAIN } = osConstants.errno;

/** Copies a datagram (hex or bytes) with every message's sequence number set to `seq`. */
export function withSeq(datagram: string | Buffer, seq: number): Buffer {
  const b = typeof datagram === 'string' ? Buffer.from(datagram, 'hex') : Buffer.from(datagram);
  for (let at = 0; at + SIZEOF_NLMSGHDR <= b.length; ) {
    const len = b.readUInt32LE(at);
    b.writeUInt32LE(seq >>> 0, at + 8);
    if (len < SIZEOF_NLMSGHDR) break;
    at += nlmsgAlign(len);
  }
  return b;
}

/** The kernel's answer to a request: an ack (errno 0) or an error, echoing only its header (CAP_ACK). */
export function ackFor(request: Buffer, errno = 0): Buffer {
  const b = Buffer.alloc(SIZEOF_NLMSGHDR + 4 + SIZEOF_NLMSGHDR);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(NLMSG_ERROR, 4);
  b.writeUInt16LE(NLM_F_CAPPED, 6);
  b.writeUInt32LE(request.readUInt32LE(8), 8);
  b.writeInt32LE(-errno, 16);
  request.copy(b, 20, 0, SIZEOF_NLMSGHDR);
  return b;
}

export class FakeKernel implements NetlinkSocketOps {
  readonly sent: Buffer[] = [];
  /** Datagrams to deliver; a number is returned by recv as is (a negative errno such as -ENOBUFS). */
  readonly queue: (Buffer | number)[] = [];
  /** Socket options set, as [level, name, value]. */
  readonly options: [number, number, number][] = [];
  closed = false;
  /** Called with each sent message; returns the datagrams to queue. */
  script: (request: Buffer, seq: number) => (Buffer | number)[];

  constructor(script: (request: Buffer, seq: number) => (Buffer | number)[] = (r) => [ackFor(r)]) {
    this.script = script;
  }

  socket(): number {
    return 99;
  }

  close(): void {
    this.closed = true;
  }

  setsockoptInt(_fd: number, level: number, name: number, value: number): void {
    this.options.push([level, name, value]);
  }

  bind(): void {}

  send(_fd: number, buffer: Uint8Array, offset: number, length: number): number {
    const m = Buffer.from(buffer.subarray(offset, offset + length));
    this.sent.push(m);
    this.queue.push(...this.script(m, m.readUInt32LE(8)));
    return length;
  }

  recv(_fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): number {
    const d = this.queue.shift();
    if (d === undefined) return -EAGAIN;
    if (typeof d === 'number') return d;
    const n = Math.min(length, d.length);
    buffer.set(d.subarray(0, n), offset);
    return (flags & MSG_TRUNC) !== 0 ? d.length : n;
  }

  waitReadable(): boolean {
    return this.queue.length > 0;
  }
}

/**
 * A kernel that answers the i-th request with `answers[i]` (hex datagrams, stamped with the request's
 * sequence number), followed by an ack when the request asked for one and the answer is not already an
 * NLMSG_ERROR or a dump's end.
 */
export function replayKernel(answers: readonly (readonly string[])[]): FakeKernel {
  let i = 0;
  return new FakeKernel((request, seq) => {
    const out: Buffer[] = (answers[i++] ?? []).map((d) => withSeq(d, seq));
    const flags = request.readUInt16LE(6);
    const last = out.at(-1);
    const lastType = last === undefined ? -1 : last.readUInt16LE(4);
    const isDump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    if ((flags & NLM_F_ACK) !== 0 && !isDump && lastType !== NLMSG_ERROR) out.push(ackFor(request));
    return out;
  });
}

/**
 * Whether two requests are the same bytes apart from the sequence number (bytes 8..11), once
 * `extraFlags` are added to theirs (NLM_F_ACK: burrow asks for an ack where `ip` reads a reply).
 */
export function sameRequest(ours: Buffer, theirs: string | Buffer, extraFlags = 0): boolean {
  const t = typeof theirs === 'string' ? Buffer.from(theirs, 'hex') : Buffer.from(theirs);
  if (t.length !== ours.length) return false;
  t.writeUInt16LE(t.readUInt16LE(6) | extraFlags, 6);
  const o = Buffer.from(ours);
  o.writeUInt32LE(0, 8);
  t.writeUInt32LE(0, 8);
  return o.equals(t);
}
