package routing

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
)

func vpnRDs(res Result) map[string]string {
	out := map[string]string{}
	for _, hv := range allVRFs(res) {
		out[hv.VRF.ID] = hv.VRF.RD
	}
	return out
}

func simpleVPN(tenant, name string, hosts ...string) VPN {
	v := VPN{Tenant: tenant, Name: name, ImportRTs: []string{"1:1"}, ExportRTs: []string{"1:1"}}
	for i, h := range hosts {
		v.Bindings = append(v.Bindings, bind(name+"-"+string(rune('a'+i)), h, 100))
	}
	return v
}

func withVPNs(vpns ...VPN) Model { return Model{Hosts: twoHosts(), VPNs: vpns} }

// The RD of every VRF is the same on every host, and unique among VRFs.
func checkRDsUnique(t *testing.T, res Result) {
	t.Helper()
	seen := map[string]string{}
	for _, hv := range allVRFs(res) {
		v := hv.VRF
		if v.RD == "" {
			t.Errorf("VRF %s on %s has no RD", v.ID, hv.Host)
			continue
		}
		if other, ok := seen[v.RD]; ok && other != v.ID {
			t.Errorf("RD %s on %s and %s", v.RD, other, v.ID)
		}
		seen[v.RD] = v.ID
	}
}

// A sequence of model changes, each computed with the previous run's
// assignments: existing RDs never change, new ones are the lowest free,
// released ones are held.
func TestRDStability(t *testing.T) {
	a := simpleVPN("t", "a", "host-a", "host-b")
	b := simpleVPN("t", "b", "host-a")
	c := simpleVPN("t", "c", "host-b")
	aa := simpleVPN("s", "aa", "host-b") // sorts first
	d := simpleVPN("u", "d", "host-a")
	e := simpleVPN("u", "e", "host-a")
	downB := b
	downB.Bindings = []Binding{b.Bindings[0]}
	downB.Bindings[0].AdminUp = false

	steps := []struct {
		name string
		m    Model
		want map[string]string // VRF ID → RD in the Result
	}{
		{"initial", withVPNs(a, b), map[string]string{"t/a": "64512:1", "t/b": "64512:2"}},
		{"add c", withVPNs(a, b, c), map[string]string{"t/a": "64512:1", "t/b": "64512:2", "t/c": "64512:3"}},
		{"add s/aa, sorting first, gets the lowest free", withVPNs(a, b, c, aa),
			map[string]string{"s/aa": "64512:4", "t/a": "64512:1", "t/b": "64512:2", "t/c": "64512:3"}},
		{"remove a: its RD is held", withVPNs(b, c, aa),
			map[string]string{"s/aa": "64512:4", "t/b": "64512:2", "t/c": "64512:3"}},
		{"add d: does not get a's released RD", withVPNs(b, c, aa, d),
			map[string]string{"s/aa": "64512:4", "t/b": "64512:2", "t/c": "64512:3", "u/d": "64512:5"}},
		{"b down: VRF gone, RD kept", withVPNs(downB, c, aa, d),
			map[string]string{"s/aa": "64512:4", "t/c": "64512:3", "u/d": "64512:5"}},
		{"add e: b's kept RD not reused", withVPNs(downB, c, aa, d, e),
			map[string]string{"s/aa": "64512:4", "t/c": "64512:3", "u/d": "64512:5", "u/e": "64512:6"}},
		{"b up again: same RD", withVPNs(b, c, aa, d, e),
			map[string]string{"s/aa": "64512:4", "t/b": "64512:2", "t/c": "64512:3", "u/d": "64512:5", "u/e": "64512:6"}},
		{"a back while held: takes its RD back", withVPNs(a, b, c, aa, d, e),
			map[string]string{"s/aa": "64512:4", "t/a": "64512:1", "t/b": "64512:2", "t/c": "64512:3", "u/d": "64512:5", "u/e": "64512:6"}},
	}
	var prior Assignments
	for _, s := range steps {
		res, next := Compute(s.m, prior)
		if got := vpnRDs(res); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s: RDs %v, want %v", s.name, got, s.want)
		}
		checkRDsUnique(t, res)
		// Assignments survive a JSON round trip (the caller persists them).
		buf, err := json.Marshal(next)
		if err != nil {
			t.Fatal(err)
		}
		prior = Assignments{}
		if err := json.Unmarshal(buf, &prior); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(prior, next) {
			t.Fatalf("%s: JSON round trip %+v != %+v", s.name, prior, next)
		}
	}
}

