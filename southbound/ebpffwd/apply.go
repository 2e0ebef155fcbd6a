package ebpffwd

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/netready/netready/southbound/routing"
)

// apply applies one change.
func (h *host) apply(c routing.Change) error {
	switch c.Kind {
	case routing.KindVRF:
		if c.Op == routing.Delete {
			return h.dropVRF(c.VRF)
		}
		if c.Spec == nil {
			return errors.New("change without VRF spec")
		}
		return h.setVRF(c.Spec.ID, c.Spec.Label)
	case routing.KindPort:
		if c.Op == routing.Delete {
			if p := h.ports[portID{c.VRF, c.Port}]; p != nil {
				return h.dropPort(p)
			}
			return nil
		}
		if c.PortSpec == nil {
			return errors.New("change without port spec")
		}
		return h.setPort(c.VRF, *c.PortSpec)
	case routing.KindRoute:
		vrf, ok := h.vrfs[c.VRF]
		if c.Op == routing.Delete {
			if !ok {
				return nil
			}
			return deleteIgnoringMissing(h.objs.Routes, routeKey(vrf, c.Prefix))
		}
		if c.Route == nil {
			return errors.New("change without route")
		}
		if !ok {
			return errors.New("VRF not found on host")
		}
		v, err := h.routeValue(c.Route)
		if err != nil {
			return err
		}
		return h.objs.Routes.Put(routeKey(vrf, c.Route.Prefix), v)
	}
	return fmt.Errorf("unknown change kind %v", c.Kind)
}

func deleteIgnoringMissing(m *ebpf.Map, k any) error {
	if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return err
	}
	return nil
}

// setVRF records the VRF, or moves it to its new label with its routes
// and ports.
func (h *host) setVRF(id string, label uint32) error {
	if err := checkLabel("VRF", label); err != nil {
		return err
	}
	nv, err := nameValue(nameVRF, 0, id)
	if err != nil {
		return err
	}
	old, had := h.vrfs[id]
	if had && old == label {
		return nil
	}
	if h.tunnel == 0 {
		if _, err := h.ensureTunnel(); err != nil {
			return err
		}
	}
	if err := h.objs.Names.Put(label, nv); err != nil {
		return fmt.Errorf("names map: %w", err)
	}
	h.vrfs[id] = label
	if !had {
		return nil
	}
	if err := h.moveRoutes(old, label); err != nil {
		return err
	}
	for _, p := range h.ports {
		if p.id.vrf == id {
			if err := h.writePort(p); err != nil {
				return err
			}
		}
	}
	return deleteIgnoringMissing(h.objs.Names, old)
}

// vrfRoutes returns the keys of every route of the VRF with label vrf.
func (h *host) vrfRoutes(vrf uint32) ([]fwdRouteKey, error) {
	var keys []fwdRouteKey
	var k fwdRouteKey
	var v fwdRoute
	it := h.objs.Routes.Iterate()
	for it.Next(&k, &v) {
		if k.Vrf == vrf {
			keys = append(keys, k)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("routes map: %w", err)
	}
	return keys, nil
}

func (h *host) moveRoutes(from, to uint32) error {
	keys, err := h.vrfRoutes(from)
	if err != nil {
		return err
	}
	for _, k := range keys {
		var v fwdRoute
		if err := h.objs.Routes.Lookup(k, &v); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
		nk := k
		nk.Vrf = to
		if err := h.objs.Routes.Put(nk, v); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
		if err := deleteIgnoringMissing(h.objs.Routes, k); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
	}
	return nil
}

// dropVRF deletes a VRF with its ports and routes.
func (h *host) dropVRF(id string) error {
	label, ok := h.vrfs[id]
	if !ok {
		return nil
	}
	for _, p := range h.ports {
		if p.id.vrf == id {
			if err := h.dropPort(p); err != nil {
				return err
			}
		}
	}
	keys, err := h.vrfRoutes(label)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := deleteIgnoringMissing(h.objs.Routes, k); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
	}
	delete(h.vrfs, id)
	return deleteIgnoringMissing(h.objs.Names, label)
}

// setPort binds the port spec in VRF vrf: its vNIC (created with its
// first port), its VLAN and its label.
func (h *host) setPort(vrf string, spec routing.Port) error {
	if err := checkLabel("port", spec.Label); err != nil {
		return err
	}
	if spec.VLAN > 4094 {
		return fmt.Errorf("VLAN %d out of range 1-4094", spec.VLAN)
	}
	if _, ok := h.vrfs[vrf]; !ok {
		return errors.New("VRF not found on host")
	}
	tenant, vpn := tenantVPN(vrf)
	key := VNICKey(tenant, spec)
	id := portID{vrf, spec.Interface}
	if p := h.ports[id]; p != nil {
		if p.label == spec.Label && p.vnic.key == key && p.vlan == spec.VLAN {
			p.addr = spec.Addr // the probe's business only: delivery is by MAC
			return nil
		}
		if err := h.dropPort(p); err != nil {
			return err
		}
	}
	// What else holds the label or the (vNIC, VLAN) is stale: the spec wins.
	for _, o := range h.ports {
		if o.label == spec.Label || o.vnic.key == key && o.vlan == spec.VLAN {
			if err := h.dropPort(o); err != nil {
				return err
			}
		}
	}
	v, err := h.useVNIC(key, GuestAlias(tenant, vpn, spec))
	if err != nil {
		return err
	}
	// An L2 port there: the interface moves from an L2 network to this VRF
	// (the transaction's L2 changes, which come after, agree). Released
	// after the vNIC is taken, so a guest keeps its end.
	if o := h.l2ports[l2Key{key, spec.VLAN}]; o != nil {
		if err := h.dropL2Port(o); err != nil {
			return err
		}
	}
	p := &port{id: id, label: spec.Label, vnic: v, vlan: spec.VLAN, addr: spec.Addr}
	h.ports[id] = p
	h.byLabel[p.label] = p
	if err := h.writePort(p); err != nil {
		return err
	}
	// A new port starts from zero; an existing entry (the driver
	// restarted) keeps counting.
	zero := make([]fwdCounters, ebpf.MustPossibleCPU())
	if err := h.objs.Counters.Update(p.label, zero, ebpf.UpdateNoExist); err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("counters map: %w", err)
	}
	return nil
}

