/**
 * Usage errors: iproute2's exact texts and exit statuses, in one catalogue.
 *
 * Every message the command line can print on failure is built here, so the conformance table
 * (test/conformance/tunnel-cases.json) and this file together say what burrow prints. Helpers throw a
 * `UsageError`; only cli/main.ts prints it (to stderr, followed by one newline) and exits with its status.
 *
 * Exit statuses follow iproute2: 255 where it calls `exit(-1)` (usage, invalid or duplicate argument,
 * incomplete command line, unknown mode or command), 1 where its handler returns failure (bad address,
 * unknown device, kernel refusal, the checks after parsing). The program name is `burrow` where iproute2
 * says `ip`; that substitution is the only difference in the texts.
 */
import { BurrowError } from '../errors.js';

export const PROGRAM = 'burrow';

export type UsageErrorKind =
  /** `invarg()`: `Error: argument "X" is wrong: ...` */
  | 'invarg'
  /** `duparg2()`: `Error: either "K" is duplicate, or "X" is a garbage.` */
  | 'duparg'
  /** An argument that must be there is missing (`Must specify device`). */
  | 'missarg'
  /** `NEXT_ARG()` at the end of the line. */
  | 'incomplete'
  /** A usage text (help, or `usage()` on a bad option). */
  | 'usage'
  /** An unknown command, object, option, mode or parameter word. */
  | 'unknown'
  /** An address or prefix that does not parse (`get_addr32`, `get_prefix`); exit 1. */
  | 'address'
  /** A check after parsing (`Keys are not allowed ...`, `Cannot find device ...`); exit 1. */
  | 'invalid'
  /** The daemon refused the request; printed as iproute2 prints the kernel's refusal. */
  | 'kernel'
  /** The daemon could not be reached. */
  | 'daemon'
  /** A valid request for something burrow does not do (yet). */
  | 'unsupported';

export class UsageError extends Error {
  readonly kind: UsageErrorKind;
  readonly exitCode: number;

  /** `message` is the exact text for stderr, without the final newline main.ts adds. */
  constructor(kind: UsageErrorKind, message: string, exitCode: number) {
    super(message);
    this.name = 'UsageError';
    this.kind = kind;
    this.exitCode = exitCode;
  }
}

/** iproute2's `exit(-1)`. */
export const EXIT_USAGE = 255;
/** iproute2's `return -1` from a command handler (ip.c turns it into 1). */
export const EXIT_FAILURE = 1;

// ---- lib/utils.c helpers -------------------------------------------------------------------------

/** `invarg(msg, arg)`. Note that some iproute2 messages end in `\n`, which makes a blank line. */
export function invalidArgument(message: string, arg: string): UsageError {
  return new UsageError('invarg', `Error: argument "${arg}" is wrong: ${message}`, EXIT_USAGE);
}

/** `duparg2(key, arg)`, in iproute2 6.1's wording. */
export function duplicateArgument(key: string, arg: string): UsageError {
  return new UsageError('duparg', `Error: either "${key}" is duplicate, or "${arg}" is a garbage.`, EXIT_USAGE);
}

/** `duparg(key, arg)`: a keyword given twice. */
export function duplicateValue(key: string, arg: string): UsageError {
  return new UsageError('duparg', `Error: duplicate "${key}": "${arg}" is the second value.`, EXIT_USAGE);
}

/** `incomplete_command()`, thrown by `NEXT_ARG()` at the end of the line. */
export function incompleteCommand(): UsageError {
  return new UsageError('incomplete', 'Command line is not complete. Try option "help"', EXIT_USAGE);
}

/** `get_addr32()` on something that is not an IPv4 address. */
export function addressExpected(arg: string): UsageError {
  return new UsageError('address', `Error: an IP address is expected rather than "${arg}"`, EXIT_FAILURE);
}

/** `get_prefix()` on something that is not a prefix of the family. */
export function prefixExpected(family: 'inet' | 'inet6', arg: string): UsageError {
  return new UsageError('address', `Error: ${family} prefix is expected rather than "${arg}".`, EXIT_FAILURE);
}

/** `nodev()`. */
export function cannotFindDevice(dev: string): UsageError {
  return new UsageError('invalid', `Cannot find device "${dev}"`, EXIT_FAILURE);
}

