package ebpffwd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/netready/netready/southbound/routing"
)

// Reconcile makes the backend's hosts hold exactly hosts; see
// southbound.Forwarder. It reads each host's devices and maps again
// (opening its namespace again, in case it was replaced), corrects every
// difference and returns one line per difference. Only devices whose
// names carry the netns-prefix and the driver's own pinned maps are
// touched.
func (d *Driver) Reconcile(ctx context.Context, hosts []*routing.HostView) ([]string, error) {
	if err := d.begin(); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	states := make([]hostState, len(hosts))
	for i, hv := range hosts {
		// A host that is not up yet and should hold nothing is in sync.
		states[i] = hostState{host: hv.Host, empty: len(hv.VRFs) == 0, fix: func(h *host) ([]string, error) {
			lines, err := h.reconcile(hv)
			if ferr := h.flush(); err == nil {
				err = ferr
			}
			if err == nil && len(hv.VRFs) == 0 {
				err = h.dropTunnel()
			}
			return lines, err
		}}
	}
	return d.reconcileHosts(ctx, states)
}

// reconcile corrects the host to hold hv, in order: the tunnel device,
// VRFs, vNICs, ports, routes, then whatever entries no desired label
// explains.
func (h *host) reconcile(hv *routing.HostView) ([]string, error) {
	drift := h.repaired
	h.repaired = nil
	if len(hv.VRFs) > 0 {
		fixed, err := h.ensureTunnel()
		drift = append(drift, fixed...)
		if err != nil {
			return drift, err
		}
	}
	steps := []func(*routing.HostView) ([]string, error){h.reconcileVRFs, h.reconcileVNICs, h.reconcilePorts, h.reconcileRoutes, h.sweep}
	for _, step := range steps {
		lines, err := step(hv)
		drift = append(drift, lines...)
		if err != nil {
			return drift, err
		}
	}
	return drift, nil
}

