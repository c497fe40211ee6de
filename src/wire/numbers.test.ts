import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as n from './numbers.js';

// Hand-typed constants are tested against a second, independent copy (STYLE.md section 7). These tables
// were checked against this machine's /etc/protocols (netbase), /usr/include/linux/if_ether.h,
// /usr/include/netinet/ip_icmp.h and /usr/include/linux/icmpv6.h.

test('numbers: IP protocol numbers (/etc/protocols)', () => {
  assert.deepEqual(
    [n.IPPROTO_HOPOPTS, n.IPPROTO_ICMP, n.IPPROTO_IPIP, n.IPPROTO_TCP, n.IPPROTO_UDP, n.IPPROTO_IPV6, n.IPPROTO_ROUTING, n.IPPROTO_FRAGMENT,
      n.IPPROTO_GRE, n.IPPROTO_ESP, n.IPPROTO_AH, n.IPPROTO_ICMPV6, n.IPPROTO_NONE, n.IPPROTO_DSTOPTS],
    [0, 1, 4, 6, 17, 41, 43, 44, 47, 50, 51, 58, 59, 60],
  );
});

test('numbers: EtherTypes (linux/if_ether.h ETH_P_*)', () => {
  assert.deepEqual(
    [n.ETHERTYPE_IPV4, n.ETHERTYPE_ARP, n.ETHERTYPE_VLAN, n.ETHERTYPE_IPV6, n.ETHERTYPE_TEB, n.ETHERTYPE_MPLS, n.ETHERTYPE_WCCP],
    [0x0800, 0x0806, 0x8100, 0x86dd, 0x6558, 0x8847, 0x883e],
  );
});

test('numbers: ICMP and ICMPv6 types and codes (netinet/ip_icmp.h, linux/icmpv6.h)', () => {
  assert.deepEqual(
    [n.ICMP_ECHO_REPLY, n.ICMP_DEST_UNREACH, n.ICMP_ECHO_REQUEST, n.ICMP_TIME_EXCEEDED],
    [0, 3, 8, 11],
  );
  assert.deepEqual(
    [n.ICMP_NET_UNREACH, n.ICMP_HOST_UNREACH, n.ICMP_PROT_UNREACH, n.ICMP_PORT_UNREACH, n.ICMP_FRAG_NEEDED, n.ICMP_EXC_TTL, n.ICMP_EXC_FRAGTIME],
    [0, 1, 2, 3, 4, 0, 1],
  );
  assert.deepEqual(
    [n.ICMPV6_DEST_UNREACH, n.ICMPV6_PACKET_TOO_BIG, n.ICMPV6_TIME_EXCEEDED, n.ICMPV6_PARAM_PROB, n.ICMPV6_ECHO_REQUEST, n.ICMPV6_ECHO_REPLY],
    [1, 2, 3, 4, 128, 129],
  );
  assert.deepEqual(
    [n.ICMPV6_NOROUTE, n.ICMPV6_ADM_PROHIBITED, n.ICMPV6_ADDR_UNREACH, n.ICMPV6_PORT_UNREACH, n.ICMPV6_EXC_HOPLIMIT, n.ICMPV6_EXC_FRAGTIME],
    [0, 1, 3, 4, 0, 1],
  );
});

test('numbers: VXLAN ports (Linux default and IANA, ip-tunnel spec 3.11)', () => {
  assert.equal(n.VXLAN_PORT_LINUX, 8472);
  assert.equal(n.VXLAN_PORT_IANA, 4789);
});