// ---- ip.c -----------------------------------------------------------------------------------------

export function unknownOption(option: string): UsageError {
  return new UsageError('unknown', `Option "${option}" is unknown, try "${PROGRAM} -help".`, EXIT_USAGE);
}

export function unknownObject(object: string): UsageError {
  return new UsageError('unknown', `Object "${object}" is unknown, try "${PROGRAM} help".`, EXIT_FAILURE);
}

export function invalidRcvbuf(arg: string): UsageError {
  return new UsageError('invarg', `Invalid rcvbuf size '${arg}'`, EXIT_USAGE);
}

/** `ip -f X`: the families iproute2 knows but `ip tunnel` refuses (AF_PACKET 17, AF_MPLS 28, AF_BRIDGE 7). */
export function unsupportedFamily(family: number): UsageError {
  return new UsageError('unknown', `Unsupported protocol family: ${family}`, EXIT_USAGE);
}

export function usage(text: string): UsageError {
  return new UsageError('usage', text, EXIT_USAGE);
}

export const MAIN_USAGE = [
  `Usage: ${PROGRAM} [ OPTIONS ] OBJECT { COMMAND | help }`,
  `       ${PROGRAM} [ -force ] -batch filename`,
  `where  OBJECT := { tunnel | link | fdb | xfrm | daemon | lab }`,
  `       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] | -j[son] | -p[retty] |`,
  `                    -o[neline] | -f[amily] { inet | inet6 } | -4 | -6 | -b[atch] [filename] |`,
  `                    -force | -help }`,
].join('\n');

// ---- ip tunnel (ip/iptunnel.c, ip/tunnel.c) ---------------------------------------------------------

/** `ip tunnel help`, as iproute2 6.1 prints it, with the program name. */
export const TUNNEL_USAGE = [
  `Usage: ${PROGRAM} tunnel { add | change | del | show | prl | 6rd } [ NAME ]`,
  `        [ mode { gre | ipip | isatap | sit | vti } ]`,
  `        [ remote ADDR ] [ local ADDR ]`,
  `        [ [i|o]seq ] [ [i|o]key KEY ] [ [i|o]csum ]`,
  `        [ prl-default ADDR ] [ prl-nodefault ADDR ] [ prl-delete ADDR ]`,
  `        [ 6rd-prefix ADDR ] [ 6rd-relay_prefix ADDR ] [ 6rd-reset ]`,
  `        [ ttl TTL ] [ tos TOS ] [ [no]pmtudisc ] [ dev PHYS_DEV ]`,
  ``,
  `Where: NAME := STRING`,
  `       ADDR := { IP_ADDRESS | any }`,
  `       TOS  := { STRING | 00..ff | inherit | inherit/STRING | inherit/00..ff }`,
  `       TTL  := { 1..255 | inherit }`,
  `       KEY  := { DOTTED_QUAD | NUMBER }`,
].join('\n');

export function unknownCommand(command: string, object: string): UsageError {
  return new UsageError('unknown', `Command "${command}" is unknown, try "${PROGRAM} ${object} help"`, EXIT_USAGE);
}

export function unknownTunnelMode(mode: string): UsageError {
  return new UsageError('unknown', `Unknown tunnel mode "${mode}"`, EXIT_USAGE);
}

export function moreThanOneMode(): UsageError {
  return new UsageError('invalid', 'You managed to ask for more than one tunnel mode.', EXIT_USAGE);
}

/** `tnl_parse_key()`. */
export function invalidKey(keyword: string, arg: string): UsageError {
  return new UsageError(
    'invarg',
    `invalid value for "${keyword}": "${arg}"; it should be an unsigned integer`,
    EXIT_USAGE,
  );
}

export function keysNotAllowed(): UsageError {
  return new UsageError('invalid', 'Keys are not allowed with ipip and sit tunnels', EXIT_FAILURE);
}

export function broadcastNeedsSource(): UsageError {
  return new UsageError('invalid', 'A broadcast tunnel requires a source address', EXIT_FAILURE);
}

export function ttlWithNopmtudisc(): UsageError {
  return new UsageError('invalid', 'ttl != 0 and nopmtudisc are incompatible', EXIT_FAILURE);
}

