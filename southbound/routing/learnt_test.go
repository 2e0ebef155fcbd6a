package routing

import (
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func learntAt(prefix string, label uint32, rts ...string) Learnt {
	return Learnt{RD: "65000:7", Prefix: netip.MustParsePrefix(prefix), NextHop: netip.MustParseAddr("198.51.100.1"), Label: label, RTs: rts, Source: "198.51.100.1"}
}

// A learnt route goes into every VRF instance importing one of its
// route targets, as a HopLearnt hop to its next hop with its label;
// nowhere when nobody imports it; not over the VPN's own route, and not
// with a label the VRF already uses for another tunnel endpoint.
func TestLearntPlacement(t *testing.T) {
	res, _ := Compute(anyToAnyModel(), Assignments{})
	blueA := res.Hosts["host-a"].VRF("blue/blue")
	taken := blueA.Ports[0].Label
	good, unknown := learntAt("203.0.113.0/24", 900, "64512:100"), learntAt("198.18.0.0/15", 901, "64512:999")
	own, clash := learntAt("10.1.1.5/32", 902, "64512:100"), learntAt("203.0.114.0/24", taken, "64512:100")
	tbl := NewLearntTable()
	tbl.Update([]Learnt{good, unknown, own, clash}, nil)
	pl := tbl.Overlay(res)
	tbl.Keep(pl)

	for _, h := range []string{"host-a", "host-b"} {
		v := pl.Result.Hosts[h].VRF("blue/blue")
		r := v.Route(good.Prefix)
		want := []Hop{{Kind: HopLearnt, Addr: good.NextHop, Label: 900, Underlay: good.NextHop}}
		if r == nil || !slices.Equal(r.NextHops, want) {
			t.Errorf("%s: Blue routes %s as %+v", h, good.Prefix, r)
		}
		if r := v.Route(own.Prefix); r == nil || r.NextHops[0].Kind == HopLearnt {
			t.Errorf("%s: the learnt %s replaced Blue's own route: %+v", h, own.Prefix, r)
		}
		if v.Route(clash.Prefix) != nil || v.Route(unknown.Prefix) != nil {
			t.Errorf("%s: Blue holds a route it must not", h)
		}
		if red := pl.Result.Hosts[h].VRF("red/red"); red.Route(good.Prefix) != nil {
			t.Errorf("%s: Red imports Blue's route", h)
		}
	}
	if res.Hosts["host-a"].VRF("blue/blue").Route(good.Prefix) != nil {
		t.Error("Overlay changed the computed Result")
	}
	st := tbl.VPNStatus("blue", "blue", nil)
	got := map[string]string{}
	for _, s := range st {
		got[s.Prefix.String()] = s.Reason
		if s.Installed != (s.Reason == "") {
			t.Errorf("%s: installed %v with reason %q", s.Prefix, s.Installed, s.Reason)
		}
	}
	if len(got) != 3 || got["203.0.113.0/24"] != "" || !strings.Contains(got["10.1.1.5/32"], "own route") || !strings.Contains(got["203.0.114.0/24"], "label") {
		t.Errorf("Blue's learnt routes: %v", got)
	}
	if st := tbl.VPNStatus("red", "red", nil); len(st) != 0 {
		t.Errorf("Red's learnt routes: %v", st)
	}
}

// Place, kept up step by step across Sets and learnt updates, gives what
// Overlay gives from nothing, and the spliced changes are those of Diff
// between the overlaid Results, deletes before creates.
func TestLearntIncremental(t *testing.T) {
	m := anyToAnyModel()
	comp, asg := Compute(m, Assignments{})
	tbl := NewLearntTable()
	eff := tbl.Overlay(comp).Result
	check := func(step string, nextComp Result, diffs map[string][]Change, dirty map[VRFRef]bool) {
		t.Helper()
		pl := tbl.Place(eff, nextComp, dirty)
		got := Splice(diffs, LearntChanges(eff, pl.Result, pl.Changed), pl.Changed)
		if want := tbl.Overlay(nextComp).Result; !reflect.DeepEqual(flat(pl.Result), flat(want)) {
			t.Fatalf("%s: incremental placement differs from a full one", step)
		}
		want := Diff(eff, pl.Result)
		for _, b := range []string{"vendor-a", "vendor-b"} {
			g, w := learntChangeStrings(got[b]), learntChangeStrings(want[b])
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Errorf("%s: %s gets\n%v\nwant\n%v", step, b, g, w)
			}
			checkPhases(t, step, got[b])
		}
		tbl.Keep(pl)
		eff, comp = pl.Result, nextComp
	}
	setStep := func(step string, m Model) {
		next, a := Compute(m, asg)
		asg = a
		diffs := Diff(comp, next)
		dirty := map[VRFRef]bool{}
		for _, cs := range diffs {
			for _, c := range cs {
				dirty[VRFRef{c.Host, c.VRF}] = true
			}
		}
		check(step, next, diffs, dirty)
	}
	learnStep := func(step string, add []Learnt, del []LearntKey) {
		t.Helper()
		keys := slices.Clone(del)
		for _, l := range add {
			keys = append(keys, l.Key())
		}
		next, changes, _ := tbl.Learn(eff, comp, tbl.Update(add, del), keys)
		if want := tbl.Overlay(comp).Result; !reflect.DeepEqual(flat(next), flat(want)) {
			t.Fatalf("%s: Learn's placement differs from a full one", step)
		}
		want := Diff(eff, next)
		for _, b := range []string{"vendor-a", "vendor-b"} {
			got := slices.Concat(changes[b][0], changes[b][1])
			g, w := learntChangeStrings(got), learntChangeStrings(want[b])
			slices.Sort(g)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Errorf("%s: %s gets\n%v\nwant\n%v", step, b, g, w)
			}
			checkPhases(t, step, got)
		}
		eff = next
	}

	a, b := learntAt("203.0.113.0/24", 900, "64512:100"), learntAt("10.9.0.0/16", 901, "64512:100", "64512:200")
	learnStep("learn", []Learnt{a, b}, nil)
	m.VPNs[0].Bindings[2].AdminUp, m.VPNs[0].Bindings[3].AdminUp = false, false
	setStep("Blue leaves host-b", m)
	m.VPNs[0].StaticRoutes = []StaticRoute{{Prefix: a.Prefix, NextHops: []NextHop{{Addr: netip.MustParseAddr("10.1.1.5")}}}}
	setStep("a static route over the learnt one", m)
	m.VPNs[0].Bindings[2].AdminUp = true
	setStep("Blue back on host-b", m)
	m.VPNs[1].ImportRTs = nil
	setStep("Red stops importing", m)
	low, high := learntAt("203.0.115.0/24", 950, "64512:100"), learntAt("203.0.116.0/24", 950, "64512:100")
	low.RD, high.RD = "65000:8", "65000:9"
	low.NextHop = netip.MustParseAddr("198.51.100.0") // lower than high's: takes label 950 from it
	learnStep("one label, two next hops", []Learnt{high}, nil)
	learnStep("the lower next hop wins the label", []Learnt{low}, nil)
	learnStep("the lower one goes", nil, []LearntKey{low.Key()})
	learnStep("withdraw", nil, []LearntKey{b.Key()})
	m.VPNs[0].StaticRoutes = nil
	setStep("the static route goes", m)
}

