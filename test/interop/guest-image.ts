/**
 * The kernel peer's boot image: Debian's stock kernel plus a tiny initramfs made here at test time.
 *
 * The initramfs holds only busybox (static), the kernel modules needed before this machine's root
 * can be mounted (virtio, 9p, the virtio NIC and serial port) and the tunnel drivers, and three
 * scripts: `/init`, the command agent, and a modprobe helper. Its `/init`:
 *   1. mounts proc, sys, devtmpfs and loads the modules in dependency order (insmod, explicit paths);
 *   2. mounts this machine's `/` read-only over 9p at `/host`, then guest-own proc, sys, dev, devpts
 *      and a tmpfs on /tmp, /run and /var/tmp inside it;
 *   3. points /proc/sys/kernel/modprobe at a helper that runs this machine's `modprobe` chrooted in
 *      /host: kernel module autoloading (nf_tables for iptables, esp4 for vti, ...) then finds the
 *      guest kernel's modules in /host/lib/modules/<guest version>, which exist because the
 *      linux-image-amd64 package that provided the kernel also installed them there;
 *   4. runs the agent chrooted in /host, so `ip`, `iptables`, `ping` and `tcpdump` are this
 *      machine's binaries; when the agent ends, the guest powers off (qemu runs with -no-reboot).
 *
 * The image is cached under build/interop/ by a hash of every input (kernel, modules, busybox and the
 * script texts), so it is rebuilt only when one of them changes.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, renameSync, rmSync,
  statSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Name of the virtio-serial port that carries the agent protocol. */
export const AGENT_PORT_NAME = 'bwq.agent';
/** Where init puts a copy of the static busybox inside the guest's root (a tmpfs). */
export const GUEST_BUSYBOX = '/run/bwq/busybox';
/** The 9p mount tag of this machine's root. */
export const HOST_ROOT_TAG = 'hostroot';

/**
 * Modules loaded before the chroot. Their dependencies are added from modules.dep. Everything else is
 * loaded on demand by the kernel through the modprobe helper.
 */
export const BOOT_MODULES = [
  'virtio_pci', '9pnet_virtio', '9p', 'virtio_net', 'virtio_console',
  'ipip', 'ip_gre', 'sit', 'ip_vti',
];

export interface GuestKernel {
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

/**
 * Finds the guest kernel: the `vmlinuz` given (or BURROW_INTEROP_KERNEL), else the newest
 * /boot/vmlinuz-*-amd64 whose modules are installed.
 */
export function findGuestKernel(vmlinuz = process.env.BURROW_INTEROP_KERNEL): GuestKernel {
  const candidates = vmlinuz
    ? [vmlinuz]
    : readdirSync('/boot')
        .filter((f) => /^vmlinuz-.*-amd64$/.test(f))
        .map((f) => join('/boot', f))
        .sort(compareVersionsOfPaths)
        .reverse();
  for (const path of candidates) {
    const version = basename(path).replace(/^vmlinuz-/, '');
    const modulesDir = join('/lib/modules', version);
    if (existsSync(path) && existsSync(join(modulesDir, 'modules.dep'))) return { version, vmlinuz: path, modulesDir };
  }
  throw new Error(
    `no guest kernel: need /boot/vmlinuz-*-amd64 with /lib/modules/<version>/modules.dep ` +
      `(apt-get install linux-image-amd64)${vmlinuz ? `; looked at ${vmlinuz}` : ''}`,
  );
}

function compareVersionsOfPaths(a: string, b: string): number {
  const pa = basename(a).split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pb = basename(b).split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** A module name as modprobe normalises it (dashes and underscores are the same). */
function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replace(/-/g, '_');
}

/**
 * Resolves `names` and their dependencies to module paths (relative to modulesDir) in load order.
 * Built-in modules are skipped; an unknown module is an error.
 */
export function resolveModules(modulesDir: string, names: string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of readFileSync(join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon);
    deps.set(path, line.slice(colon + 1).split(/\s+/).filter(Boolean));
    byName.set(moduleName(path), path);
  }
  const builtin = new Set(
    existsSync(join(modulesDir, 'modules.builtin'))
      ? readFileSync(join(modulesDir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(moduleName)
      : [],
  );
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const d of deps.get(path) ?? []) visit(d);
    order.push(path);
  };
  for (const raw of names) {
    const name = raw.replace(/-/g, '_');
    const path = byName.get(name);
    if (path !== undefined) visit(path);
    else if (!builtin.has(name)) throw new Error(`kernel module ${raw} not found in ${modulesDir}/modules.dep`);
  }
  return order;
}