export function cannotDetermineMode(): UsageError {
  return new UsageError('invalid', 'cannot determine tunnel mode (ipip, gre, vti or sit)', EXIT_FAILURE);
}

export function invalidPrlParameter(arg: string): UsageError {
  return new UsageError('unknown', `Invalid PRL parameter "${arg}"`, EXIT_USAGE);
}

export function onePrlEntry(): UsageError {
  return new UsageError('invalid', 'One PRL entry at a time', EXIT_USAGE);
}

export function invalid6rdParameter(arg: string): UsageError {
  return new UsageError('unknown', `Invalid 6RD parameter "${arg}"`, EXIT_USAGE);
}

export function mustSpecifyDevice(): UsageError {
  return new UsageError('missarg', 'Must specify device', EXIT_USAGE);
}

/**
 * The kernel's refusal of a tunnel ioctl, as ip/tunnel.c prints it: `add tunnel "gre0" failed: File exists`.
 * `device` is the interface the ioctl went to: the fallback device (tunl0, gre0, sit0, ip_vti0) for
 * add, the named tunnel for change, get and delete by name.
 */
export function tunnelRefused(verb: 'add' | 'delete' | 'get', device: string, error: BurrowError): UsageError {
  return new UsageError('kernel', `${verb} tunnel "${device}" failed: ${error.strerror}`, EXIT_FAILURE);
}

/**
 * The kernel's refusal of a device-private tunnel ioctl (prl, 6rd), as ip/tunnel.c tnl_gen_ioctl
 * prints it: `is0: ioctl 89f5 failed: File exists`. `command` is the ioctl number (0 when the command
 * line named no operation, which the kernel refuses with ENOTTY).
 */
export function ioctlRefused(device: string, command: number, error: BurrowError): UsageError {
  return new UsageError('kernel', `${device}: ioctl ${command.toString(16)} failed: ${error.strerror}`, EXIT_FAILURE);
}

/** The daemon could not be reached (no iproute2 equivalent: its kernel is always there). */
export function daemonUnreachable(error: unknown): UsageError {
  const reason =
    error instanceof BurrowError
      ? error.detail === undefined
        ? error.strerror
        : `${error.strerror} (${error.detail})`
      : error instanceof Error
        ? error.message
        : String(error);
  return new UsageError('daemon', `Cannot talk to the ${PROGRAM} daemon: ${reason}`, EXIT_FAILURE);
}

/** A request burrow parses exactly as iproute2 does but cannot carry out yet. */
export function notImplemented(what: string): UsageError {
  return new UsageError('unsupported', `${PROGRAM}: ${what}`, EXIT_FAILURE);
}

/** `ip -6 tunnel` and the IPv6-outer modes that switch to it. */
export function ipv6TunnelsUnsupported(): UsageError {
  return new UsageError(
    'unsupported',
    `${PROGRAM}: IPv6-outer tunnels (ip -6 tunnel: ip6ip6, ipip6, ip6gre, vti6, any) are not supported; ` +
      'burrow tunnels are IPv4-outer: ipip, gre, sit, isatap and vti',
    EXIT_FAILURE,
  );
}

// ---- ip link (ip/iplink.c, ip/iplink_vxlan.c) ------------------------------------------------------

/** burrow's own `link help`: the part of `ip link`'s grammar burrow takes (see docs/cli-differences.md). */
export const LINK_USAGE = [
  `Usage: ${PROGRAM} link add [ name ] NAME`,
  `\t\t    [ txqueuelen PACKETS ]`,
  `\t\t    [ address LLADDR ]`,
  `\t\t    [ mtu MTU ]`,
  `\t\t    [ up ]`,
  `\t\t    type vxlan [ ARGS ]`,
  ``,
  `\t${PROGRAM} link delete { DEVICE | dev DEVICE } [ type vxlan ]`,
  ``,
  `\t${PROGRAM} link show [ [ dev ] DEVICE ] [ type vxlan ] [ up ]`,
  ``,
  `\t${PROGRAM} link help [ vxlan ]`,
  ``,
  `TYPE := { vxlan }`,
].join('\n');

