/**
 * Which offloads the daemon uses, from the environment variable BURROW_OFFLOAD (read once at start):
 *
 *   unset, "on", "all"   every offload the kernel offers (each is probed and falls back on its own)
 *   "off", "none"        none: one packet per read and per write, the plain path
 *   "-tso,-gro"          all but the ones named
 *   "tso"                only the ones named
 *
 * The offloads:
 *   tso   TUN/TAP with IFF_VNET_HDR and TUNSETOFFLOAD(CSUM|TSO4|TSO6): reads carry TCP superframes of up
 *         to 64 KiB that burrow cuts into segments itself (engine/segmenter.ts).
 *   gro   the receive side writes consecutive TCP segments of one flow into the device as one
 *         superframe with a virtio_net_hdr (needs the device's IFF_VNET_HDR, which tso or gro asks for).
 * Tests run the functional groups with BURROW_OFFLOAD=off as well (scripts/test --offload off).
 */
import { BurrowError } from '../errors.js';

export const OFFLOADS = ['tso', 'gro'] as const;
export type Offload = (typeof OFFLOADS)[number];
export type OffloadSet = Readonly<Record<Offload, boolean>>;

export function parseOffloads(value: string | undefined): OffloadSet {
  const all = Object.fromEntries(OFFLOADS.map((o) => [o, true])) as Record<Offload, boolean>;
  const text = (value ?? '').trim().toLowerCase();
  if (text === '' || text === 'on' || text === 'all') return all;
  const none = Object.fromEntries(OFFLOADS.map((o) => [o, false])) as Record<Offload, boolean>;
  if (text === 'off' || text === 'none') return none;
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const result = items.every((s) => s.startsWith('-')) ? all : none;
  for (const item of items) {
    const name = item.replace(/^[-+]/, '');
    if (!(OFFLOADS as readonly string[]).includes(name)) {
      throw new BurrowError('EINVAL', `BURROW_OFFLOAD: unknown offload "${name}" (known: ${OFFLOADS.join(', ')}, on, off)`);
    }
    result[name as Offload] = !item.startsWith('-');
  }
  return result;
}

export const NO_OFFLOADS: OffloadSet = { tso: false, gro: false };

/** Whether the devices need IFF_VNET_HDR at all. */
export function needsVnetHeader(offloads: OffloadSet): boolean {
  return offloads.tso || offloads.gro;
}
