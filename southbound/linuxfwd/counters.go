package linuxfwd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"

	"github.com/netready/netready/southbound"
)

// The driver counts traffic per bound interface.
var _ southbound.Counter = (*Driver)(nil)

// Counters reads, for every port of the hosts' VRFs, the kernel's
// counters of the port's VRF end (p<label>). A veth end receives exactly
// what its peer, the guest end, sent, so what p<label> received is the
// traffic from the instance into the network (In) and what it sent is
// what the network delivered to the instance (Out). It costs one link
// dump per VRF namespace. A host whose namespace does not exist holds no
// ports and has no counters.
func (d *Driver) Counters(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.PortCounters, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[southbound.PortRef]southbound.PortCounters)
	err := d.eachVRF(ctx, hosts, "counters", func(host string, v *vrfState) error { return countPorts(host, v, out) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachVRF calls fn for every VRF of the hosts, as the kernel holds them
// now (a host whose namespace does not exist has none); op names the
// operation in errors. The caller holds d.mu.
func (d *Driver) eachVRF(ctx context.Context, hosts []string, op string, fn func(host string, v *vrfState) error) error {
	if d.closed {
		return errors.New("driver closed")
	}
	d.epoch++ // see the namespaces as they are now, as Apply does
	for _, name := range hosts {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("host %s: %s: %w", name, op, err)
		}
		hs, err := d.host(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("host %s: %w", name, err)
		}
		for id, v := range hs.vrfs {
			if err := fn(name, v); err != nil {
				return fmt.Errorf("host %s: VRF %s: %s: %w", name, id, op, err)
			}
		}
	}
	return nil
}

// countPorts adds the counters of v's ports, as the kernel holds them
// (the links with a port's name, type and alias), to out.
func countPorts(host string, v *vrfState, out map[southbound.PortRef]southbound.PortCounters) error {
	links, err := v.ns.h.LinkList()
	if err != nil {
		return err
	}
	for _, l := range links {
		a := l.Attrs()
		if _, ok := parseLabelled(a.Name, "p"); !ok || l.Type() != "veth" || a.Statistics == nil {
			continue
		}
		iface, ok := portOf(l)
		if !ok {
			continue
		}
		out[southbound.PortRef{Host: host, VRF: v.id, Interface: iface}] = portCounters(a.Statistics)
	}
	return nil
}

func portCounters(s *netlink.LinkStatistics) southbound.PortCounters {
	return southbound.PortCounters{
		InPackets: s.RxPackets, InOctets: s.RxBytes,
		OutPackets: s.TxPackets, OutOctets: s.TxBytes,
	}
}
