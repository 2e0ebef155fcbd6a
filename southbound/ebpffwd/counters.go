package ebpffwd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/netready/netready/southbound"
)

// Counters returns the traffic counters of every port the driver holds on
// hosts, summed over the CPUs; see southbound.Counter. In counts the IPv4
// packets the guest sent on the port's vNIC and VLAN (routed or dropped
// for want of a route; ARP is answered, not counted), Out those delivered
// to it; octets are untagged Ethernet frame lengths.
func (d *Driver) Counters(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.PortCounters, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("driver closed")
	}
	d.epoch++
	out := make(map[southbound.PortRef]southbound.PortCounters)
	per := make([]fwdCounters, ebpf.MustPossibleCPU())
	for _, name := range hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := d.host(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // a host that is not up holds no ports
		}
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
		for _, p := range h.ports {
			if err := h.objs.Counters.Lookup(p.label, &per); errors.Is(err, ebpf.ErrKeyNotExist) {
				continue // not counted (Reconcile puts the entry back)
			} else if err != nil {
				return nil, fmt.Errorf("host %s: counters of label %d: %w", name, p.label, err)
			}
			var c southbound.PortCounters
			for _, x := range per {
				c.InPackets += x.InPackets
				c.InOctets += x.InOctets
				c.OutPackets += x.OutPackets
				c.OutOctets += x.OutOctets
			}
			out[southbound.PortRef{Host: name, VRF: p.id.vrf, Interface: p.id.iface}] = c
		}
	}
	return out, nil
}
