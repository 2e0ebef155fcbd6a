package lab

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/netready/netready/southbound/linuxfwd"
)

// Quiet silences the guest's link, so that its port's counters move only
// with the traffic a test sends: IPv6 is turned off on both ends of the
// veth pair (no router solicitations, MLD reports or DAD), and the
// neighbours are pinned (permanent) on both ends — in the guest, for
// each of peers, the MAC of the VRF end (which answers ARP for every
// destination it routes); in the VRF, the guest's own addresses — so no
// ARP is sent either.
func (g *Guest) Quiet(peers ...netip.Addr) error {
	eth, err := g.h.LinkByName("eth0")
	if err != nil {
		return err
	}
	err = linuxfwd.InNamespace(g.fd, func() error { return writeSysctl("ipv6/conf/eth0/disable_ipv6", "1") })
	if err != nil {
		return fmt.Errorf("guest %s: %w", g.Alias, err)
	}
	vrfNS, end, err := g.lab.vrfEnd(g.Host, g.Alias)
	if err != nil {
		return err
	}
	fd, err := netns.GetFromName(vrfNS)
	if err != nil {
		return err
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	err = linuxfwd.InNamespace(fd, func() error { return writeSysctl("ipv6/conf/"+end.Attrs().Name+"/disable_ipv6", "1") })
	if err != nil {
		return fmt.Errorf("VRF end of %s: %w", g.Alias, err)
	}
	for _, a := range g.Addrs {
		if err := pin(h, end.Attrs().Index, a.Addr(), eth.Attrs().HardwareAddr); err != nil {
			return fmt.Errorf("VRF end of %s: %w", g.Alias, err)
		}
	}
	for _, p := range peers {
		if err := pin(g.h, eth.Attrs().Index, p, end.Attrs().HardwareAddr); err != nil {
			return fmt.Errorf("guest %s: %w", g.Alias, err)
		}
	}
	return nil
}

// pin makes a permanent IPv4 neighbour entry.
func pin(h *netlink.Handle, index int, a netip.Addr, mac net.HardwareAddr) error {
	n := &netlink.Neigh{LinkIndex: index, Family: unix.AF_INET, State: netlink.NUD_PERMANENT, IP: a.AsSlice(), HardwareAddr: mac}
	if err := h.NeighSet(n); err != nil {
		return fmt.Errorf("neighbour %s: %w", a, err)
	}
	return nil
}

// vrfEnd finds the VRF end of the port with alias on host: its
// namespace and link.
func (l *Lab) vrfEnd(host, alias string) (string, netlink.Link, error) {
	for _, n := range l.Namespaces() {
		if !strings.HasPrefix(n, l.HostNS(host)+"@") {
			continue
		}
		fd, err := netns.GetFromName(n)
		if err != nil {
			continue
		}
		h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
		fd.Close()
		if err != nil {
			return "", nil, err
		}
		links, err := h.LinkList()
		h.Close()
		if err != nil {
			return "", nil, err
		}
		for _, k := range links {
			if k.Type() == "veth" && k.Attrs().Alias == alias {
				return n, k, nil
			}
		}
	}
	return "", nil, fmt.Errorf("no VRF end with alias %q on %s", alias, host)
}
