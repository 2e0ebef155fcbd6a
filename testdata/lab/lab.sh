#!/usr/bin/env bash
# A two-host lab for the linux-vforwarder backends of the scenarios, on this
# machine (root): host namespaces nr-host-a (192.0.2.1) and nr-host-b
# (192.0.2.2) joined by an underlay bridge in nr-_fabric, and guests
# (namespaces standing for VMs) that take the ports the driver creates.
#
#   lab.sh up                               create the hosts
#   lab.sh guest HOST ALIAS ADDR/LEN NAME   move the port ALIAS
#                                           ("tenant/vpn/interface") of HOST
#                                           into namespace nr-_vm-NAME
#   lab.sh down                             remove everything named nr-*
#                                           (hosts, guests, the driver's VRFs)
set -euo pipefail

prefix=nr-
fabric=${prefix}_fabric
declare -A hosts=([host-a]=192.0.2.1 [host-b]=192.0.2.2)

up() {
	ip netns add "$fabric"
	ip -n "$fabric" link add br0 type bridge
	ip -n "$fabric" link set br0 up
	for h in "${!hosts[@]}"; do
		ns=$prefix$h
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip link add ul0 netns "$ns" type veth peer name "$h" netns "$fabric"
		ip -n "$fabric" link set "$h" master br0 up
		ip -n "$ns" addr add "${hosts[$h]}/24" dev ul0
		ip -n "$ns" link set ul0 up
	done
	echo "hosts up: ${!hosts[*]} (namespaces ${prefix}host-a, ${prefix}host-b)"
}

guest() {
	local host=$1 alias=$2 addr=$3 name=$4
	local ns=${prefix}_vm-$name link
	link=$(ip -n "$prefix$host" -o link show | awk -v a="$alias" '$0 ~ "alias " a "$" {sub(/@.*/, "", $2); sub(/:$/, "", $2); print $2}')
	[ -n "$link" ] || { echo "no port with alias $alias on $host (is the binding configured?)" >&2; exit 1; }
	ip netns add "$ns"
	ip -n "$prefix$host" link set "$link" netns "$ns"
	ip -n "$ns" link set "$link" name eth0
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$addr" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default dev eth0
	echo "guest $ns: eth0 $addr (port $alias on $host); try: ip netns exec $ns ping ..."
}

down() {
	# ip netns list complains ("Peer netns reference is invalid") about a
	# namespace still being torn down, e.g. one the driver just removed.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix" || true); do
		ip netns del "$ns"
	done
}

case "${1:-}" in
up) up ;;
guest) shift; [ $# -eq 4 ] || { echo "usage: lab.sh guest HOST ALIAS ADDR/LEN NAME" >&2; exit 2; }; guest "$@" ;;
down) down ;;
*) echo "usage: lab.sh up | guest HOST ALIAS ADDR/LEN NAME | down" >&2; exit 2 ;;
esac
