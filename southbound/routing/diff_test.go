package routing

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func changeStrings(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

func TestDiffCreateFromScratch(t *testing.T) {
	after, _ := Compute(anyToAnyModel(), Assignments{})
	d := Diff(Result{}, after)
	want := []string{
		"create vrf host-a blue/blue",
		"create vrf host-a red/red",
		"create port host-a blue/blue g1",
		"create port host-a blue/blue g2",
		"create port host-a red/red g5",
		"create route host-a blue/blue 10.1.1.5/32",
		"create route host-a blue/blue 10.1.1.6/32",
		"create route host-a blue/blue 10.3.7.9/32",
		"create route host-a blue/blue 10.3.7.10/32",
		"create route host-a red/red 10.1.1.5/32",
		"create route host-a red/red 10.1.1.6/32",
	}
	if got := changeStrings(d["vendor-a"]); !slices.Equal(got, want) {
		t.Errorf("vendor-a:\n%q\nwant\n%q", got, want)
	}
	if len(d) != 2 || len(d["vendor-b"]) != len(want) {
		t.Errorf("backends %d, vendor-b %d changes", len(d), len(d["vendor-b"]))
	}
	c := d["vendor-a"][0]
	if c.Spec == nil || c.Spec.RD != "64512:1" || c.Spec.Routes != nil || c.Spec.Ports != nil || c.Spec.ImportRTs[0] != rtBlue {
		t.Errorf("VRF create spec %+v", c.Spec)
	}
	c = d["vendor-a"][5]
	if c.Route == nil || c.Route.NextHops[0].Interface != "g1" {
		t.Errorf("route create %+v", c.Route)
	}
}

func TestDiffDeleteAll(t *testing.T) {
	before, _ := Compute(anyToAnyModel(), Assignments{})
	m := anyToAnyModel()
	m.VPNs = nil
	after, _ := Compute(m, Assignments{})
	d := Diff(before, after)
	want := []string{
		"delete route host-b blue/blue 10.1.1.5/32",
		"delete route host-b blue/blue 10.1.1.6/32",
		"delete route host-b blue/blue 10.3.7.9/32",
		"delete route host-b blue/blue 10.3.7.10/32",
		"delete route host-b red/red 10.1.1.5/32",
		"delete route host-b red/red 10.1.1.6/32",
		"delete port host-b blue/blue g3",
		"delete port host-b blue/blue g4",
		"delete port host-b red/red g6",
		"delete vrf host-b blue/blue",
		"delete vrf host-b red/red",
	}
	if got := changeStrings(d["vendor-b"]); !slices.Equal(got, want) {
		t.Errorf("vendor-b:\n%q\nwant\n%q", got, want)
	}
	for _, c := range d["vendor-b"] {
		if c.Spec != nil || c.Route != nil {
			t.Errorf("delete carries data: %+v", c)
		}
	}
}

// Removing the hub: exact changes for both backends.
func TestDiffHubRemoved(t *testing.T) {
	m := hubSpokeModel()
	before, asg := Compute(m, Assignments{})
	removeBinding(&m, "vfw")
	after, _ := Compute(m, asg)
	d := Diff(before, after)
	wantA := []string{
		"delete route host-a blue/blue/vfw 10.1.1.5/32",
		"delete route host-a blue/blue/vfw 10.1.1.6/32",
		"delete route host-a blue/blue/vfw 10.3.7.9/32",
		"delete route host-a blue/blue/vfw 10.3.7.10/32",
		"delete route host-a blue/blue/vnf1 0.0.0.0/0",
		"delete route host-a blue/blue/vnf1 10.1.1.5/32",
		"delete port host-a blue/blue/vfw vfw",
		"delete vrf host-a blue/blue/vfw",
	}
	wantB := []string{
		"delete route host-b blue/blue/vnf2 0.0.0.0/0",
		"delete route host-b blue/blue/vnf2 10.1.1.5/32",
		"delete route host-b blue/blue/vnf3 0.0.0.0/0",
		"delete route host-b blue/blue/vnf3 10.1.1.5/32",
	}
	if got := changeStrings(d["vendor-a"]); !slices.Equal(got, wantA) {
		t.Errorf("vendor-a:\n%q\nwant\n%q", got, wantA)
	}
	if got := changeStrings(d["vendor-b"]); !slices.Equal(got, wantB) {
		t.Errorf("vendor-b:\n%q\nwant\n%q", got, wantB)
	}
}

// Fail-over: removing the preferred anycast binding updates the route on
// both hosts.
func TestDiffFailOver(t *testing.T) {
	m := ecmpModel(FailOver)
	before, asg := Compute(m, Assignments{})
	removeBinding(&m, "vnf1-1")
	after, _ := Compute(m, asg)
	d := Diff(before, after)
	wantA := []string{
		"delete port host-a blue/blue vnf1-1",
		"update route host-a blue/blue 10.1.1.5/32",
	}
	if got := changeStrings(d["vendor-a"]); !slices.Equal(got, wantA) {
		t.Errorf("vendor-a: %q, want %q", got, wantA)
	}
	wantB := []string{"update route host-b blue/blue 10.1.1.5/32"}
	if got := changeStrings(d["vendor-b"]); !slices.Equal(got, wantB) {
		t.Fatalf("vendor-b: %q, want %q", got, wantB)
	}
	r := d["vendor-b"][0].Route
	if r.Active()[0].Interface != "vnf1-2" || r.Active()[0].Kind != HopRemote {
		t.Errorf("new active hop %v", r.Active())
	}
}

func TestDiffVRFUpdateAndBackendMove(t *testing.T) {
	m := anyToAnyModel()
	before, asg := Compute(m, Assignments{})
	m.VPNs[1].ImportRTs = append(m.VPNs[1].ImportRTs, "64512:999")
	m.Hosts[1].Backend = "vendor-c"
	after, _ := Compute(m, asg)
	d := Diff(before, after)
	if got, want := changeStrings(d["vendor-a"]), []string{"update vrf host-a red/red"}; !slices.Equal(got, want) {
		t.Errorf("vendor-a: %q, want %q", got, want)
	}
	if c := d["vendor-a"][0]; !slices.Equal(c.Spec.ImportRTs, []string{rtRed, "64512:999"}) {
		t.Errorf("update spec %+v", c.Spec)
	}
	if got := len(d["vendor-b"]); got != 11 || d["vendor-b"][10].String() != "delete vrf host-b red/red" {
		t.Errorf("vendor-b: %q", changeStrings(d["vendor-b"]))
	}
	if got := len(d["vendor-c"]); got != 11 || d["vendor-c"][0].String() != "create vrf host-b blue/blue" {
		t.Errorf("vendor-c: %q", changeStrings(d["vendor-c"]))
	}
}

// backendState simulates a backend applying changes, checking the order
// constraints, so that applying Diff(before, after) to before must give
// after.
type backendState map[string]map[string]*VRF // host → VRF ID → VRF

func stateOf(res Result, backend string) backendState {
	s := backendState{}
	for _, h := range res.Hosts {
		if h.Backend != backend {
			continue
		}
		for i := range h.VRFs {
			v := h.VRFs[i]
			v.Ports = slices.Clone(v.Ports)
			v.Routes = slices.Clone(v.Routes)
			if s[h.Host] == nil {
				s[h.Host] = map[string]*VRF{}
			}
			s[h.Host][v.ID] = &v
		}
	}
	return s
}

func (s backendState) apply(c Change) error {
	vrfs := s[c.Host]
	v := vrfs[c.VRF]
	switch c.Kind {
	case KindVRF:
		switch c.Op {
		case Create:
			if v != nil {
				return fmt.Errorf("%s: exists", c)
			}
			for id, o := range vrfs {
				if o.RD == c.Spec.RD && c.Spec.RD != "" {
					return fmt.Errorf("%s: RD %s still used by %s", c, o.RD, id)
				}
			}
			if vrfs == nil {
				vrfs = map[string]*VRF{}
				s[c.Host] = vrfs
			}
			n := *c.Spec
			vrfs[c.VRF] = &n
		case Update:
			if v == nil {
				return fmt.Errorf("%s: missing", c)
			}
			ports, routes := v.Ports, v.Routes
			*v = *c.Spec
			v.Ports, v.Routes = ports, routes
		case Delete:
			if v == nil || len(v.Ports) > 0 || len(v.Routes) > 0 {
				return fmt.Errorf("%s: missing or not empty: %+v", c, v)
			}
			delete(vrfs, c.VRF)
		}
	case KindPort:
		if v == nil {
			return fmt.Errorf("%s: no VRF", c)
		}
		switch c.Op {
		case Create:
			for id, o := range vrfs { // interface names are scoped by tenant
				if o.Tenant == v.Tenant && slices.ContainsFunc(o.Ports, func(p Port) bool { return p.Interface == c.Port }) {
					return fmt.Errorf("%s: port still attached to %s", c, id)
				}
			}
			v.Ports = append(v.Ports, *c.PortSpec)
			slices.SortFunc(v.Ports, func(a, b Port) int { return strings.Compare(a.Interface, b.Interface) })
		case Update:
			i := slices.IndexFunc(v.Ports, func(p Port) bool { return p.Interface == c.Port })
			if i < 0 {
				return fmt.Errorf("%s: not attached", c)
			}
			v.Ports[i] = *c.PortSpec
		case Delete:
			i := slices.IndexFunc(v.Ports, func(p Port) bool { return p.Interface == c.Port })
			if i < 0 {
				return fmt.Errorf("%s: not attached", c)
			}
			v.Ports = slices.Delete(v.Ports, i, i+1)
		default:
			return fmt.Errorf("%s: bad op", c)
		}
	case KindRoute:
		if v == nil {
			return fmt.Errorf("%s: no VRF", c)
		}
		i := slices.IndexFunc(v.Routes, func(r Route) bool { return r.Prefix == c.Prefix })
		switch c.Op {
		case Create:
			if i >= 0 {
				return fmt.Errorf("%s: exists", c)
			}
			v.Routes = append(v.Routes, *c.Route)
			slices.SortFunc(v.Routes, func(a, b Route) int { return a.Prefix.Compare(b.Prefix) })
		case Update:
			if i < 0 {
				return fmt.Errorf("%s: missing", c)
			}
			v.Routes[i] = *c.Route
		case Delete:
			if i < 0 {
				return fmt.Errorf("%s: missing", c)
			}
			v.Routes = slices.Delete(v.Routes, i, i+1)
		}
	}
	return nil
}

func (s backendState) normalize() {
	for h, vrfs := range s {
		if len(vrfs) == 0 {
			delete(s, h)
		}
		for _, v := range vrfs {
			if len(v.Ports) == 0 {
				v.Ports = nil
			}
			if len(v.Routes) == 0 {
				v.Routes = nil
			}
		}
	}
}

// Applying Diff(before, after) to before gives after, for transitions
// between all the scenarios and variants, with every ordering constraint
// checked by the simulated backend.
func TestDiffApply(t *testing.T) {
	moved := hubSpokeModel()
	setHost(&moved, "vnf1", "host-b")
	policyChange := anyToAnyModel()
	policyChange.VPNs[0].Policy = HubAndSpoke
	policyChange.VPNs[0].HubRT, policyChange.VPNs[0].SpokeRT = "64512:101", "64512:102"
	for i := range policyChange.VPNs[0].Bindings {
		policyChange.VPNs[0].Bindings[i].Role = RoleSpoke
	}
	policyChange.VPNs[0].Bindings[0].Role = RoleHub
	explicitRD := anyToAnyModel()
	explicitRD.VPNs[0].RDs = []string{"64512:2"} // red's auto RD: red must move
	failOver := ecmpModel(FailOver)
	removeBinding(&failOver, "vnf1-1")
	models := []struct {
		name string
		m    Model
	}{
		{"empty", Model{Hosts: twoHosts()}},
		{"any-to-any", anyToAnyModel()},
		{"ecmp", ecmpModel(LoadBalance)},
		{"ecmp fail-over", ecmpModel(FailOver)},
		{"ecmp fail-over, preferred removed", failOver},
		{"hub-and-spoke", hubSpokeModel()},
		{"hub-and-spoke, spoke moved", moved},
		{"blue becomes hub-and-spoke", policyChange},
		{"explicit RD taken from red", explicitRD},
		{"bench", benchModel(200, 10, 2)},
	}
	for _, from := range models {
		for _, to := range models {
			t.Run(from.name+" to "+to.name, func(t *testing.T) {
				before, asg := Compute(from.m, Assignments{})
				after, _ := Compute(to.m, asg)
				d := Diff(before, after)
				backends := map[string]bool{}
				for _, r := range []Result{before, after} {
					for _, h := range r.Hosts {
						backends[h.Backend] = true
					}
				}
				for b := range d {
					if !backends[b] {
						t.Errorf("changes for unknown backend %s", b)
					}
				}
				for b := range backends {
					s := stateOf(before, b)
					for _, c := range d[b] {
						if err := s.apply(c); err != nil {
							cs := changeStrings(d[b])
							t.Fatalf("backend %s: %v\nchanges (first 20 of %d): %q", b, err, len(cs), cs[:min(20, len(cs))])
						}
					}
					s.normalize()
					want := stateOf(after, b)
					want.normalize()
					if !reflect.DeepEqual(s, want) {
						t.Fatalf("backend %s: applying the diff does not give the target state", b)
					}
				}
				if from.name == to.name && len(d) != 0 {
					t.Errorf("diff of equal models: %v", d)
				}
			})
		}
	}
}

// The phases are in order within each backend: every change's phase is at
// least the previous change's phase.
func TestDiffPhaseOrder(t *testing.T) {
	phase := func(c Change) int {
		switch {
		case c.Kind == KindRoute && c.Op == Delete:
			return phRouteDel
		case c.Kind == KindPort && c.Op == Delete:
			return phPortDel
		case c.Kind == KindVRF && c.Op == Delete:
			return phVRFDel
		case c.Kind == KindVRF:
			return phVRFSet
		case c.Kind == KindPort:
			return phPortAdd
		}
		return phRouteSet
	}
	before, asg := Compute(hubSpokeModel(), Assignments{})
	after, _ := Compute(ecmpModel(LoadBalance), asg)
	d := Diff(before, after)
	for b, cs := range d {
		seen := map[int]bool{}
		for i := 1; i < len(cs); i++ {
			if phase(cs[i]) < phase(cs[i-1]) {
				t.Errorf("%s: %s after %s", b, cs[i], cs[i-1])
			}
		}
		for _, c := range cs {
			seen[phase(c)] = true
		}
		if len(seen) < 5 {
			t.Errorf("%s: only phases %v exercised", b, seen)
		}
	}
}