func learntChangeStrings(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
		if c.Route != nil {
			out[i] += " " + hopsOf(c.Route)
		}
	}
	return out
}

func hopsOf(r *Route) string {
	var b strings.Builder
	for _, h := range r.NextHops {
		b.WriteString(h.String() + ";")
	}
	return b.String()
}

// checkPhases checks that no VRF gets a route before it is created or
// after it is deleted, and that route deletes come before route creates.
func checkPhases(t *testing.T, step string, cs []Change) {
	t.Helper()
	lastDel, firstSet := -1, len(cs)
	for i, c := range cs {
		if c.Kind != KindRoute {
			continue
		}
		if c.Op == Delete {
			lastDel = i
		} else if i < firstSet {
			firstSet = i
		}
	}
	if lastDel > firstSet {
		t.Errorf("%s: a route delete after a route create: %v", step, cs)
	}
	for i, c := range cs {
		if c.Kind != KindVRF {
			continue
		}
		for j, o := range cs {
			if o.Kind == KindRoute && o.Host == c.Host && o.VRF == c.VRF && (c.Op == Delete && j > i || c.Op == Create && j < i) {
				t.Errorf("%s: %s and %s out of order", step, c, o)
			}
		}
	}
}

// A learnt IPv6 route is placed only in VRF instances of hosts whose
// backend realizes IPv6; elsewhere it is not installed, and says why.
// IPv4 routes go everywhere as before, through both entry points
// (Overlay, Learn).
func TestLearntIPv6OnlyWhereRealized(t *testing.T) {
	res, _ := Compute(anyToAnyModel(), Assignments{})
	noV6 := res.Hosts["host-b"].Backend
	v6, v4 := learntAt("2001:db8:203::/48", 900, "64512:100"), learntAt("203.0.113.0/24", 901, "64512:100")
	for _, how := range []string{"overlay", "learn"} {
		tbl := NewLearntTable()
		tbl.SetIPv6(func(b string) bool { return b != noV6 })
		tbl.Update([]Learnt{v6, v4}, nil)
		var out Result
		if how == "overlay" {
			out = tbl.Overlay(res).Result
		} else {
			out, _, _ = tbl.Learn(res, res, []string{"64512:100"}, []LearntKey{v6.Key(), v4.Key()})
		}
		for h, wantV6 := range map[string]bool{"host-a": true, "host-b": false} {
			v := out.Hosts[h].VRF("blue/blue")
			if got := v.Route(v6.Prefix) != nil; got != wantV6 {
				t.Errorf("%s: %s in Blue: %v, want %v", how, h, got, wantV6)
			}
			if v.Route(v4.Prefix) == nil {
				t.Errorf("%s: %s: Blue lacks the IPv4 route", how, h)
			}
		}
		for _, s := range tbl.VPNStatus("blue", "blue", nil) {
			if s.Prefix == v6.Prefix && (s.Installed || !strings.Contains(s.Reason, "does not realize IPv6") || !strings.Contains(s.Reason, noV6)) {
				t.Errorf("%s: IPv6 route status %+v, want not installed, naming backend %s", how, s, noV6)
			}
			if s.Prefix == v4.Prefix && !s.Installed {
				t.Errorf("%s: IPv4 route status %+v", how, s)
			}
		}
	}
}