/** Reads a module, decompressing .ko.xz / .ko.zst / .ko.gz (insmod in busybox wants plain ELF). */
function readModule(path: string): Buffer {
  if (path.endsWith('.ko')) return readFileSync(path);
  if (path.endsWith('.gz')) return gunzipSync(readFileSync(path));
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : null;
  if (tool === null) throw new Error(`unknown module format: ${path}`);
  return execFileSync(tool, ['-dc', path], { maxBuffer: 64 << 20 });
}

/** True when the ELF file has no PT_INTERP header, i.e. runs without a dynamic loader. */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false; // ELF64 only
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

export function findStaticBusybox(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/initramfs-tools/bin/busybox']) {
    if (existsSync(p) && isStaticElf(p)) return p;
  }
  throw new Error('no statically linked busybox (apt-get install busybox-static)');
}

// ---------------------------------------------------------------------------------------------
// Guest scripts

const INIT = `#!/bin/busybox sh
# burrow kernel peer: PID 1 (see test/interop/guest-image.ts)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "bwq-init: FAILED: $*"; poweroff -f; sleep 10; }
say() { echo "bwq-init: $(cut -d' ' -f1 /proc/uptime) $*"; }
say modules
while read -r m; do insmod "/modules/$m" || fail "insmod $m"; done < /modules/order
say mount
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose ${HOST_ROOT_TAG} /host || fail "9p mount"
R=/host
mount -t proc proc $R/proc || fail "proc"
mount -t sysfs sysfs $R/sys || fail "sysfs"
mount -t devtmpfs devtmpfs $R/dev || fail "devtmpfs"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
for d in tmp run var/tmp dev/shm; do mount -t tmpfs -o mode=1777 tmpfs $R/$d || fail "tmpfs $d"; done
mkdir -p $R/run/bwq $R/run/netns $R/run/lock
cp /agent.sh $R/run/bwq/agent.sh
cp /bin/busybox $R${GUEST_BUSYBOX}
echo /bin/bwq-modprobe > /proc/sys/kernel/modprobe
port=
for p in /sys/class/virtio-ports/*; do
  [ "$(cat $p/name 2>/dev/null)" = "${AGENT_PORT_NAME}" ] && port=/dev/\${p##*/}
done
[ -n "$port" ] || fail "no virtio port named ${AGENT_PORT_NAME}"
ip link set lo up
hostname bwq-peer
say agent
chroot $R ${GUEST_BUSYBOX} env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
  HOME=/tmp LANG=C.UTF-8 TERM=dumb ${GUEST_BUSYBOX} sh /run/bwq/agent.sh "$port"
say "agent ended ($?)"
poweroff -f
`;

const MODPROBE_HELPER = `#!/bin/busybox sh
# The kernel's module loader: run this machine's modprobe against /host/lib/modules/<guest version>.
exec /bin/busybox chroot /host /sbin/modprobe "$@"
`;

/**
 * The agent: reads one request per line from the virtio port and answers with one line.
 *   request:  <id> <timeout seconds> <base64 of a shell script>
 *   answer:   DONE <id> <exit status> <base64 stdout> <base64 stderr>
 * It first says `READY <kernel release>`. The script runs with this machine's /bin/sh under busybox
 * `timeout` (TERM, then KILL 2 s later: exit status 143 or 137), stdin /dev/null, cwd /tmp, and
 * without the port's descriptor, so background children of the script (ping, tcpdump) keep running
 * after the answer.
 * The agent itself runs under busybox sh, whose applets (base64, timeout, rm) run without an exec
 * from 9p: under software emulation every exec of a dynamically linked program costs about 50 ms.
 */
