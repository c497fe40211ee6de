#!/usr/bin/env python3
"""Regenerates fixtures.ts beside this file: runs `ip` under strace in scratch namespaces (bwnl-fx,
bwnl-fxr) and records the netlink datagrams it sent and received. Needs root, strace and iproute2;
deletes its namespaces on exit. Usage: python3 src/io/netlink/fixtures.capture.py"""
import subprocess, re, sys, time, os, tempfile
TRACE = os.path.join(tempfile.gettempdir(), 'bwnl-fixtures.trace')
def capture(cmd):
    """Runs cmd under strace; returns [(direction, hex)] for every buffer it sent or received."""
    p = subprocess.run(['strace', '-f', '-qq', '-e', 'trace=sendmsg,recvmsg,sendto,recvfrom', '-e', 'read=all', '-e', 'write=all', '-e', 'signal=none', '-o', TRACE] + cmd, capture_output=True, text=True)
    out = []
    cur = None; d = None
    for line in open(TRACE):
        if line.startswith('sendmsg'): d = 'send'
        elif line.startswith('recvmsg'): d = 'recv'
        m = re.match(r' \* (\d+) bytes in buffer', line)
        if m:
            cur = [d, '']; out.append(cur); continue
        if re.match(r' \| [0-9a-f]{5}  ', line) and cur is not None:
            cur[1] += ''.join(re.findall(r'[0-9a-f]{2}', line[10:59]))
    return out, p.stdout, p.stderr

if len(sys.argv) > 1 and sys.argv[1] == '--capture':
    b, so, se = capture(sys.argv[2:])
    print("\n".join(h for d, h in b)); print("@@"); print(so)
    sys.exit(0)
NS='bwnl-fx'; R='bwnl-fxr'
def sh(c): subprocess.run(c, shell=True, check=True)
def ipn(c): sh(f'ip -n {NS} {c}')
for n in (NS, R): subprocess.run(f'ip netns del {n}', shell=True, capture_output=True)
sh(f'ip netns add {NS}; ip netns add {R}')
try:
    ipn('link set lo up')
    ipn(f'link add bwnl0 type veth peer name bwnl1 netns {R}')
    ipn('link set bwnl0 up')
    sh(f'ip -n {R} link set lo up; ip -n {R} link set bwnl1 up; ip -n {R} addr add 192.0.2.1/24 dev bwnl1')
    sh(f'ip -n {R} -6 addr add 2001:db8::1/64 dev bwnl1 nodad')
    sh(f'ip -n {R} link add bwnl2 mtu 1300 type veth peer name bwnl3 mtu 1300; ip -n {R} link set bwnl2 up; ip -n {R} link set bwnl3 up')
    sh(f'ip -n {R} route add 203.0.113.0/24 dev bwnl2; ip netns exec {R} sysctl -qw net.ipv4.ip_forward=1')
    ipn('addr add 192.0.2.2/24 dev bwnl0')
    ipn('-6 addr add 2001:db8::2/64 dev bwnl0 nodad')
    ipn('route add 198.51.100.0/24 via 192.0.2.1 mtu lock 1300')
    ipn('-6 route add 2001:db8:1::/64 via 2001:db8::1 mtu 1400')
    ipn('route add 203.0.113.0/24 via 192.0.2.1')
    ipn('tuntap add dev bwnltun0 mode tun')
    ipn('link add bwnlvx0 type vxlan id 42 remote 192.0.2.1 dstport 4789 dev bwnl0')
    time.sleep(1)
    sh(f'ip netns exec {NS} ping -q -M do -s 1400 -c 1 -W 1 203.0.113.7 >/dev/null 2>&1 || true')
    fixtures = []
    def fx(name, doc, cmd, pick):
        bufs, so, se = capture(['ip', '-n', NS] + cmd.split())
        msgs = [h for d, h in bufs]
        chosen = pick(msgs)
        fixtures.append((name, doc, 'ip ' + cmd, (so + se).strip(), chosen))
    def req_reply(t):
        def f(ms):
            idx = [i for i, m in enumerate(ms) if int(m[10:12]+m[8:10], 16) == t][-1]
            return [ms[idx], ms[idx+1]]
        return f
    def link_pick(name):
        def f(ms):
            pairs = [(ms[i], ms[i+1]) for i, m in enumerate(ms[:-1]) if int(m[10:12]+m[8:10], 16) == 18 and int(ms[i+1][10:12]+ms[i+1][8:10], 16) == 16 and name.encode().hex() + '00' in ms[i+1]]
            return list(max(pairs, key=lambda p: len(p[1])))
        return f
    fx('routeGetVia', 'route 198.51.100.0/24 via 192.0.2.1 mtu lock 1300', 'route get 198.51.100.7', req_reply(26))
    fx('routeGetPmtu', 'PMTU exception: a router answered "frag needed, mtu 1300" to ping -M do -s 1400', 'route get 203.0.113.7', req_reply(26))
    fx('routeGetUnreachable', 'no route at all', 'route get 100.64.0.1', req_reply(26))
    fx('routeGetFromOifMark', 'src, oif and mark given', 'route get 198.51.100.7 from 192.0.2.2 oif bwnl0 mark 7', req_reply(26))
    fx('routeGet6', 'route 2001:db8:1::/64 via 2001:db8::1 mtu 1400', '-6 route get 2001:db8:1::7', req_reply(26))
    fx('linkSetMtuTooSmall', 'the kernel refuses, with an extended-ack message', 'link set dev bwnl0 mtu 10', req_reply(16))
    fx('linkGetVeth', 'veth bwnl0, up, peer in another namespace', 'link show dev bwnl0', link_pick('bwnl0'))
    fx('linkGetTun', 'ip tuntap add dev bwnltun0 mode tun', '-d link show dev bwnltun0', link_pick('bwnltun0'))
    fx('linkGetVxlan', 'ip link add bwnlvx0 type vxlan id 42 remote 192.0.2.1 dstport 4789 dev bwnl0', '-d link show dev bwnlvx0', link_pick('bwnlvx0'))
    fx('addrDump', 'the addresses of bwnl0: 192.0.2.2/24 and 2001:db8::2/64 nodad (one datagram, then NLMSG_DONE)', 'addr show dev bwnl0', lambda ms: [m for m in ms if int(m[10:12]+m[8:10], 16) in (20, 3)])
    fx('addrAdd4', '', 'addr add 192.0.2.3/24 dev bwnl0', req_reply(20))
    fx('addrAdd6Nodad', '', 'addr add 2001:db8::3/64 dev bwnl0 nodad', req_reply(20))
    fx('addrDel4', '', 'addr del 192.0.2.3/24 dev bwnl0', req_reply(21))
    fx('routeAddMtuLock', '', 'route add 192.0.2.128/25 via 192.0.2.1 mtu lock 1400', req_reply(24))
    fx('routeDel', '', 'route del 192.0.2.128/25 via 192.0.2.1', req_reply(25))
    fx('linkSetAddrGenModeNone', '', 'link set dev bwnl0 addrgenmode none', req_reply(16))
    fx('linkSetTxqueuelen', '', 'link set dev bwnl0 txqueuelen 500', req_reply(16))
    fx('linkSetDown', '', 'link set dev bwnl0 down', req_reply(16))
    fx('linkSetUp', '', 'link set dev bwnl0 up', req_reply(16))
    fx('linkDel', '', 'link del dev bwnltun0', req_reply(17))
    time.sleep(2)  # let the link-up of linkSetUp settle (linkwatch runs up to a second later)
    # monitor
    mon = subprocess.Popen([sys.executable, __file__, '--capture', 'timeout', '2', 'ip', '-n', NS, 'monitor', 'link', 'address', 'route'], stdout=subprocess.PIPE, text=True)
    time.sleep(0.7)
    ipn('link set bwnl0 down'); ipn('link set bwnl0 up'); ipn('addr add 192.0.2.9/24 dev bwnl0'); ipn('addr del 192.0.2.9/24 dev bwnl0')
    out, _ = mon.communicate()
    hexes, text = out.split('@@')
    msgs = [h for h in hexes.split() if h]
    # skip ip's own startup exchange (its GETLINK etc.): keep datagrams with seq 0 (kernel notifications)
    def is_event(m):
        t = int(m[10:12]+m[8:10], 16)
        flags = int(m[14:16]+m[12:14], 16)
        if flags & 2: return False  # a dump answer
        return t in (20, 21, 24, 25) or (t in (16, 17) and m[16:24] == '00000000')
    events = [m for m in msgs if is_event(m)]
    fixtures.append(('monitor', 'link down, link up, addr add 192.0.2.9/24, addr del (the notifications ip monitor received)', 'ip monitor link address route', text.strip(), events))
