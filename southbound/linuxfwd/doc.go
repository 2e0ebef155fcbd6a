// Package linuxfwd is the "linux-vforwarder" southbound driver: it realizes
// the VRFs, ports and routes that southbound/routing computes in the Linux
// kernel of the machine it runs on, with network namespaces, veth pairs and
// VXLAN devices, so that the L3VPN data plane can be exercised with real
// packets on one machine (see the lab subpackage). It needs root (or
// CAP_SYS_ADMIN and CAP_NET_ADMIN).
//
// # Hosts
//
// A host served by the backend is an existing network namespace named
// <prefix><host> (the netns-prefix option, "nr-" by default), standing for
// the physical host: its underlay address (routing.HostView.Addr, IPv4) is
// configured there with routes to the other hosts' underlay addresses, and
// its loopback is up. The driver never creates or deletes host namespaces;
// when one is missing, Apply and Reconcile fail naming it. In a host
// namespace the driver only creates, changes and deletes the links named
// <prefix>g<digits> (guest ends of ports) and the VXLAN UDP socket on port
// 4789.
//
// # VRFs
//
// The VRF with label L on host H is the network namespace <prefix>H@L
// (see VRFNamespace), which the driver owns entirely: forwarding on,
// rp_filter off, proxy ARP on, L4 multipath hashing, and
//
//   - nrx, a VXLAN device with VNI L whose UDP socket lives in the host
//     namespace (alias = the VRF ID, so the namespace names its VRF): the
//     VRF's way out to every port that is not its own;
//   - per port with label P (binding label): the veth pair p<P> (in the
//     VRF) / <prefix>g<P> (left in the host namespace for the guest to take;
//     alias "tenant/vpn/interface" on both ends, MTU 1450), and x<P>, a
//     VXLAN device with VNI P and MAC LabelMAC(P), socket in the host
//     namespace, receiving the traffic that other VRFs send to the port.
//     The rule "iif x<P> lookup 1000+P" and that table's single route
//     "default via <port address> dev p<P> onlink" hand that traffic
//     straight to the port, without a second lookup in the VRF: anycast
//     ECMP cannot loop between hosts, and spoke traffic reaches the hub
//     even though the hub's VRF has a route to the destination spoke.
//   - routes in the main table, from routing.Route.Active(): a local hop is
//     "via <member address> dev p<P> onlink"; a hop to a port on another
//     host (HopRemote) or in another VRF of the same host (HopPort) is
//     "via 169.254.<P/256>.<P%256> dev nrx onlink", with a permanent
//     neighbour entry (that address → LabelMAC(P)) and a VXLAN FDB entry
//     (LabelMAC(P) → the hop's underlay address, VNI P) on nrx. Several
//     active hops make a multipath route.
//
// VXLAN devices are created without local bypass: traffic to a port of
// the same host goes through the host namespace's UDP socket like remote
// traffic (local bypass would hand the frame to the receiving device with
// the sender's routing decision still attached, and it would loop).
//
// # Limits
//
// Labels must be at most MaxLabel. Underlay addresses must be IPv4.
// IPv6 prefixes are realized only with local hops (a tunnelled IPv6 route
// would need an IPv6 next hop on nrx); routes that need more fail with an
// error. RDs and route targets have no kernel counterpart and are not
// realized. A port update that changes the label recreates the veth pair,
// and so does recreating a VRF: a guest that had taken the old guest end
// must take the new one.
package linuxfwd
