// Package ebpffwd is the "ebpf-vforwarder" southbound driver: a second,
// independent forwarder ("vendor B") that realizes the VRFs, ports and
// routes southbound/routing computes with eBPF programs on the hosts'
// devices instead of the kernel's routing tables. It interoperates on the
// wire with linux-vforwarder (southbound/linuxfwd): one VPN, or one L2
// network (southbound/l2), may span hosts of both. It needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF) and
// uses netlink and the BPF syscall only: it runs no commands.
//
// # Hosts
//
// A host is an existing network namespace <prefix><host> (option
// netns-prefix, "nr-" by default), as for linux-vforwarder. In it the
// driver creates, changes and deletes only links named <prefix>vx (the
// tunnel device), <prefix>vl (the L2 tunnel device), <prefix>e<n> and
// <prefix>n<n> (vNIC n's veth ends).
// Its maps are pinned in <bpffs>/netready/<prefix><host> (option bpffs,
// /sys/fs/bpf by default, mounted when it is not a BPF filesystem yet),
// and its programs are attached with BPF_PROG_ATTACH to TCX ingress: the
// data plane outlives the driver, and a restarted driver reads it back.
//
// # Objects
//
//   - A vNIC (the tenant's Port.VNIC, or the interface itself when that is
//     empty) is a veth pair: the host end <prefix>e<n> runs from_vnic,
//     the guest end <prefix>n<n> (MTU 1450) is left for the guest to
//     take, with alias GuestAlias. One vNIC (VNICKey) carries every
//     service bound to one of its VLANs (Port.VLAN; 0 is untagged).
//   - A port (binding) is an entry in the bindings map ((host-end
//     ifindex, VLAN) → label) and in the ports map (label → VRF label,
//     vNIC, VLAN, MACs), with a per-CPU counters entry and a names entry
//     (label → interface and VRF, read only by the driver).
//   - A VRF is its label and a names entry (label → VRF ID); its routes
//     are entries of one LPM trie keyed by (VRF label, IPv4 prefix),
//     holding the route's active hops: a label, and the underlay of the
//     hop's host when it is not this one.
//   - <prefix>vx is a collect-metadata (external) VXLAN device on UDP
//     4789 running from_tunnel; it exists while the host has a VRF.
//   - An L2 port is a (vNIC, VLAN) in the l2_bindings map (→ VNI); a
//     segment (an L2 network on this host) is its VNI's entry in the
//     segments map (its local ports and remote hosts), and <prefix>vl, a
//     collect-metadata VXLAN device on UDP 8472 running from_l2_tunnel,
//     exists while the host has a segment. L2 and L3 ports share vNICs.
//
// # L2 forwarding (l2.h)
//
// A frame on a (vNIC, VLAN) no L3 binding claims goes to its segment:
// tag popped, source MAC learnt (fdb, overwritten when seen elsewhere,
// ignored after 300 s), a fresh known destination switched to its port
// or tunnelled to its host (VNI = the segment's), anything else flooded
// with bpf_clone_redirect to the segment's other local ports and, from a
// vNIC, to its remote hosts: at most MaxL2Ports and MaxL2Remotes copies.
// ARP on L2 ports is flooded, never answered by the program.
//
// # Forwarding
//
// from_vnic finds the binding by (ifindex, VLAN), answers ARP for any
// address the VRF routes (as proxy ARP does), looks the destination up in
// the VRF, decrements the TTL and picks a hop (ECMP by the flow hash).
// A hop on this host is delivered straight to its port (MACs rewritten,
// the port's tag pushed, redirected to the vNIC); another host's is
// tunnelled with VNI = the hop's label and inner destination MAC
// LabelMAC(label), which is what linux-vforwarder sends and expects; a
// route learnt from a BGP peer (routing.HopLearnt) is tunnelled the same
// way to its next hop, with the route's label as VNI.
// from_tunnel delivers by VNI alone, without a second lookup, so
// hub-and-spoke traffic reaches the hub. Nothing reaches the host
// namespace's own stack.
//
// # Liveness
//
// The driver is a southbound.Prober (probe.go): a vNIC without carrier
// is dead at once; per bound IPv4 address it sends an ARP request to the
// guest from an AF_PACKET socket on the vNIC's host end every call, and
// reads the reply from the same socket, whose tap sees it before
// from_vnic drops it. Two requests in a row unanswered, the first at
// least a second old: dead. The data plane is not changed for it.
//
// # Limits
//
// IPv4 only (routes for IPv6 prefixes fail with an error); at most 16
// active hops per route; no ICMP errors (a packet whose TTL runs out is
// dropped); frames are delivered to the MAC the driver gave the guest end
// (the host end's with the last bit flipped, so it is known again after a
// restart): a guest that changes its MAC receives nothing. The BPF object is built for
// little-endian machines (bpf2go -target bpfel). Counters are those of
// the ports the driver knows: after a restart, the ports it read back or
// was given by Reconcile.
package ebpffwd
