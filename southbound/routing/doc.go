// Package routing computes the L3VPN forwarding state of every host: which
// VRFs a host's forwarder must hold, with which route distinguisher, route
// targets, ports and routing table. It is the controller's route
// computation, in the style of BGP/MPLS IP VPNs (RFC 4364), done centrally
// from the configuration instead of by running BGP between the hosts.
//
// The computation is pure and deterministic: Compute reads only its
// arguments (a Model built from the data tree, and the route distinguisher
// Assignments of the previous run) and sorts everything it returns, so two
// runs on the same input give deep-equal Results and Diff between two
// Results only shows real changes. It knows nothing of drivers or of the
// server's data tree.
//
// # VRFs
//
// Only bindings that are admin-up and placed on a known host count
// (active bindings).
//
//   - Any-to-any VPN: one VRF per host that has at least one active
//     binding of the VPN. Its ID is "tenant/vpn" (the same on every host),
//     its ports are the VPN's bound interfaces on that host, it imports
//     ImportRTs and exports ExportRTs.
//   - Hub-and-spoke VPN: one VRF per active binding (per-port VRF), on the
//     binding's host, with ID "tenant/vpn/interface". A hub VRF imports the
//     hub and spoke route targets and exports the hub route target; a
//     spoke VRF imports the hub route target and exports the spoke route
//     target. A binding without a role is treated as a spoke (least
//     reachability) with a warning. The VPN's route-target entries are
//     ignored.
//
// # Routes
//
// Every VRF originates the host route (/32 or /128) of each address of its
// bindings, and the static routes of its VPN whose next-hop address is one
// of those addresses. A VRF imports the routes originated by itself and by
// every VRF, on any host, whose export route targets intersect its import
// route targets. Therefore:
//
//   - Any-to-any (one route target both ways): every member reaches every
//     member.
//   - Hub-and-spoke: the hub learns every spoke, a spoke learns only the
//     hub(s), never another spoke. A static route of the VPN (typically
//     0.0.0.0/0 via the hub's address) is originated by the hub's VRF and
//     so installed in every spoke VRF, pointing at the hub: spoke-to-spoke
//     traffic goes through the hub. It is not installed in the hub's own
//     VRF: traffic in a per-port VRF comes from its port, and a route back
//     to that port would loop. When the hub binding goes away, the static
//     route no longer resolves and disappears from the spokes.
//   - Routes cross VPNs only through route targets; overlapping address
//     spaces of VPNs that share no route target never meet. When they do
//     share one and both announce a prefix, the VRF keeps the routes of
//     its own VPN (else those of the first VPN by key), with a warning.
//
// Several routes for one prefix in a VRF become one Route with several next
// hops, one per binding behind it (Hop):
//
//   - Anycast: an address on several bindings gives one host route with a
//     hop per binding; its Mode is the VPN's AnycastMode. LoadBalance uses
//     all hops (ECMP, one share per binding, local or remote); FailOver
//     uses NextHops[0], the binding with the lowest preference, and keeps
//     the others as ordered standbys (see Route). Ties are broken by host,
//     VRF and interface, never by locality, so all hosts fail over to the
//     same binding. In a VPN without anycast, a duplicate address is used
//     in fail-over, with a warning. Every host route of an anycast VPN has
//     the VPN's AnycastMode, even with one hop (so a route does not change
//     mode when a second binding takes its address); other host routes
//     have Mode LoadBalance.
//   - Static routes: each next-hop address resolves to the active
//     bindings that have it (local or remote; several if it is an anycast
//     address); the hop's preference is the next hop's. The route's Mode is
//     its own. A next hop that resolves to no active binding is dropped
//     with a warning; a static route without any resolvable next hop is not
//     installed. A member address wins over a static route for the same
//     prefix (warning).
//
// # Route distinguishers
//
// See Options for how RDs are chosen and kept stable through Assignments.
//
// # Labels
//
// Every VRF ID and every active binding has a label, unique across the
// Result and stable while it exists (Assignments.Labels): what a forwarder
// puts on tunnelled traffic so the receiving host knows where it goes. A
// hop carries the label of the binding behind it and the underlay address
// of that binding's host, so traffic is delivered to exactly the interface
// the route chose (per-interface labels, RFC 4364 section 4.3.2), never
// looked up again on arrival: anycast ECMP cannot loop between hosts, and a
// spoke's traffic reaches the hub's port even though the hub's VRF has a
// route to the destination spoke. A port also carries its binding's lowest
// address, where traffic for other destinations is handed to it.
//
// # Changes
//
// Diff turns two Results into ordered per-backend changes; see Diff.
//
// # Incremental computation
//
// Incremental keeps a computation between runs and takes what changed
// (Touched): a binding recomputes only the prefixes it advertises, in the
// VRFs that see them (its own VRFs and those importing a route target
// they export: imported routes are not exported again, so that is the
// whole reach of a change); a VPN's own configuration recomputes that VPN;
// a host change everything. Route distinguishers are still assigned over
// every VRF ID (they depend on each other). Each run returns exactly what
// Compute and Diff would.
package routing