/** `ip link add ... type vxlan help`, iproute2 6.1's text (printed after an unknown word, too). */
export const VXLAN_USAGE = [
  `Usage: ... vxlan id VNI`,
  `\t\t[ { group | remote } IP_ADDRESS ]`,
  `\t\t[ local ADDR ]`,
  `\t\t[ ttl TTL ]`,
  `\t\t[ tos TOS ]`,
  `\t\t[ df DF ]`,
  `\t\t[ flowlabel LABEL ]`,
  `\t\t[ dev PHYS_DEV ]`,
  `\t\t[ dstport PORT ]`,
  `\t\t[ srcport MIN MAX ]`,
  `\t\t[ [no]learning ]`,
  `\t\t[ [no]proxy ]`,
  `\t\t[ [no]rsc ]`,
  `\t\t[ [no]l2miss ]`,
  `\t\t[ [no]l3miss ]`,
  `\t\t[ ageing SECONDS ]`,
  `\t\t[ maxaddress NUMBER ]`,
  `\t\t[ [no]udpcsum ]`,
  `\t\t[ [no]udp6zerocsumtx ]`,
  `\t\t[ [no]udp6zerocsumrx ]`,
  `\t\t[ [no]remcsumtx ] [ [no]remcsumrx ]`,
  `\t\t[ [no]external ] [ gbp ] [ gpe ]`,
  `\t\t[ [no]vnifilter ]`,
  ``,
  `Where:\tVNI\t:= 0-16777215`,
  `\tADDR\t:= { IP_ADDRESS | any }`,
  `\tTOS\t:= { NUMBER | inherit }`,
  `\tTTL\t:= { 1..255 | auto | inherit }`,
  `\tDF\t:= { unset | set | inherit }`,
  `\tLABEL := 0-1048575`,
].join('\n');

/** A message iproute2 prints with fprintf and then fails with `return -1` (exit 1). */
export function failure(message: string): UsageError {
  return new UsageError('invalid', message, EXIT_FAILURE);
}

/** A message iproute2 prints and then `exit(-1)`s (exit 255). */
export function fatal(message: string): UsageError {
  return new UsageError('invalid', message, EXIT_USAGE);
}

/** `get_addr()` of a family: `Error: inet address is expected rather than "X".` (exit 1). */
export function familyAddressExpected(family: 'inet' | 'inet6' | 'any valid', arg: string): UsageError {
  return new UsageError('address', `Error: ${family} address is expected rather than "${arg}".`, EXIT_FAILURE);
}

/** rtnl_talk's report of a refusal: the extended ack (`Error: TEXT.`) or `RTNETLINK answers: strerror`. */
export function netlinkRefused(error: BurrowError, exitCode: number): UsageError {
  const text = error.extack !== undefined ? `Error: ${error.extack}.` : `RTNETLINK answers: ${error.strerror}`;
  return new UsageError('kernel', text, exitCode);
}

/** `ip link`'s exit status for a netlink refusal (iplink_modify returns -2). */
export const EXIT_NETLINK = 2;

// ---- bridge fdb (bridge/fdb.c) ---------------------------------------------------------------------

/** `bridge fdb help`, iproute2 6.1's text. */
export const FDB_USAGE = [
  `Usage: ${PROGRAM} fdb { add | append | del | replace } ADDR dev DEV`,
  `              [ self ] [ master ] [ use ] [ router ] [ extern_learn ]`,
  `              [ sticky ] [ local | static | dynamic ] [ vlan VID ]`,
  `              { [ dst IPADDR ] [ port PORT] [ vni VNI ] | [ nhid NHID ] }`,
  `\t       [ via DEV ] [ src_vni VNI ]`,
  `       ${PROGRAM} fdb [ show [ br BRDEV ] [ brport DEV ] [ vlan VID ]`,
  `              [ state STATE ] [ dynamic ] ]`,
  `       ${PROGRAM} fdb get [ to ] LLADDR [ br BRDEV ] { brport | dev } DEV`,
  `              [ vlan VID ] [ vni VNI ] [ self ] [ master ] [ dynamic ]`,
  `       ${PROGRAM} fdb flush dev DEV [ brport DEV ] [ vlan VID ]`,
  `              [ self ] [ master ] [ [no]permanent | [no]static | [no]dynamic ]`,
  `              [ [no]added_by_user ] [ [no]extern_learn ] [ [no]sticky ]`,
  `              [ [no]offloaded ]`,
].join('\n');
// ---- ip xfrm (ip/ipxfrm.c, ip/xfrm_state.c, ip/xfrm_policy.c) -----------------------------------------

