package lab

import (
	"fmt"
	"time"
)

// SetLinkUp sets the guest's eth0 up or down: a VM whose interface went
// down (its forwarder's end loses carrier).
func (g *Guest) SetLinkUp(up bool) error {
	eth, err := g.h.LinkByName("eth0")
	if err != nil {
		return err
	}
	if up {
		err = g.h.LinkSetUp(eth)
	} else {
		err = g.h.LinkSetDown(eth)
	}
	if err != nil {
		return fmt.Errorf("guest %s: eth0 up=%v: %w", g.Alias, up, err)
	}
	if up {
		return waitOperUp(g.h, "eth0", 3*time.Second)
	}
	return nil
}

// SetARP turns ARP on the guest's eth0 on or off: off, the guest keeps
// its link but answers no ARP, as a hung VM does not.
func (g *Guest) SetARP(on bool) error {
	eth, err := g.h.LinkByName("eth0")
	if err != nil {
		return err
	}
	if on {
		err = g.h.LinkSetARPOn(eth)
	} else {
		err = g.h.LinkSetARPOff(eth)
	}
	if err != nil {
		return fmt.Errorf("guest %s: eth0 arp=%v: %w", g.Alias, on, err)
	}
	return nil
}

// DeleteNIC deletes the guest's eth0, and with it the veth pair: a VM
// destroyed, or its NIC hot-unplugged.
func (g *Guest) DeleteNIC() error {
	eth, err := g.h.LinkByName("eth0")
	if err == nil {
		err = g.h.LinkDel(eth)
	}
	if err != nil {
		return fmt.Errorf("guest %s: delete eth0: %w", g.Alias, err)
	}
	return nil
}