finally:
    for n in (NS, R): subprocess.run(f'ip netns del {n}', shell=True)
kernel = os.uname().release
ipv = re.search(r'iproute2-[^,\s]+', subprocess.run(['ip', '-V'], capture_output=True, text=True).stdout).group(0)
o = []
o.append('/**')
o.append(' * rtnetlink messages captured from the kernel, for the codec and socket unit tests.')
o.append(' *')
o.append(f' * Provenance: Linux {kernel}, {ipv}. Each fixture is what `ip` sent and')
o.append(' * received (run as `ip -n NS ...` in a scratch namespace), dumped with `strace -e read=all')
o.append(' * -e write=all`. Setup: veth bwnl0 (192.0.2.2/24, 2001:db8::2/64 nodad) whose peer 192.0.2.1 sits in')
o.append(' * a router namespace that forwards 203.0.113.0/24 over a 1300-byte-MTU link; route 198.51.100.0/24')
o.append(' * via 192.0.2.1 mtu lock 1300; route 2001:db8:1::/64 via 2001:db8::1 mtu 1400; tun bwnltun0; vxlan')
o.append(' * bwnlvx0. Hex strings are whole datagrams; the sequence numbers are ip\'s.')
o.append(' * Generated by fixtures.capture.py (run it as root to refresh); do not edit by hand.')
o.append(' */')
o.append('')
o.append('export interface Fixture {')
o.append('  /** The command that produced it and what it printed. */')
o.append('  command: string;')
o.append('  printed: string;')
o.append('  /** Datagrams in order: for a request, [request, answer...]. */')
o.append('  datagrams: string[];')
o.append('}')
o.append('')
for name, doc, cmd, printed, chosen in fixtures:
    if doc: o.append(f'/** {doc} */')
    o.append(f'export const {name}: Fixture = {{')
    o.append(f'  command: {cmd!r},'.replace("'", "'"))
    o.append(f'  printed: {printed!r},')
    o.append('  datagrams: [')
    for h in chosen:
        for i in range(0, len(h), 96):
            piece = h[i:i+96]
            end = "'," if i + 96 >= len(h) else "' +"
            o.append(f"    '{piece}{end}")
    o.append('  ],')
    o.append('};')
    o.append('')
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures.ts'), 'w').write('\n'.join(o))
print('ok', len(fixtures))
