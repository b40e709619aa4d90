#!/bin/sh
# What the benchmarks need beyond `make test`, from Debian's apt: iperf3, the packet generator and sink of the
# data-path bench, and iptables, whose iptables-nft-restore loads the mwan3-style ruleset it compares with.
# Idempotent: does nothing when both are already there.
set -eu
command -v iperf3 >/dev/null 2>&1 && command -v iptables-nft-restore >/dev/null 2>&1 && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends iperf3 iptables >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends iperf3 iptables >/dev/null
}
