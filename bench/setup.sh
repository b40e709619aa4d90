#!/bin/sh
# What the benchmarks need beyond `make test`: iperf3 (Debian's apt) as the packet generator and sink
# of the nftables data-path bench. Idempotent: does nothing when iperf3 is already there.
set -eu
command -v iperf3 >/dev/null 2>&1 && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends iperf3 >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends iperf3 >/dev/null
}
