/**
 * What the tunnel and vxlan services share about their devices: whether a name is taken, the refusal
 * for a name that is not theirs, and taking up a persistent TUN/TAP device again after a restart.
 */
import { BurrowError } from '../errors.js';
import { linkByName } from '../io/netlink/link.js';
import type { NetlinkHandle } from '../io/netlink/socket.js';
import { TunDevice, type TunOptions } from '../io/tun.js';
import type { Logger } from './log.js';
import { needsVnetHeader, type OffloadSet } from './offload.js';

export function deviceExists(nl: NetlinkHandle, name: string): boolean {
  try {
    linkByName(nl, name);
    return true;
  } catch (error) {
    if (error instanceof BurrowError && error.code === 'ENODEV') return false;
    throw error;
  }
}

/** The kernel's answer for a name that is not one of ours: ENODEV when no device has it, else EOPNOTSUPP. */
export function notOurs(nl: NetlinkHandle, name: string): BurrowError {
  return new BurrowError(deviceExists(nl, name) ? 'EOPNOTSUPP' : 'ENODEV');
}

/**
 * The persistent device `name` of an earlier daemon, attached again; or, when it is gone (a reboot
 * left the state file, someone deleted it), made again (`recreated`: its addresses and routes are gone).
 */
export function reopenDevice(name: string, options: TunOptions = {}): { device: TunDevice; recreated: boolean } {
  try {
    return { device: TunDevice.attach(name, options), recreated: false };
  } catch (error) {
    if (!(error instanceof BurrowError && error.code === 'ENODEV')) throw error;
    return { device: TunDevice.create(name, { ...options, persist: true }), recreated: true };
  }
}

/** Adopts each saved item; one failure (logged) stops no other. */
export function adoptEach<T extends { name: string } | { params: { name: string } }>(
  saved: readonly T[],
  what: string,
  log: Logger,
  adoptOne: (item: T) => void,
): void {
  for (const item of saved) {
    try {
      adoptOne(item);
    } catch (error) {
      const name = 'params' in item ? item.params.name : item.name;
      log.error(`could not adopt ${what} ${name}: ${(error as Error).message}`);
    }
  }
}

/** The TUN/TAP options the offloads in use need (IFF_VNET_HDR for tso or gro). */
export function offloadOptions(offloads: OffloadSet, options: TunOptions = {}): TunOptions {
  return { ...options, vnetHeader: needsVnetHeader(offloads) };
}

/**
 * Turns the device's offloads on or off after it is opened (an fd's TUNSETOFFLOAD ends with it, so adoption
 * does it again). A kernel that refuses TSO leaves the device on the plain path, which still works.
 */
export function applyOffloads(device: TunDevice, offloads: OffloadSet, log: Logger): void {
  if (offloads.tso) {
    if (!device.enableTso()) log.info(`${device.name}: the kernel refused TUN TSO; cutting nothing`);
    return;
  }
  // A persistent device keeps the offloads an earlier fd set: without this it would go on handing out
  // superframes, now without the header that says so.
  device.setOffload(0);
}
