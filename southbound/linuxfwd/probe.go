package linuxfwd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netready/netready/southbound"
)

// The driver tells whether each port's instance answers.
var _ southbound.Prober = (*Driver)(nil)

// Probe judges each port's instance from the port's VRF end: it does not
// answer when the end has no carrier (the guest's end is down or gone:
// the kernel then flushes its neighbours) or when the kernel's neighbour
// entry for the binding's address is FAILED (its ARP probes went
// unanswered); it answers when the entry was resolved (reachable, or
// stale, delayed or being probed again); otherwise (no entry yet, or
// its first resolution in flight) nothing is known.
// Then, as the tick of the probe, it asks the kernel to confirm every
// live port's neighbour (NTF_USE, as a packet to it would), so a later
// call sees an instance that stopped answering as FAILED: with the
// port's timers (setProbeTimers) within about 2 s of its last answer.
// A port whose binding has no address is not probed.
func (d *Driver) Probe(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.Liveness, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.probes++
	rare := d.probes%rareProbe == 0
	out := make(map[southbound.PortRef]southbound.Liveness)
	err := d.eachVRF(ctx, hosts, "probe", func(host string, v *vrfState) error { return probeVRF(host, v, rare, out) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rareProbe: a port whose instance never answered (no VM attached yet) is
// probed at every rareProbe-th call only, so a thousand empty ports cost
// little; its instance is seen within rareProbe calls of attaching.
const rareProbe = 8

// probeVRF adds what is known of v's ports' instances to out, and sends
// the next probes: to every port whose entry is not freshly confirmed,
// and whose instance answered before or rare is set.
func probeVRF(host string, v *vrfState, rare bool, out map[southbound.PortRef]southbound.Liveness) error {
	links, err := v.ns.h.LinkList()
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	carrier := map[int]bool{}
	for _, l := range links {
		carrier[l.Attrs().Index] = l.Attrs().RawFlags&unix.IFF_LOWER_UP != 0
	}
	neighs, err := v.ns.h.NeighList(0, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("neighbours: %w", err)
	}
	type key struct {
		index int
		addr  netip.Addr
	}
	state := map[key]int{}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP); ok {
			state[key{n.LinkIndex, a.Unmap()}] = n.State
		}
	}
	for _, p := range v.ports {
		index := portIndex(p.label)
		up, exists := carrier[index]
		ref := southbound.PortRef{Host: host, VRF: v.id, Interface: p.iface}
		switch {
		case !p.addr.Is4():
			continue // IPv6: not probed
		case !exists:
			// The veth pair went with the guest's end (a VM destroyed):
			// nobody is there until reconciliation makes it again.
			out[ref] = southbound.Liveness{Reason: "the instance's vNIC is gone"}
			continue
		}
		n := &netlink.Neigh{LinkIndex: index, Family: unix.AF_INET, IP: p.addr.AsSlice()}
		if !p.probed {
			// A port the driver did not create (it found it, after a
			// restart): its entry may run on the default timers, which
			// hold a confirmation for up to 45 s. Start it afresh.
			if err := setProbeTimers(v.ns.sock, index); err != nil {
				return fmt.Errorf("port %s: neighbour timers: %w", p.iface, err)
			}
			if err := v.ns.h.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("port %s: reset neighbour %s: %w", p.iface, p.addr, err)
			}
			p.probed = true
			delete(state, key{index, p.addr})
		}
		if !up {
			out[ref] = southbound.Liveness{Reason: "no carrier on the instance's interface"}
			continue
		}
		st := state[key{index, p.addr}]
		switch {
		case st&netlink.NUD_FAILED != 0:
			out[ref] = southbound.Liveness{Reason: fmt.Sprintf("no ARP reply from %s", p.addr)}
		case st&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE) != 0:
			out[ref] = southbound.Liveness{Answers: true} // resolved by an answer
			p.answered = true
		}
		if st&netlink.NUD_REACHABLE != 0 || !p.answered && !rare {
			continue // confirmed just now; or nobody there yet
		}
		n.Flags = netlink.NTF_USE
		if err := v.ns.h.NeighSet(n); err != nil {
			return fmt.Errorf("port %s: probe %s: %w", p.iface, p.addr, err)
		}
	}
	return nil
}
