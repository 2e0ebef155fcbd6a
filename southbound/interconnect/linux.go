package interconnect

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// handle opens a netlink handle in the gateway namespace.
func (l *Linker) handle() (*netlink.Handle, error) {
	ns, err := netns.GetFromName(l.gw.Netns)
	if err != nil {
		return nil, fmt.Errorf("interconnect: gateway namespace %s: %w", l.gw.Netns, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("interconnect: netlink in %s: %w", l.gw.Netns, err)
	}
	return h, nil
}

// gatewayAddrs is every address of the gateway namespace.
func (l *Linker) gatewayAddrs() (map[netip.Addr]bool, error) {
	h, err := l.handle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	as, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("interconnect: addresses of %s: %w", l.gw.Netns, err)
	}
	out := map[netip.Addr]bool{}
	for _, a := range as {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			out[ip.Unmap()] = true
		}
	}
	return out, nil
}

// sync removes the tunnels the gateway holds that want does not have (or
// has differently) and creates the missing ones. It reads the gateway, so
// it also corrects what was changed by hand. The caller holds l.mu.
func (l *Linker) sync(ctx context.Context, want map[string]Tunnel) error {
	h, err := l.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	byDev := map[string]Tunnel{}
	for _, t := range want {
		byDev[t.Device()] = t
	}
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("interconnect: links of %s: %w", l.gw.Netns, err)
	}
	have := map[string]bool{}
	for _, lk := range links {
		name := lk.Attrs().Name
		if !owned(name) {
			continue
		}
		if t, ok := byDev[name]; ok && l.matches(h, lk, t) {
			have[name] = true
			continue
		}
		if err := h.LinkDel(lk); err != nil {
			return fmt.Errorf("interconnect: remove %s in %s: %w", name, l.gw.Netns, err)
		}
		l.log.Info("interconnect: tunnel removed", "device", name, "netns", l.gw.Netns)
	}
	l.held = map[string]Tunnel{}
	for _, dev := range slices.Sorted(maps.Keys(byDev)) {
		t := byDev[dev]
		if !have[dev] {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := l.create(h, t); err != nil {
				return err
			}
			l.log.Info("interconnect: tunnel up", "connection", t.Connection, "device", dev, "vni", t.VNI, "local", t.Local, "remote", t.Remote)
		}
		l.held[t.Connection] = t
	}
	return nil
}

// matches reports whether an existing link is the tunnel t, joined to the
// bridge and up.
func (l *Linker) matches(h *netlink.Handle, lk netlink.Link, t Tunnel) bool {
	v, ok := lk.(*netlink.Vxlan)
	if !ok || v.VxlanId != int(t.VNI) || !v.SrcAddr.Equal(net.IP(t.Local.AsSlice())) || !v.Group.Equal(net.IP(t.Remote.AsSlice())) || v.Port != VXLANPort {
		return false
	}
	if t.MTU != 0 && v.MTU != t.MTU || v.Flags&net.FlagUp == 0 {
		return false
	}
	br, err := h.LinkByName(l.gw.Bridge)
	if err != nil || v.MasterIndex != br.Attrs().Index {
		return false
	}
	if t.Dev == "" {
		return true
	}
	dev, err := h.LinkByName(t.Dev)
	return err == nil && v.VtepDevIndex == dev.Attrs().Index
}

// create builds t: the VXLAN device, a port of the bridge isolated from
// the bridge's other isolated ports (the tunnels to other sites), so the
// gateway never relays one site's traffic to another and a mesh of sites
// is no loop; then up.
func (l *Linker) create(h *netlink.Handle, t Tunnel) error {
	br, err := h.LinkByName(l.gw.Bridge)
	if err != nil {
		return fmt.Errorf("interconnect: bridge %s in %s: %w", l.gw.Bridge, l.gw.Netns, err)
	}
	v := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: t.Device(), MTU: t.MTU},
		VxlanId:   int(t.VNI),
		SrcAddr:   net.IP(t.Local.AsSlice()),
		Group:     net.IP(t.Remote.AsSlice()),
		Port:      VXLANPort,
		Learning:  true,
	}
	if t.Dev != "" {
		dev, err := h.LinkByName(t.Dev)
		if err != nil {
			return fmt.Errorf("interconnect: connection %s: interface %s in %s: %w", t.Connection, t.Dev, l.gw.Netns, err)
		}
		v.VtepDevIndex = dev.Attrs().Index
	}
	fail := func(step string, err error) error {
		_ = h.LinkDel(v)
		return fmt.Errorf("interconnect: connection %s: %s %s in %s: %w", t.Connection, step, t.Device(), l.gw.Netns, err)
	}
	if err := h.LinkAdd(v); err != nil {
		return fail("create", err)
	}
	if err := h.LinkSetMaster(v, br); err != nil {
		return fail("join "+l.gw.Bridge+" with", err)
	}
	if err := h.LinkSetIsolated(v, true); err != nil {
		return fail("isolate", err)
	}
	if err := h.LinkSetUp(v); err != nil {
		return fail("bring up", err)
	}
	return nil
}