/** `missarg()`. */
export function missingArgument(name: string): UsageError {
  return new UsageError('missarg', `Error: argument "${name}" is required`, EXIT_USAGE);
}

/** A message iproute2 prints with fprintf before `exit(status)`. */
export function plainError(text: string, exitCode: number): UsageError {
  return new UsageError('invalid', text, exitCode);
}

/** `get_prefix()` / `get_addr()` with no family preferred. */
export function anyExpected(what: 'prefix' | 'address', arg: string): UsageError {
  return new UsageError('address', `Error: any valid ${what} is expected rather than "${arg}".`, EXIT_FAILURE);
}

export const XFRM_USAGE = [`Usage: ${PROGRAM} xfrm XFRM-OBJECT { COMMAND | help }`, 'where  XFRM-OBJECT := state | policy | monitor'].join('\n');

export const XFRM_MONITOR_USAGE = [
  `Usage: ${PROGRAM} xfrm monitor [ nokeys ] [ all-nsid ] [ all | OBJECTS | help ]`,
  'OBJECTS := { acquire | expire | SA | aevent | policy | report }',
].join('\n');

const SELECTOR_USAGE = [
  'SELECTOR := [ src ADDR[/PLEN] ] [ dst ADDR[/PLEN] ] [ dev DEV ] [ UPSPEC ]',
  'UPSPEC := proto { { tcp | udp | sctp | dccp } [ sport PORT ] [ dport PORT ] |',
  '                  { icmp | ipv6-icmp | mobility-header } [ type NUMBER ] [ code NUMBER ] |',
  '                  gre [ key { DOTTED-QUAD | NUMBER } ] | PROTO }',
];

const LIMIT_USAGE = [
  'LIMIT-LIST := [ LIMIT-LIST ] limit LIMIT',
  'LIMIT := { time-soft | time-hard | time-use-soft | time-use-hard } SECONDS |',
  '         { byte-soft | byte-hard } SIZE | { packet-soft | packet-hard } COUNT',
];

/** `ip xfrm state help`, as iproute2 6.1 prints it, with the program name. */
export const XFRM_STATE_USAGE = [
  `Usage: ${PROGRAM} xfrm state { add | update } ID [ ALGO-LIST ] [ mode MODE ]`,
  '        [ mark MARK [ mask MASK ] ] [ reqid REQID ] [ seq SEQ ]',
  '        [ replay-window SIZE ] [ replay-seq SEQ ] [ replay-oseq SEQ ]',
  '        [ replay-seq-hi SEQ ] [ replay-oseq-hi SEQ ]',
  '        [ flag FLAG-LIST ] [ sel SELECTOR ] [ LIMIT-LIST ] [ encap ENCAP ]',
  '        [ coa ADDR[/PLEN] ] [ ctx CTX ] [ extra-flag EXTRA-FLAG-LIST ]',
  '        [ offload [dev DEV] dir DIR ]',
  '        [ output-mark OUTPUT-MARK [ mask MASK ] ]',
  '        [ if_id IF_ID ] [ tfcpad LENGTH ]',
  `Usage: ${PROGRAM} xfrm state allocspi ID [ mode MODE ] [ mark MARK [ mask MASK ] ]`,
  '        [ reqid REQID ] [ seq SEQ ] [ min SPI max SPI ]',
  `Usage: ${PROGRAM} xfrm state { delete | get } ID [ mark MARK [ mask MASK ] ]`,
  `Usage: ${PROGRAM} xfrm state deleteall [ ID ] [ mode MODE ] [ reqid REQID ]`,
  '        [ flag FLAG-LIST ]',
  `Usage: ${PROGRAM} xfrm state list [ nokeys ] [ ID ] [ mode MODE ] [ reqid REQID ]`,
  '        [ flag FLAG-LIST ]',
  `Usage: ${PROGRAM} xfrm state flush [ proto XFRM-PROTO ]`,
  `Usage: ${PROGRAM} xfrm state count`,
  'ID := [ src ADDR ] [ dst ADDR ] [ proto XFRM-PROTO ] [ spi SPI ]',
  'XFRM-PROTO := esp | ah | comp | route2 | hao',
  'ALGO-LIST := [ ALGO-LIST ] ALGO',
  'ALGO := { enc | auth } ALGO-NAME ALGO-KEYMAT |',
  '        auth-trunc ALGO-NAME ALGO-KEYMAT ALGO-TRUNC-LEN |',
  '        aead ALGO-NAME ALGO-KEYMAT ALGO-ICV-LEN |',
  '        comp ALGO-NAME',
  'MODE := transport | tunnel | beet | ro | in_trigger',
  'FLAG-LIST := [ FLAG-LIST ] FLAG',
  'FLAG := noecn | decap-dscp | nopmtudisc | wildrecv | icmp | af-unspec | align4 | esn',
  'EXTRA-FLAG-LIST := [ EXTRA-FLAG-LIST ] EXTRA-FLAG',
  'EXTRA-FLAG := dont-encap-dscp | oseq-may-wrap',
  ...SELECTOR_USAGE,
  ...LIMIT_USAGE,
  'ENCAP := { espinudp | espinudp-nonike | espintcp } SPORT DPORT OADDR',
  'DIR := in | out',
].join('\n');