// A released RD stays reserved for ReleaseHold runs, then is the lowest
// free again.
func TestRDReleaseHold(t *testing.T) {
	for _, hold := range []int{-1, 1, 3} {
		opt := Options{ReleaseHold: hold}
		a, b, x := simpleVPN("t", "a", "host-a"), simpleVPN("t", "b", "host-a"), simpleVPN("t", "x", "host-b")
		_, asg := opt.Compute(withVPNs(a, b), Assignments{})
		// Remove a (64512:1) and add x in the same run: x must not get it.
		res, asg := opt.Compute(withVPNs(b, x), asg)
		if got := vpnRDs(res)["t/x"]; got != "64512:3" {
			t.Fatalf("hold %d: x got %s in the releasing run, want 64512:3", hold, got)
		}
		runs := max(hold, 0)
		for i := 0; i < runs; i++ {
			if rel, ok := asg.Released["64512:1"]; !ok || rel.VRF != "t/a" || rel.Runs != runs-i {
				t.Fatalf("hold %d run %d: released %+v", hold, i, asg.Released)
			}
			y := simpleVPN("t", "y", "host-b")
			res, _ = opt.Compute(withVPNs(b, x, y), asg)
			if got := vpnRDs(res)["t/y"]; got != "64512:4" {
				t.Fatalf("hold %d run %d: new VRF got %s while 64512:1 is held, want 64512:4", hold, i, got)
			}
			_, asg = opt.Compute(withVPNs(b, x), asg)
		}
		if len(asg.Released) != 0 {
			t.Fatalf("hold %d: still released after %d runs: %+v", hold, runs, asg.Released)
		}
		y := simpleVPN("t", "y", "host-b")
		res, _ = opt.Compute(withVPNs(b, x, y), asg)
		if got := vpnRDs(res)["t/y"]; got != "64512:1" {
			t.Fatalf("hold %d: after the hold y got %s, want 64512:1", hold, got)
		}
	}
}

