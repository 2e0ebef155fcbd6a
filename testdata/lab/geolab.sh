#!/usr/bin/env bash
# A two-site lab for the georedundancy walkthrough (README), on this
# machine (root). Each site has a gateway namespace <prefix>_fabric holding
# the site's underlay bridge br0 and a WAN link wan0, and one host on that
# bridge; the gateways' WAN links are a veth pair. The sites' underlays
# meet only when a connection's tunnel joins them.
#
#   site dc-b: prefix nrb-, gateway nrb-_fabric (wan0 198.51.100.1/24),
#              host nrb-host-b1 (192.0.2.1)
#   site dc-d: prefix nrd-, gateway nrd-_fabric (wan0 198.51.100.2/24),
#              host nrd-host-d1 (192.0.2.2)
#
#   geolab.sh up                                  create both sites
#   geolab.sh guest SITE HOST ALIAS ADDR/LEN NAME  move the port ALIAS
#                                                 ("tenant/vpn/interface") of
#                                                 HOST into namespace
#                                                 <prefix>_vm-NAME
#   geolab.sh down                                remove everything named
#                                                 nrb-* and nrd-*
set -euo pipefail

declare -A prefix=([dc-b]=nrb- [dc-d]=nrd-)
declare -A host=([dc-b]=host-b1 [dc-d]=host-d1)
declare -A hostaddr=([dc-b]=192.0.2.1 [dc-d]=192.0.2.2)
declare -A gwaddr=([dc-b]=198.51.100.1 [dc-d]=198.51.100.2)
declare -A other=([dc-b]=dc-d [dc-d]=dc-b)

up() {
	for s in dc-b dc-d; do
		local gw=${prefix[$s]}_fabric h=${prefix[$s]}${host[$s]}
		ip netns add "$gw"
		ip -n "$gw" link set lo up
		ip -n "$gw" link add br0 type bridge
		ip -n "$gw" link set br0 up
		ip netns add "$h"
		ip -n "$h" link set lo up
		ip link add ul0 netns "$h" type veth peer name u0 netns "$gw"
		ip -n "$gw" link set u0 master br0 up
		ip -n "$h" addr add "${hostaddr[$s]}/32" dev ul0
		ip -n "$h" link set ul0 up
		# The other site's host is on the underlay once a tunnel joins them.
		ip -n "$h" route add "${hostaddr[${other[$s]}]}/32" dev ul0
	done
	# The WAN carries the sites' 1500-byte underlay frames in VXLAN: its
	# MTU leaves room for the 50 bytes of encapsulation.
	ip link add wan0 netns nrb-_fabric type veth peer name wan0 netns nrd-_fabric
	for s in dc-b dc-d; do
		ip -n "${prefix[$s]}_fabric" addr add "${gwaddr[$s]}/24" dev wan0
		ip -n "${prefix[$s]}_fabric" link set wan0 mtu 1600 up
	done
	echo "sites up: dc-b (gateway nrb-_fabric, host nrb-host-b1), dc-d (gateway nrd-_fabric, host nrd-host-d1)"
}

guest() {
	local site=$1 h=$2 alias=$3 addr=$4 name=$5
	local p=${prefix[$site]:?unknown site $site (dc-b or dc-d)}
	local ns=${p}_vm-$name link
	link=$(ip -n "$p$h" -o link show | awk -v a="$alias" '$0 ~ "alias " a "$" {sub(/@.*/, "", $2); sub(/:$/, "", $2); print $2}')
	[ -n "$link" ] || { echo "no port with alias $alias on $h (is the binding configured?)" >&2; exit 1; }
	ip netns add "$ns"
	ip -n "$p$h" link set "$link" netns "$ns"
	ip -n "$ns" link set "$link" name eth0
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$addr" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default dev eth0
	echo "guest $ns: eth0 $addr (port $alias on $h at $site)"
}

down() {
	# ip netns list complains ("Peer netns reference is invalid") about a
	# namespace still being torn down, e.g. one the driver just removed.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(nrb|nrd)-' || true); do
		ip netns del "$ns"
	done
}

case "${1:-}" in
up) up ;;
guest) shift; [ $# -eq 5 ] || { echo "usage: geolab.sh guest SITE HOST ALIAS ADDR/LEN NAME" >&2; exit 2; }; guest "$@" ;;
down) down ;;
*) echo "usage: geolab.sh up | guest SITE HOST ALIAS ADDR/LEN NAME | down" >&2; exit 2 ;;
esac
