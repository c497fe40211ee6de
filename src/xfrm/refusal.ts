/**
 * How the xfrm database refuses a request: as the kernel would (an errno, sometimes with the
 * extended-ack text iproute2 prints as `Error: TEXT.`), or because burrow does not do what was asked
 * (a valid configuration outside what vti needs: other protocols, modes, algorithms, lifetimes, ...).
 *
 * Both travel as BurrowError (the daemon's answers carry an errno and a message); the detail says
 * which, so the command line can print `Error: TEXT.`, `RTNETLINK answers: STRERROR` or burrow's own
 * message. No refusal ever quotes key material.
 */
import { BurrowError, type ErrnoName } from '../errors.js';

const EXTACK = 'extack: ';
const UNSUPPORTED = 'unsupported: ';

/** The kernel's refusal: an errno and, when the kernel sets one, its extended-ack message. */
export function kernelRefusal(code: ErrnoName, extack?: string): BurrowError {
  return new BurrowError(code, extack === undefined ? undefined : EXTACK + extack);
}

/** A valid request for something burrow's xfrm does not do: `WHAT is not supported (WHY)`. */
export function unsupported(what: string, why?: string): BurrowError {
  return new BurrowError('EOPNOTSUPP', `${UNSUPPORTED}${what} is not supported${why === undefined ? '' : ` (${why})`}`);
}

export type RefusalText = { kind: 'extack'; text: string } | { kind: 'unsupported'; text: string } | { kind: 'errno'; text: string };

/** What to print for a refusal that came back from the daemon (its detail may carry the strerror in front). */
export function refusalText(error: BurrowError): RefusalText {
  const detail = error.detail ?? '';
  for (const [marker, kind] of [
    [EXTACK, 'extack'],
    [UNSUPPORTED, 'unsupported'],
  ] as const) {
    const at = detail.indexOf(marker);
    if (at >= 0) return { kind, text: detail.slice(at + marker.length) };
  }
  return { kind: 'errno', text: error.strerror };
}
