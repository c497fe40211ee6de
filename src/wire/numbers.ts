/**
 * Assigned numbers burrow's codecs and tunnel modes use: IP protocol numbers (IANA "Assigned Internet
 * Protocol Numbers"), EtherTypes (IEEE 802 / IANA), and the ICMP and ICMPv6 types and codes that a
 * tunnel sends or reads (RFC 792, RFC 1191, RFC 4443). Plain `const`s so they inline on the hot path.
 */

// IP protocol numbers (IPv4 protocol field, IPv6 next header).
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

// EtherTypes (Ethernet type field, GRE protocol type).
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
/** IEEE 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Transparent Ethernet Bridging: what gretap carries. */
export const ETHERTYPE_TEB = 0x6558;
export const ETHERTYPE_MPLS = 0x8847;
/** Web Cache Communication Protocol; the kernel's GRE receive treats it as IPv4 (gre_parse_header). */
export const ETHERTYPE_WCCP = 0x883e;

// ICMP (IPv4) types and codes.
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
/** Destination unreachable codes (RFC 792; 4 from RFC 1191). */
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
/** Time exceeded codes. */
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;

// ICMPv6 types and codes (RFC 4443).
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAM_PROB = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
/** Destination unreachable codes. */
export const ICMPV6_NOROUTE = 0;
export const ICMPV6_ADM_PROHIBITED = 1;
export const ICMPV6_ADDR_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
/** Time exceeded codes. */
export const ICMPV6_EXC_HOPLIMIT = 0;
export const ICMPV6_EXC_FRAGTIME = 1;

/** Linux's default VXLAN UDP port (the kernel's, not IANA's) and IANA's (RFC 7348). */
export const VXLAN_PORT_LINUX = 8472;
export const VXLAN_PORT_IANA = 4789;