// A learn step costs what it touches, not what the VRF holds: a step of
// 250 routes into VRF instances of 100,000 learnt routes allocates about
// as much as into instances of 1,000 (it copied the 100,000 before, 6.4
// MB per instance), and leaves the Result before it as it was.
func TestLearnStepCostsTheStep(t *testing.T) {
	const step = 250
	perStep := func(size int) (uint64, *flood) {
		f := newFlood(size)
		f.step(0, step) // warm up the table's maps
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const steps = 8
		for n := 1; n <= steps; n++ {
			f.step(n, step)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / steps, f
	}
	small, _ := perStep(1_000)
	big, f := perStep(100_000)
	t.Logf("bytes per step of %d: %d into 1,000 routes, %d into 100,000", step, small, big)
	if big > 2*small {
		t.Errorf("a step of %d routes allocates %d bytes into 100,000 routes, %d into 1,000: it grows with the VRF", step, big, small)
	}

	prev, relabel := f.eff, []Learnt{f.routes[0]}
	relabel[0].Label = 999
	f.eff, _, _ = f.tbl.Learn(prev, f.comp, f.tbl.Update(relabel, nil), keysOf(relabel))
	label := func(res Result) uint32 {
		return res.Hosts["host-a"].VRF("blue/blue").Route(relabel[0].Prefix).NextHops[0].Label
	}
	if got := label(prev); got == 999 {
		t.Error("the step changed the Result before it")
	}
	if got := label(f.eff); got != 999 {
		t.Errorf("the step left %s with label %d, want 999", relabel[0].Prefix, got)
	}
	if n := f.eff.Hosts["host-a"].VRF("blue/blue").Learnt.Len(); n != 100_000 {
		t.Errorf("Blue holds %d learnt routes, want 100,000", n)
	}
}