/** `ip xfrm policy help`, as iproute2 6.1 prints it, with the program name. */
export const XFRM_POLICY_USAGE = [
  `Usage: ${PROGRAM} xfrm policy { add | update } SELECTOR dir DIR [ ctx CTX ]`,
  '\t[ mark MARK [ mask MASK ] ] [ index INDEX ] [ ptype PTYPE ]',
  '\t[ action ACTION ] [ priority PRIORITY ] [ flag FLAG-LIST ]',
  '\t[ if_id IF_ID ] [ LIMIT-LIST ] [ TMPL-LIST ]',
  `Usage: ${PROGRAM} xfrm policy { delete | get } { SELECTOR | index INDEX } dir DIR`,
  '\t[ ctx CTX ] [ mark MARK [ mask MASK ] ] [ ptype PTYPE ]',
  '\t[ if_id IF_ID ]',
  `Usage: ${PROGRAM} xfrm policy { deleteall | list } [ nosock ] [ SELECTOR ] [ dir DIR ]`,
  '\t[ index INDEX ] [ ptype PTYPE ] [ action ACTION ] [ priority PRIORITY ]',
  '\t[ flag FLAG-LIST ]',
  `Usage: ${PROGRAM} xfrm policy flush [ ptype PTYPE ]`,
  `Usage: ${PROGRAM} xfrm policy count`,
  `Usage: ${PROGRAM} xfrm policy set [ hthresh4 LBITS RBITS ] [ hthresh6 LBITS RBITS ]`,
  `Usage: ${PROGRAM} xfrm policy setdefault DIR ACTION [ DIR ACTION ] [ DIR ACTION ]`,
  `Usage: ${PROGRAM} xfrm policy getdefault`,
  ...SELECTOR_USAGE,
  'DIR := in | out | fwd',
  'PTYPE := main | sub',
  'ACTION := allow | block',
  'FLAG-LIST := [ FLAG-LIST ] FLAG',
  'FLAG := localok | icmp',
  ...LIMIT_USAGE,
  'TMPL-LIST := [ TMPL-LIST ] tmpl TMPL',
  'TMPL := ID [ mode MODE ] [ reqid REQID ] [ level LEVEL ]',
  'ID := [ src ADDR ] [ dst ADDR ] [ proto XFRM-PROTO ] [ spi SPI ]',
  'XFRM-PROTO := esp | ah | comp | route2 | hao',
  'MODE := transport | tunnel | beet | ro | in_trigger',
  'LEVEL := required | use',
].join('\n');

/**
 * The daemon refused an xfrm request: what iproute2 prints for the kernel's answer (`Error: TEXT.` with
 * an extended ack, `RTNETLINK answers: STRERROR` without, exit 2), or burrow's message for a valid
 * configuration it does not implement (exit 1).
 */
export function xfrmRefused(kind: 'extack' | 'errno' | 'unsupported', text: string): UsageError {
  if (kind === 'unsupported') return new UsageError('unsupported', `${PROGRAM}: ${text}`, EXIT_FAILURE);
  return new UsageError('kernel', kind === 'extack' ? `Error: ${text}.` : `RTNETLINK answers: ${text}`, 2);
}