func TestRDExplicit(t *testing.T) {
	t.Run("any-to-any uses the first", func(t *testing.T) {
		a := simpleVPN("t", "a", "host-a", "host-b")
		a.RDs = []string{"65000:7", "65000:8"}
		b := simpleVPN("t", "b", "host-b")
		res, asg := Compute(withVPNs(a, b), Assignments{})
		for _, h := range []string{"host-a", "host-b"} {
			if rd := res.Hosts[h].VRF("t/a").RD; rd != "65000:7" {
				t.Errorf("%s: RD %s", h, rd)
			}
		}
		if rd := res.Hosts["host-b"].VRF("t/b").RD; rd != "64512:1" {
			t.Errorf("b: RD %s", rd)
		}
		// Switching a to auto: it gets a fresh auto RD, b keeps its own.
		a.RDs = nil
		res, _ = Compute(withVPNs(a, b), asg)
		if got := vpnRDs(res); !reflect.DeepEqual(got, map[string]string{"t/a": "64512:2", "t/b": "64512:1"}) {
			t.Errorf("after switch to auto: %v", got)
		}
	})
	t.Run("explicit RD in the auto range is skipped", func(t *testing.T) {
		a := simpleVPN("t", "a", "host-a")
		a.RDs = []string{"64512:1"}
		b := simpleVPN("t", "b", "host-b")
		res, _ := Compute(withVPNs(a, b), Assignments{})
		if got := vpnRDs(res); !reflect.DeepEqual(got, map[string]string{"t/a": "64512:1", "t/b": "64512:2"}) {
			t.Errorf("RDs %v", got)
		}
	})
	t.Run("prior auto RD now configured explicitly elsewhere", func(t *testing.T) {
		a := simpleVPN("t", "a", "host-a")
		b := simpleVPN("t", "b", "host-b")
		_, asg := Compute(withVPNs(a, b), Assignments{}) // a=1, b=2
		b.RDs = []string{"64512:1"}
		res, _ := Compute(withVPNs(a, b), asg)
		got := vpnRDs(res)
		if got["t/b"] != "64512:1" || got["t/a"] != "64512:3" {
			t.Errorf("RDs %v, want a reassigned to 64512:3 (2 was just released by b)", got)
		}
		if !hasWarning(res, "VRF t/a: route distinguisher 64512:1 is now configured explicitly on VPN t/b") {
			t.Errorf("warnings %q", res.Warnings)
		}
	})
	t.Run("hub-and-spoke pool", func(t *testing.T) {
		m := hubSpokeModel()
		m.VPNs[0].RDs = []string{"65000:10", "65000:11", "65000:10"}
		res, asg := Compute(m, Assignments{})
		want := map[string]string{
			"blue/blue/vfw":  "65000:10", // hub first
			"blue/blue/vnf1": "65000:11",
			"blue/blue/vnf2": "64512:1", // pool exhausted
			"blue/blue/vnf3": "64512:2",
		}
		if got := vpnRDs(res); !reflect.DeepEqual(got, want) {
			t.Fatalf("RDs %v, want %v", got, want)
		}
		if !hasWarning(res, "more VRFs than explicit route distinguishers") {
			t.Errorf("warnings %q", res.Warnings)
		}
		// vnf1 leaves: its pool entry goes to the first VRF without one.
		removeBinding(&m, "vnf1")
		res, _ = Compute(m, asg)
		want = map[string]string{"blue/blue/vfw": "65000:10", "blue/blue/vnf2": "65000:11", "blue/blue/vnf3": "64512:2"}
		if got := vpnRDs(res); !reflect.DeepEqual(got, want) {
			t.Fatalf("after vnf1 left: RDs %v, want %v", got, want)
		}
	})
}

// A VPN that has never had an instance gets no RD: numbers are only
// consumed by VRFs that exist.
func TestRDOnlyForLiveVRFs(t *testing.T) {
	a := simpleVPN("t", "a", "host-a")
	a.Bindings[0].AdminUp = false
	b := simpleVPN("t", "b", "host-b")
	res, asg := Compute(withVPNs(a, b), Assignments{})
	if got := vpnRDs(res); !reflect.DeepEqual(got, map[string]string{"t/b": "64512:1"}) {
		t.Errorf("RDs %v", got)
	}
	if !reflect.DeepEqual(asg.RDs, map[string]string{"t/b": "64512:1"}) {
		t.Errorf("assignments %v", asg.RDs)
	}
}