// portValue is the ports map entry of p.
func (h *host) portValue(p *port) fwdPort {
	v := fwdPort{Vrf: h.vrfs[p.id.vrf], Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.vlan)}
	copy(v.HostMac[:], p.vnic.hostMAC)
	copy(v.GuestMac[:], p.vnic.guestMAC)
	return v
}

// writePort writes p's entries in the names, ports and bindings maps.
func (h *host) writePort(p *port) error {
	nv, err := nameValue(namePort, h.vrfs[p.id.vrf], p.id.iface)
	if err != nil {
		return err
	}
	if err := h.objs.Names.Put(p.label, nv); err != nil {
		return fmt.Errorf("names map: %w", err)
	}
	if err := h.objs.Ports.Put(p.label, h.portValue(p)); err != nil {
		return fmt.Errorf("ports map: %w", err)
	}
	if err := h.objs.Bindings.Put(fwdVnicKey{Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.vlan)}, p.label); err != nil {
		return fmt.Errorf("bindings map: %w", err)
	}
	return nil
}

// dropPort deletes a port's entries, and its vNIC with its last port.
func (h *host) dropPort(p *port) error {
	bk := fwdVnicKey{Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.vlan)}
	var cur uint32
	if err := h.objs.Bindings.Lookup(bk, &cur); err == nil && cur == p.label {
		if err := deleteIgnoringMissing(h.objs.Bindings, bk); err != nil {
			return fmt.Errorf("bindings map: %w", err)
		}
	}
	for _, m := range []*ebpf.Map{h.objs.Ports, h.objs.Counters, h.objs.Names} {
		if err := deleteIgnoringMissing(m, p.label); err != nil {
			return fmt.Errorf("%s map: %w", mapName(m), err)
		}
	}
	delete(h.ports, p.id)
	if h.byLabel[p.label] == p {
		delete(h.byLabel, p.label)
	}
	p.vnic.users--
	if p.vnic.users > 0 {
		return nil
	}
	delete(h.vnics, p.vnic.key)
	return h.deleteVNIC(p.vnic)
}

func mapName(m *ebpf.Map) string {
	if info, err := m.Info(); err == nil {
		return info.Name
	}
	return "a"
}

// routeKey is the routes map key of prefix p in the VRF with label vrf.
func routeKey(vrf uint32, p netip.Prefix) fwdRouteKey {
	p = p.Masked()
	return fwdRouteKey{Prefixlen: 32 + uint32(p.Bits()), Vrf: vrf, Addr: be32(p.Addr())}
}

// routeValue translates a computed route: its active hops, each a label
// delivered on this host (the port of a local or leaked hop) or
// tunnelled to the underlay of the hop's host.
func (h *host) routeValue(r *routing.Route) (fwdRoute, error) {
	var v fwdRoute
	if !r.Prefix.Addr().Is4() {
		return v, fmt.Errorf("%s realizes IPv4 routes only", Kind)
	}
	type hop struct{ label, underlay uint32 }
	var hops []hop
	for _, hp := range r.Active() {
		if err := checkLabel(hopName(hp), hp.Label); err != nil {
			return v, err
		}
		switch hp.Kind {
		case routing.HopLocal, routing.HopPort:
			if !h.hasLabel(hp.Label) {
				return v, fmt.Errorf("next hop %s: no port with label %d on this host", hp.Interface, hp.Label)
			}
			hops = append(hops, hop{label: hp.Label})
		case routing.HopRemote, routing.HopLearnt:
			// A learnt hop is tunnelled like a remote one, to the BGP
			// next hop (Underlay) with the route's label as VNI.
			ul := hp.Underlay.Unmap()
			if !ul.Is4() {
				return v, fmt.Errorf("%s: no IPv4 underlay address (%v)", hopName(hp), hp.Underlay)
			}
			hops = append(hops, hop{label: hp.Label, underlay: be32(ul)})
		default:
			return v, fmt.Errorf("%s: unknown kind %v", hopName(hp), hp.Kind)
		}
	}
	slices.SortFunc(hops, func(a, b hop) int {
		if a.label != b.label {
			return int(int64(a.label) - int64(b.label))
		}
		return int(int64(a.underlay) - int64(b.underlay))
	})
	hops = slices.Compact(hops)
	if len(hops) == 0 {
		return v, errors.New("route without next hops")
	}
	if len(hops) > maxHops {
		return v, fmt.Errorf("route has %d active next hops: %s realizes at most %d", len(hops), Kind, maxHops)
	}
	v.N = uint32(len(hops))
	for i, hp := range hops {
		v.Hops[i].Label, v.Hops[i].Underlay = hp.label, hp.underlay
	}
	return v, nil
}

func (h *host) hasLabel(label uint32) bool { return h.byLabel[label] != nil }

// hopName names a next hop in errors: its interface and host, or for a
// learnt hop (which has neither) its BGP next hop.
func hopName(hp routing.Hop) string {
	if hp.Kind == routing.HopLearnt {
		return "learnt hop " + hp.Addr.String()
	}
	return "hop " + hp.Interface + "@" + hp.Host
}
