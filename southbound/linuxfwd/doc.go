// Package linuxfwd is the "linux-vforwarder" southbound driver: it realizes
// the VRFs, ports and routes that southbound/routing computes in the Linux
// kernel of the machine it runs on, with network namespaces, veth pairs and
// VXLAN devices, so that the L3VPN data plane can be exercised with real
// packets on one machine (see the lab subpackage). It needs root (or
// CAP_SYS_ADMIN and CAP_NET_ADMIN), and uses netlink only: it runs no
// commands.
//
// # Hosts
//
// A host served by the backend is an existing network namespace named
// <prefix><host> (the netns-prefix option, "nr-" by default), standing for
// the physical host: its underlay address (routing.HostView.Addr, IPv4) is
// configured there with routes to the other hosts' underlay addresses, and
// its loopback is up. The driver never creates or deletes host namespaces;
// when one is missing, Apply and Reconcile fail naming the host and the
// namespace. In a host namespace the driver only creates, changes and
// deletes the links named <prefix>g<digits> (guest ends of ports), and its
// VXLAN devices bind UDP port 4789 there.
//
// # VRFs
//
// The VRF with label L on host H is the network namespace <prefix>H@L (see
// VRFNamespace; '@' cannot occur in a host name, so a VRF namespace is
// never taken for another host's), which the driver owns entirely:
// forwarding on, rp_filter off, proxy ARP on (for all interfaces), ICMP
// redirects off, L4 multipath hashing, loopback up, and
//
//   - nrx, a VXLAN device with VNI L whose UDP socket lives in the host
//     namespace, with the VRF ID as its alias (so the namespace names its
//     VRF): the VRF's way to every port that is not its own;
//   - per port with label P (the binding's label): the veth pair p<P> (in
//     the VRF) and <prefix>g<P> (left in the host namespace for a guest to
//     take; alias "tenant/vpn/interface" on both ends, MTU 1450, proxy ARP
//     answering at once), and x<P>, a VXLAN device with VNI P and MAC
//     LabelMAC(P), socket in the host namespace, receiving what other VRFs
//     send to the port. The rule "iif x<P> lookup 1000+P" and that table's
//     single route "default via <port address> dev p<P> onlink" hand that
//     traffic straight to the port, without a second lookup in the VRF:
//     anycast ECMP cannot loop between hosts, and spoke traffic reaches the
//     hub even though the hub's VRF has a route to the destination spoke.
//   - routes in the main table, from routing.Route.Active(): a local hop is
//     "via <member address> dev p<P> onlink"; a hop to a port on another
//     host (HopRemote), in another VRF of the same host (HopPort) or to a
//     tunnel endpoint learnt from a BGP peer (HopLearnt, P its label) is
//     "via 169.254.<P/256>.<P%256> dev nrx onlink", with a permanent
//     neighbour entry (that address → LabelMAC(P)) and a VXLAN FDB entry
//     (LabelMAC(P) → the hop's underlay address, VNI P) on nrx, deleted when
//     no route uses them. Several active hops make a multipath route.
//
// VXLAN devices are created without local bypass: traffic to a port of the
// same host goes through the host's UDP socket like remote traffic (with
// local bypass the frame would reach the receiving device with the
// sender's routing decision still attached, and loop). Inside a VRF
// namespace, links have fixed interface indexes (nrx 2, p<P> 2P, x<P>
// 2P+1), so routes name them without lookups, and belong to link group 78,
// so that deleting a VRF deletes them in one batch.
//
// # Apply and Reconcile
//
// Apply reads a host's VRF namespaces from the kernel when it first serves
// the host, and again whenever the set of VRF namespaces changed under it;
// otherwise it trusts what it did. Deleted ports and VRFs are deleted in
// batches (at the end of a run of deletions, several namespaces at once),
// and the ports and routes of a VRF deleted in the same call are left to go
// with it. Reconcile reads everything again and corrects every difference
// (see Driver.Reconcile).
//
// # Limits
//
// Labels must be at most MaxLabel. Underlay addresses must be IPv4.
// IPv6 prefixes are realized only with local next hops (a tunnelled IPv6
// route would need an IPv6 next hop on nrx); a route that needs more fails
// with an error. RDs and route targets have no kernel counterpart and are
// not realized. A port update that changes its label recreates its veth
// pair, and so does recreating a VRF (a VRF whose label changes keeps its
// namespace, renamed): a guest that had taken the old guest end must take
// the new one. The driver holds three file descriptors per namespace.
package linuxfwd