func TestRDRange(t *testing.T) {
	vpns := []VPN{simpleVPN("t", "a", "host-a"), simpleVPN("t", "b", "host-a"), simpleVPN("t", "c", "host-b")}
	t.Run("custom", func(t *testing.T) {
		res, _ := Options{ASN: 4200000000, Min: 100}.Compute(withVPNs(vpns...), Assignments{})
		want := map[string]string{"t/a": "4200000000:100", "t/b": "4200000000:101", "t/c": "4200000000:102"}
		if got := vpnRDs(res); !reflect.DeepEqual(got, want) {
			t.Errorf("RDs %v, want %v", got, want)
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		res, asg := Options{Min: 5, Max: 6}.Compute(withVPNs(vpns...), Assignments{})
		want := map[string]string{"t/a": "64512:5", "t/b": "64512:6", "t/c": ""}
		if got := vpnRDs(res); !reflect.DeepEqual(got, want) {
			t.Errorf("RDs %v, want %v", got, want)
		}
		if !hasWarning(res, "VRF t/c: no free route distinguisher in 64512:5..64512:6") {
			t.Errorf("warnings %q", res.Warnings)
		}
		if _, ok := asg.RDs["t/c"]; ok {
			t.Errorf("assignments %v", asg.RDs)
		}
	})
	t.Run("prior outside the range is reassigned", func(t *testing.T) {
		prior := Assignments{RDs: map[string]string{"t/a": "64512:1", "t/b": "64512:50", "t/c": "65000:1"}}
		res, _ := Options{Min: 10, Max: 100}.Compute(withVPNs(vpns...), prior)
		want := map[string]string{"t/a": "64512:10", "t/b": "64512:50", "t/c": "64512:11"}
		if got := vpnRDs(res); !reflect.DeepEqual(got, want) {
			t.Errorf("RDs %v, want %v", got, want)
		}
	})
	t.Run("corrupt prior with a duplicate", func(t *testing.T) {
		prior := Assignments{RDs: map[string]string{"t/a": "64512:1", "t/b": "64512:1"}}
		res, _ := Compute(withVPNs(vpns...), prior)
		want := map[string]string{"t/a": "64512:1", "t/b": "64512:2", "t/c": "64512:3"}
		if got := vpnRDs(res); !reflect.DeepEqual(got, want) {
			t.Errorf("RDs %v, want %v", got, want)
		}
	})
}

// Adding and removing VPNs at random keeps the RDs of the VPNs that stay
// and keeps all RDs unique.
func TestRDStabilityRandomWalk(t *testing.T) {
	var pool []VPN
	for i := range 30 {
		pool = append(pool, simpleVPN("t", string(rune('a'+i%26))+string(rune('a'+i/26)), []string{"host-a", "host-b"}[i%2]))
	}
	state := uint32(1)
	rnd := func(n int) int { // deterministic LCG
		state = state*1664525 + 1013904223
		return int(state>>8) % n
	}
	present := map[int]bool{}
	var prior Assignments
	prev := map[string]string{}
	type use struct {
		id   string
		step int
	}
	lastUse := map[string]use{} // RD → last VRF and step it was in use
	for step := range 200 {
		i := rnd(len(pool))
		present[i] = !present[i]
		var vpns []VPN
		for _, k := range slices.Sorted(maps.Keys(present)) {
			if present[k] {
				vpns = append(vpns, pool[k])
			}
		}
		res, next := Compute(withVPNs(vpns...), prior)
		checkRDsUnique(t, res)
		cur := vpnRDs(res)
		for id, rd := range cur {
			if old, ok := prev[id]; ok && old != rd {
				t.Fatalf("step %d: %s changed RD %s → %s", step, id, old, rd)
			}
		}
		for id, rd := range cur {
			if u, ok := lastUse[rd]; ok && u.id != id && step-u.step <= DefaultReleaseHold+1 {
				t.Fatalf("step %d: %s got %s, released by %s at step %d", step, id, rd, u.id, u.step+1)
			}
		}
		for id, rd := range cur {
			lastUse[rd] = use{id, step}
		}
		prev = cur
		prior = next
	}
}

// A VRF that released several RDs (each time it reappeared the old one
// was taken or now configured elsewhere) takes back the most recently
// released one, whatever the map order: Compute stays deterministic.
func TestRDReclaimDeterministic(t *testing.T) {
	prior := Assignments{Released: map[string]Release{
		"64512:2": {VRF: "t/a", Runs: 6},
		"64512:3": {VRF: "t/a", Runs: 8},
		"64512:4": {VRF: "t/a", Runs: 8},
		"64512:5": {VRF: "t/a", Runs: 2},
	}}
	for i := range 50 {
		res, _ := Compute(withVPNs(simpleVPN("t", "a", "host-a")), prior)
		if got := vpnRDs(res)["t/a"]; got != "64512:3" {
			t.Fatalf("run %d: t/a took back %s, want 64512:3 (most recent, then lowest)", i, got)
		}
	}
}