func (h *host) reconcileVRFs(hv *routing.HostView) ([]string, error) {
	var drift []string
	want := make(map[string]bool, len(hv.VRFs))
	for _, v := range hv.VRFs {
		want[v.ID] = true
		have, ok := h.vrfs[v.ID]
		switch {
		case !ok:
			drift = append(drift, fmt.Sprintf("VRF %s missing", v.ID))
		case have != v.Label:
			drift = append(drift, fmt.Sprintf("VRF %s has label %d, want %d", v.ID, have, v.Label))
		default:
			continue
		}
		if err := h.setVRF(v.ID, v.Label); err != nil {
			return drift, fmt.Errorf("VRF %s: %w", v.ID, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(h.vrfs)) {
		if !want[id] {
			drift = append(drift, fmt.Sprintf("VRF %s unexpected", id))
			if err := h.dropVRF(id); err != nil {
				return drift, fmt.Errorf("VRF %s: %w", id, err)
			}
		}
	}
	return drift, nil
}

// desiredVNICs returns the keys of the vNICs hv needs.
func desiredVNICs(hv *routing.HostView) map[string]bool {
	out := make(map[string]bool)
	for _, v := range hv.VRFs {
		t, _ := tenantVPN(v.ID)
		for _, port := range v.Ports {
			out[VNICKey(t, port)] = true
		}
	}
	return out
}

func (h *host) reconcileVNICs(hv *routing.HostView) ([]string, error) {
	var drift []string
	for _, name := range h.strays {
		drift = append(drift, fmt.Sprintf("device %s unexpected", name))
		if err := deleteLink(h.nl, name); err != nil {
			return drift, err
		}
	}
	h.strays = nil
	want := desiredVNICs(hv)
	for _, key := range slices.Sorted(maps.Keys(h.vnics)) {
		v := h.vnics[key]
		if !want[key] && !h.l2Users(v) { // an L2 port's is ReconcileL2's
			drift = append(drift, fmt.Sprintf("vNIC %s unexpected", key))
			for _, p := range h.ports {
				if p.vnic == v {
					if err := h.dropPort(p); err != nil {
						return drift, err
					}
				}
			}
			delete(h.vnics, key)
			if err := h.deleteVNIC(v); err != nil {
				return drift, err
			}
			continue
		}
		added, err := attach(h.ns, v.ifindex, h.objs.FromVnic)
		if err != nil {
			return drift, fmt.Errorf("vNIC %s: %w", key, err)
		}
		if added {
			drift = append(drift, fmt.Sprintf("vNIC %s: program from_vnic not attached", key))
		}
	}
	return drift, nil
}

func (h *host) reconcilePorts(hv *routing.HostView) ([]string, error) {
	var drift []string
	want := make(map[portID]bool)
	for _, v := range hv.VRFs {
		t, _ := tenantVPN(v.ID)
		for _, spec := range v.Ports {
			id := portID{v.ID, spec.Interface}
			want[id] = true
			what := fmt.Sprintf("VRF %s: port %s", v.ID, spec.Interface)
			p := h.ports[id]
			switch {
			case p == nil:
				drift = append(drift, what+" missing")
			case p.label != spec.Label || p.vlan != spec.VLAN || p.vnic.key != VNICKey(t, spec):
				drift = append(drift, what+" differs")
			}
			if err := h.setPort(v.ID, spec); err != nil {
				return drift, fmt.Errorf("%s: %w", what, err)
			}
			fixed, err := h.checkPortEntries(h.ports[id])
			for _, f := range fixed {
				drift = append(drift, what+": "+f)
			}
			if err != nil {
				return drift, fmt.Errorf("%s: %w", what, err)
			}
		}
	}
	for _, p := range h.ports {
		if !want[p.id] {
			drift = append(drift, fmt.Sprintf("VRF %s: port %s unexpected", p.id.vrf, p.id.iface))
			if err := h.dropPort(p); err != nil {
				return drift, err
			}
		}
	}
	return drift, nil
}

// checkPortEntries compares p's map entries with what they must be and
// rewrites them when any differs.
func (h *host) checkPortEntries(p *port) ([]string, error) {
	var fixed []string
	var pv fwdPort
	want := h.portValue(p)
	if err := h.objs.Ports.Lookup(p.label, &pv); err != nil {
		fixed = append(fixed, "ports map entry missing")
	} else if pv != want {
		fixed = append(fixed, "ports map entry differs")
	}
	var label uint32
	if err := h.objs.Bindings.Lookup(fwdVnicKey{Ifindex: want.Ifindex, Vlan: want.Vlan}, &label); err != nil {
		fixed = append(fixed, "bindings map entry missing")
	} else if label != p.label {
		fixed = append(fixed, "bindings map entry differs")
	}
	var nv fwdName
	wantName, err := nameValue(namePort, want.Vrf, p.id.iface)
	if err != nil {
		return fixed, err
	}
	if err := h.objs.Names.Lookup(p.label, &nv); err != nil || nv != wantName {
		fixed = append(fixed, "names map entry missing or different")
	}
	if len(fixed) > 0 {
		if err := h.writePort(p); err != nil {
			return fixed, err
		}
	}
	cs := make([]fwdCounters, ebpf.MustPossibleCPU())
	if err := h.objs.Counters.Lookup(p.label, &cs); errors.Is(err, ebpf.ErrKeyNotExist) {
		fixed = append(fixed, "counters map entry missing")
		if err := h.objs.Counters.Put(p.label, cs); err != nil {
			return fixed, fmt.Errorf("counters map: %w", err)
		}
	}
	return fixed, nil
}

func (h *host) reconcileRoutes(hv *routing.HostView) ([]string, error) {
	var drift []string
	have := make(map[fwdRouteKey]fwdRoute)
	var k fwdRouteKey
	var v fwdRoute
	it := h.objs.Routes.Iterate()
	for it.Next(&k, &v) {
		have[k] = v
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("routes map: %w", err)
	}
	want := make(map[fwdRouteKey]bool)
	for _, vrf := range hv.VRFs {
		for r := range vrf.AllRoutes() {
			key := routeKey(vrf.Label, r.Prefix)
			want[key] = true
			val, err := h.routeValue(&r)
			if err != nil {
				return drift, fmt.Errorf("VRF %s: route %s: %w", vrf.ID, r.Prefix, err)
			}
			cur, ok := have[key]
			switch {
			case !ok:
				drift = append(drift, fmt.Sprintf("VRF %s: route %s missing", vrf.ID, r.Prefix))
			case cur != val:
				drift = append(drift, fmt.Sprintf("VRF %s: route %s differs", vrf.ID, r.Prefix))
			default:
				continue
			}
			if err := h.objs.Routes.Put(key, val); err != nil {
				return drift, fmt.Errorf("VRF %s: route %s: %w", vrf.ID, r.Prefix, err)
			}
		}
	}
	for key := range have {
		if want[key] {
			continue
		}
		p := netip.PrefixFrom(fromBE32(key.Addr), int(key.Prefixlen)-32)
		drift = append(drift, fmt.Sprintf("route %s in VRF label %d unexpected", p, key.Vrf))
		if err := deleteIgnoringMissing(h.objs.Routes, key); err != nil {
			return drift, fmt.Errorf("routes map: %w", err)
		}
	}
	slices.Sort(drift)
	return drift, nil
}

// sweep deletes entries that no VRF or port of hv explains: labels of
// VRFs and ports that are gone, and bindings of vNIC VLANs nothing is
// bound to.
func (h *host) sweep(hv *routing.HostView) ([]string, error) {
	var drift []string
	labels := make(map[uint32]bool)
	for _, v := range hv.VRFs {
		labels[v.Label] = true
	}
	bindings := make(map[fwdVnicKey]uint32)
	for _, p := range h.ports {
		labels[p.label] = true
		bindings[fwdVnicKey{Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.vlan)}] = p.label
	}
	for _, m := range []*ebpf.Map{h.objs.Names, h.objs.Ports, h.objs.Counters} {
		keys, err := labelKeys(m)
		if err != nil {
			return drift, fmt.Errorf("%s map: %w", mapName(m), err)
		}
		for _, k := range keys {
			if labels[k] {
				continue
			}
			drift = append(drift, fmt.Sprintf("label %d: stale %s map entry", k, mapName(m)))
			if err := deleteIgnoringMissing(m, k); err != nil {
				return drift, err
			}
		}
	}
	var stale []fwdVnicKey
	var k fwdVnicKey
	var l uint32
	it := h.objs.Bindings.Iterate()
	for it.Next(&k, &l) {
		if bindings[k] != l {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return drift, fmt.Errorf("bindings map: %w", err)
	}
	for _, k := range stale {
		drift = append(drift, fmt.Sprintf("ifindex %d VLAN %d: stale bindings map entry", k.Ifindex, k.Vlan))
		if err := deleteIgnoringMissing(h.objs.Bindings, k); err != nil {
			return drift, err
		}
	}
	return drift, nil
}

// labelKeys returns the keys of a map keyed by label, whatever its values.
func labelKeys(m *ebpf.Map) ([]uint32, error) {
	var keys []uint32
	var next uint32
	err := m.NextKey(nil, &next)
	for err == nil {
		keys = append(keys, next)
		err = m.NextKey(next, &next)
	}
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return keys, nil
	}
	return keys, err
}