const AGENT = `# burrow kernel peer agent (see test/interop/guest-image.ts); runs under busybox sh
exec 3<>"$1"
d=/run/bwq
cd /tmp
echo "READY $(uname -r)" >&3
while read -r id tmo b64 <&3; do
  echo "$b64" | base64 -d > $d/c.$id
  timeout -k 2 "$tmo" /bin/sh $d/c.$id </dev/null >$d/o.$id 2>$d/e.$id 3>&-
  rc=$?
  echo "DONE $id $rc $(base64 -w0 $d/o.$id) $(base64 -w0 $d/e.$id)" >&3
  rm -f $d/c.$id $d/o.$id $d/e.$id
done
`;

// ---------------------------------------------------------------------------------------------
// cpio (newc), the format the kernel unpacks an initramfs from

type Entry = { path: string; mode: number; data?: Buffer };

function cpio(entries: Entry[]): Buffer {
  const chunks: Buffer[] = [];
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  const push = (path: string, mode: number, data: Buffer) => {
    const name = Buffer.from(`${path}\0`);
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`);
    chunks.push(header, name, pad4(header.length + name.length), data, pad4(data.length));
  };
  for (const e of entries) push(e.path, e.mode, e.data ?? Buffer.alloc(0));
  push('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(chunks);
}

export interface Initramfs {
  path: string;
  /** Whether this call built it (false: taken from the cache). */
  built: boolean;
  modules: string[];
}

/** Builds (or finds in the cache) the initramfs for `kernel` under `buildDir`. */
export function buildInitramfs(kernel: GuestKernel, buildDir: string, extraModules: string[] = []): Initramfs {
  const busybox = findStaticBusybox();
  const modules = resolveModules(kernel.modulesDir, [...BOOT_MODULES, ...extraModules]);
  const fingerprint = (p: string) => {
    const s = statSync(p);
    return `${p}:${s.size}:${s.mtimeMs}`;
  };
  const hash = createHash('sha256')
    .update(JSON.stringify({
      format: 1,
      kernel: kernel.version,
      files: [busybox, ...modules.map((m) => join(kernel.modulesDir, m))].map(fingerprint),
      scripts: [INIT, MODPROBE_HELPER, AGENT],
    }))
    .digest('hex')
    .slice(0, 16);
  const path = join(buildDir, `initramfs-${kernel.version}-${hash}.cpio`);
  const names = modules.map((m) => `${moduleName(m)}.ko`);
  if (existsSync(path)) return { path, built: false, modules: names };

  const entries: Entry[] = [];
  for (const d of ['bin', 'dev', 'proc', 'sys', 'host', 'modules', 'tmp']) entries.push({ path: d, mode: 0o40755 });
  entries.push({ path: 'bin/busybox', mode: 0o100755, data: readFileSync(busybox) });
  entries.push({ path: 'bin/bwq-modprobe', mode: 0o100755, data: Buffer.from(MODPROBE_HELPER) });
  entries.push({ path: 'init', mode: 0o100755, data: Buffer.from(INIT) });
  entries.push({ path: 'agent.sh', mode: 0o100644, data: Buffer.from(AGENT) });
  entries.push({ path: 'modules/order', mode: 0o100644, data: Buffer.from(names.join('\n') + '\n') });
  modules.forEach((m, i) => {
    entries.push({ path: `modules/${names[i]}`, mode: 0o100644, data: readModule(join(kernel.modulesDir, m)) });
  });

  mkdirSync(buildDir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, cpio(entries));
  renameSync(tmp, path);
  // Drop images of older inputs for this kernel.
  for (const f of readdirSync(buildDir)) {
    if (f.startsWith(`initramfs-${kernel.version}-`) && f.endsWith('.cpio') && join(buildDir, f) !== path) {
      rmSync(join(buildDir, f), { force: true });
    }
  }
  return { path, built: true, modules: names };
}

/**
 * The kernel as qemu should load it. A bzImage boots through the BIOS and then decompresses itself,
 * which under software emulation takes about 4 s of the boot (Debian's is xz-compressed). The
 * uncompressed ELF inside it carries a PVH entry note (CONFIG_PVH), which qemu's -kernel enters
 * directly, so the image is unpacked once into the cache and booted that way. Falls back to the
 * bzImage when the payload cannot be unpacked (no xz/zstd) or has no PVH note.
 */
export function bootableKernel(kernel: GuestKernel, buildDir: string): { path: string; pvh: boolean; note?: string } {
  const s = statSync(kernel.vmlinuz);
  const key = createHash('sha256').update(`${kernel.vmlinuz}:${s.size}:${s.mtimeMs}`).digest('hex').slice(0, 16);
  const path = join(buildDir, `vmlinux-${kernel.version}-${key}`);
  if (existsSync(path)) return { path, pvh: true };
  let elf: Buffer;
  try {
    elf = unpackBzImage(readFileSync(kernel.vmlinuz));
  } catch (err) {
    return { path: kernel.vmlinuz, pvh: false, note: (err as Error).message };
  }
  if (!hasPvhNote(elf)) return { path: kernel.vmlinuz, pvh: false, note: 'no PVH entry note in the kernel' };
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, elf);
  renameSync(tmp, path);
  // Drop unpacked kernels of older inputs, but never another process's image still being written.
  for (const f of readdirSync(buildDir)) {
    if (f.startsWith(`vmlinux-${kernel.version}-`) && !f.endsWith('.tmp') && join(buildDir, f) !== path) {
      rmSync(join(buildDir, f), { force: true });
    }
  }
  return { path, pvh: true };
}

/** The compressed payload of a bzImage (boot protocol >= 2.08: payload_offset/length at 0x248). */
function unpackBzImage(image: Buffer): Buffer {
  if (image.readUInt32LE(0x202) !== 0x53726448 || image.readUInt16LE(0x206) < 0x208) {
    throw new Error('not a bzImage with boot protocol 2.08 or later');
  }
  const setupSects = image[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
  const payload = image.subarray(start, start + image.readUInt32LE(0x24c));
  const max = { maxBuffer: 512 << 20 };
  if (payload.subarray(0, 6).equals(Buffer.from('fd377a585a00', 'hex'))) {
    return execFileSync('xz', ['-dc', '--single-stream'], { ...max, input: payload });
  }
  if (payload.readUInt32LE(0) === 0xfd2fb528) return execFileSync('zstd', ['-dc'], { ...max, input: payload });
  if (payload[0] === 0x1f && payload[1] === 0x8b) return gunzipSync(payload);
  throw new Error(`unsupported kernel compression (magic ${payload.subarray(0, 4).toString('hex')})`);
}

/** True when the ELF has a Xen note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY), which qemu uses for PVH. */
function hasPvhNote(elf: Buffer): boolean {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(32));
  const phentsize = elf.readUInt16LE(54);
  for (let i = 0; i < elf.readUInt16LE(56); i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const off = Number(elf.readBigUInt64LE(ph + 8));
    const end = off + Number(elf.readBigUInt64LE(ph + 32));
    for (let p = off; p + 12 <= end; ) {
      const namesz = elf.readUInt32LE(p);
      const descsz = elf.readUInt32LE(p + 4);
      const type = elf.readUInt32LE(p + 8);
      const name = elf.toString('latin1', p + 12, p + 12 + namesz).replace(/\0+$/, '');
      if (name === 'Xen' && type === 18) return true;
      p += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/** The repository root: the nearest directory above this file that holds package.json. */
export function repoRoot(from = dirname(new URL(import.meta.url).pathname)): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}
