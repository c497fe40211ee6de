#!/usr/bin/env bash
# The two-namespace lab of bench/NOTES-issue5.md: bwlab-dbg-a 192.168.90.1 <-veth-> bwlab-dbg-b 192.168.90.2,
# burrow ipip bip0 10.92.0.1/2 on top (root). Usage: bench/lab-pair.sh up|down
B=$(cd "$(dirname "$0")/.." && pwd)/bin/burrow
if [ "$1" = up ]; then
  ip netns add bwlab-dbg-a; ip netns add bwlab-dbg-b
  ip link add dbga type veth peer name dbgb
  ip link set dbga netns bwlab-dbg-a name eth0; ip link set dbgb netns bwlab-dbg-b name eth0
  ip -n bwlab-dbg-a addr add 192.168.90.1/24 dev eth0; ip -n bwlab-dbg-b addr add 192.168.90.2/24 dev eth0
  ip -n bwlab-dbg-a link set eth0 up; ip -n bwlab-dbg-b link set eth0 up
  ip -n bwlab-dbg-a link set lo up; ip -n bwlab-dbg-b link set lo up
  ip netns exec bwlab-dbg-a $B tunnel add bip0 mode ipip remote 192.168.90.2 local 192.168.90.1 ttl 64
  ip netns exec bwlab-dbg-b $B tunnel add bip0 mode ipip remote 192.168.90.1 local 192.168.90.2 ttl 64
  ip -n bwlab-dbg-a addr add 10.92.0.1/24 dev bip0; ip -n bwlab-dbg-a link set bip0 up
  ip -n bwlab-dbg-b addr add 10.92.0.2/24 dev bip0; ip -n bwlab-dbg-b link set bip0 up
else
  for n in a b; do ip netns exec bwlab-dbg-$n $B daemon stop 2>/dev/null; done
  ip netns del bwlab-dbg-a 2>/dev/null; ip netns del bwlab-dbg-b 2>/dev/null
fi
