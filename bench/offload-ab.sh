#!/usr/bin/env bash
# A/B of the offloads on the lab of bench/lab-pair.sh: for each MODE, both daemons restarted with
# BURROW_OFFLOAD=MODE, then iperf3 for SECONDS to $TARGET (default 10.92.0.2, ipip). Usage:
#   bench/offload-ab.sh SECONDS MODE...   e.g. bench/offload-ab.sh 4 off on -gro -tso off on -gro -tso
B=$(cd "$(dirname "$0")/.." && pwd)/bin/burrow
T=$1; shift
for m in "$@"; do
  for n in a b; do ip netns exec bwlab-dbg-$n $B daemon stop >/dev/null 2>&1; done
  for n in a b; do BURROW_OFFLOAD=$m ip netns exec bwlab-dbg-$n $B tunnel show >/dev/null; done
  ip netns exec bwlab-dbg-a ping -c 2 -i 0.2 -W 1 ${TARGET:-10.92.0.2} >/dev/null
  ip netns exec bwlab-dbg-b iperf3 -s -D -1 >/dev/null; sleep 0.3
  r=$(ip netns exec bwlab-dbg-a iperf3 -c ${TARGET:-10.92.0.2} -t $T -J | python3 -c "import json,sys; d=json.load(sys.stdin); print(round(d['end']['sum_received']['bits_per_second']/1e9,2), d['end']['sum_sent']['retransmits'])")
  echo "$m: $r Gbit/s retr"
done
