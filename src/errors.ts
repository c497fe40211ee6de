/**
 * Operational errors: one class, matched on `code`, an errno name.
 *
 * The kernel, iproute2's messages and the WireGuard UAPI all speak errno, so burrow does too:
 * the daemon answers a refused request with the errno the kernel would have returned, and the CLI
 * prints it with the same strerror text iproute2 prints (`add tunnel "tunl0" failed: File exists`).
 * Drops on the packet path are never errors (see tunnel/drop.ts); usage errors are cli/usage-errors.ts.
 */

/** strerror(3) texts from glibc for the errno names burrow uses. */
export const STRERROR = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  ENOTTY: 'Inappropriate ioctl for device',
  EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  EMSGSIZE: 'Message too long',
  ENOPROTOOPT: 'Protocol not available',
  EPROTONOSUPPORT: 'Protocol not supported',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  ENOBUFS: 'No buffer space available',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
  ELOOP: 'Too many levels of symbolic links',
  EBADFD: 'File descriptor in bad state',
} as const;

export type ErrnoName = keyof typeof STRERROR;

export function isErrnoName(name: string): name is ErrnoName {
  return Object.prototype.hasOwnProperty.call(STRERROR, name);
}

export class BurrowError extends Error {
  readonly code: ErrnoName;
  /** Optional detail for logs; never shown where iproute2 would print only strerror. */
  readonly detail: string | undefined;
  /** The kernel's extended ack (NL_SET_ERR_MSG) for a netlink refusal, which iproute2 prints as `Error: TEXT.` */
  extack: string | undefined;

  constructor(code: ErrnoName, detail?: string) {
    super(detail === undefined ? STRERROR[code] : `${STRERROR[code]}: ${detail}`);
    this.name = 'BurrowError';
    this.code = code;
    this.detail = detail;
  }

  /** A refusal that carries the kernel's extended ack text. */
  static withExtack(code: ErrnoName, extack: string): BurrowError {
    const error = new BurrowError(code, extack);
    error.extack = extack;
    return error;
  }

  /** The text strerror(3) gives for this code. */
  get strerror(): string {
    return STRERROR[this.code];
  }
}
