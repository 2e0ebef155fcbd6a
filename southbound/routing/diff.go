package routing

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
)

// Op is what a Change does.
type Op uint8

// Change operations.
const (
	Create Op = iota
	Update
	Delete
)

func (o Op) String() string {
	switch o {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Kind is the kind of object a Change is about.
type Kind uint8

// Change kinds.
const (
	// KindVRF is a VRF instance on a host.
	KindVRF Kind = iota
	// KindPort is the attachment of a bound interface to a VRF.
	KindPort
	// KindRoute is one route of a VRF.
	KindRoute
)

func (k Kind) String() string {
	switch k {
	case KindVRF:
		return "vrf"
	case KindPort:
		return "port"
	case KindRoute:
		return "route"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Change is one object a backend must create, update or delete.
type Change struct {
	Op   Op
	Kind Kind
	Host string
	// VRF is the ID of the VRF the object is (KindVRF) or belongs to.
	VRF string
	// Port is the interface, for KindPort.
	Port string
	// PortSpec is the port after the change, for KindPort Create and
	// Update (an Update when its label or address changed).
	PortSpec *Port
	// Prefix is the route's prefix, for KindRoute.
	Prefix netip.Prefix
	// Spec is the VRF after the change (ID, tenant, VPN, role, RD and
	// route targets; Ports and Routes are nil), for KindVRF Create and
	// Update. A changed RD or label is an Update: a backend that cannot
	// change them in place must recreate the VRF, with its ports and
	// routes.
	Spec *VRF
	// Route is the route after the change, for KindRoute Create and
	// Update.
	Route *Route
}

func (c Change) String() string {
	s := fmt.Sprintf("%s %s %s %s", c.Op, c.Kind, c.Host, c.VRF)
	switch c.Kind {
	case KindPort:
		s += " " + c.Port
	case KindRoute:
		s += " " + c.Prefix.String()
	}
	return s
}

// Diff returns, for each backend, the changes that turn the forwarding state
// before into after on the hosts the backend serves. Backends without
// changes are absent. A host whose backend changed is deleted from the old
// backend and created on the new one.
//
// Each backend's changes are ordered in phases, break before make, and
// within a phase by host, VRF ID, then port or prefix:
//
//  1. route deletes (including every route of a VRF being deleted),
//  2. port deletes (detaching interfaces),
//  3. VRF deletes,
//  4. VRF creates and updates,
//  5. port creates (attaching interfaces),
//  6. route creates and updates.
//
// So a VRF is created before its ports and routes and deleted after them,
// an interface moving between VRFs is detached before it is attached
// again, and an RD moving between VRFs is freed before it is reused.
func Diff(before, after Result) map[string][]Change {
	names := make([]string, 0, len(before.Hosts)+len(after.Hosts))
	for h := range before.Hosts {
		names = append(names, h)
	}
	for h := range after.Hosts {
		if _, ok := before.Hosts[h]; !ok {
			names = append(names, h)
		}
	}
	sort.Strings(names)

	phases := make(map[string]*[6][]Change)
	get := func(backend string) *[6][]Change {
		p := phases[backend]
		if p == nil {
			p = new([6][]Change)
			phases[backend] = p
		}
		return p
	}
	for _, h := range names {
		b, a := before.Hosts[h], after.Hosts[h]
		switch {
		case b != nil && a != nil && b.Backend == a.Backend:
			diffHost(get(a.Backend), h, b.VRFs, a.VRFs)
		default:
			if b != nil {
				diffHost(get(b.Backend), h, b.VRFs, nil)
			}
			if a != nil {
				diffHost(get(a.Backend), h, nil, a.VRFs)
			}
		}
	}

	out := make(map[string][]Change)
	for backend, p := range phases {
		var all []Change
		for _, ph := range p {
			all = append(all, ph...)
		}
		if len(all) > 0 {
			out[backend] = all
		}
	}
	return out
}

// Phase indexes.
const (
	phRouteDel = iota
	phPortDel
	phVRFDel
	phVRFSet
	phPortAdd
	phRouteSet
)

func diffHost(p *[6][]Change, host string, before, after []VRF) {
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		switch {
		case j == len(after) || i < len(before) && before[i].ID < after[j].ID:
			diffVRF(p, host, &before[i], nil)
			i++
		case i == len(before) || after[j].ID < before[i].ID:
			diffVRF(p, host, nil, &after[j])
			j++
		default:
			diffVRF(p, host, &before[i], &after[j])
			i++
			j++
		}
	}
}

func diffVRF(p *[6][]Change, host string, b, a *VRF) {
	var id string
	var bPorts, aPorts []Port
	var bRoutes, aRoutes []Route
	if b != nil {
		id, bPorts, bRoutes = b.ID, b.Ports, b.routeList()
	}
	if a != nil {
		id, aPorts, aRoutes = a.ID, a.Ports, a.routeList()
	}
	switch {
	case a == nil:
		p[phVRFDel] = append(p[phVRFDel], Change{Op: Delete, Kind: KindVRF, Host: host, VRF: id})
	case b == nil:
		p[phVRFSet] = append(p[phVRFSet], Change{Op: Create, Kind: KindVRF, Host: host, VRF: id, Spec: spec(a)})
	case !sameSpec(b, a):
		p[phVRFSet] = append(p[phVRFSet], Change{Op: Update, Kind: KindVRF, Host: host, VRF: id, Spec: spec(a)})
	}

	i, j := 0, 0
	for i < len(bPorts) || j < len(aPorts) {
		switch {
		case j == len(aPorts) || i < len(bPorts) && bPorts[i].Interface < aPorts[j].Interface:
			p[phPortDel] = append(p[phPortDel], Change{Op: Delete, Kind: KindPort, Host: host, VRF: id, Port: bPorts[i].Interface})
			i++
		case i == len(bPorts) || aPorts[j].Interface < bPorts[i].Interface:
			ps := aPorts[j]
			p[phPortAdd] = append(p[phPortAdd], Change{Op: Create, Kind: KindPort, Host: host, VRF: id, Port: ps.Interface, PortSpec: &ps})
			j++
		default:
			if bPorts[i] != aPorts[j] {
				ps := aPorts[j]
				p[phPortAdd] = append(p[phPortAdd], Change{Op: Update, Kind: KindPort, Host: host, VRF: id, Port: ps.Interface, PortSpec: &ps})
			}
			i++
			j++
		}
	}

	diffRoutes(p, host, id, bRoutes, aRoutes)
}

// diffRoutes adds the route changes of VRF id on host, from the sorted
// routes before to after, to their phases.
func diffRoutes(p *[6][]Change, host, id string, bRoutes, aRoutes []Route) {
	i, j := 0, 0
	for i < len(bRoutes) || j < len(aRoutes) {
		c := 0
		switch {
		case j == len(aRoutes):
			c = -1
		case i == len(bRoutes):
			c = 1
		default:
			c = bRoutes[i].Prefix.Compare(aRoutes[j].Prefix)
		}
		switch {
		case c < 0:
			p[phRouteDel] = append(p[phRouteDel], Change{Op: Delete, Kind: KindRoute, Host: host, VRF: id, Prefix: bRoutes[i].Prefix})
			i++
		case c > 0:
			r := cloneRoute(aRoutes[j])
			p[phRouteSet] = append(p[phRouteSet], Change{Op: Create, Kind: KindRoute, Host: host, VRF: id, Prefix: r.Prefix, Route: &r})
			j++
		default:
			if !sameRoute(&bRoutes[i], &aRoutes[j]) {
				r := cloneRoute(aRoutes[j])
				p[phRouteSet] = append(p[phRouteSet], Change{Op: Update, Kind: KindRoute, Host: host, VRF: id, Prefix: r.Prefix, Route: &r})
			}
			i++
			j++
		}
	}
}

func spec(v *VRF) *VRF {
	return &VRF{
		ID:        v.ID,
		Tenant:    v.Tenant,
		VPN:       v.VPN,
		Role:      v.Role,
		RD:        v.RD,
		Label:     v.Label,
		ImportRTs: slices.Clone(v.ImportRTs),
		ExportRTs: slices.Clone(v.ExportRTs),
	}
}

func sameSpec(a, b *VRF) bool {
	return a.Tenant == b.Tenant && a.VPN == b.VPN && a.Role == b.Role && a.RD == b.RD && a.Label == b.Label &&
		slices.Equal(a.ImportRTs, b.ImportRTs) && slices.Equal(a.ExportRTs, b.ExportRTs)
}

func sameRoute(a, b *Route) bool {
	return a.Mode == b.Mode && slices.Equal(a.NextHops, b.NextHops)
}

func cloneRoute(r Route) Route {
	r.NextHops = slices.Clone(r.NextHops)
	return r
}
