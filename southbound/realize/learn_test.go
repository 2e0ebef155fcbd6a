package realize_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/southbound/realize"
	"github.com/netready/netready/southbound/routing"
)

func learntRoute(prefix string, label uint32, rt string) routing.Learnt {
	return routing.Learnt{RD: "65000:7", Prefix: netip.MustParsePrefix(prefix), NextHop: netip.MustParseAddr("198.51.100.1"), Label: label, RTs: []string{rt}, Source: "198.51.100.1"}
}

// overlaid is what the forwarders must hold: res with the learnt routes
// laid over it.
func overlaid(res routing.Result, refused []routing.LearntKey, ls ...routing.Learnt) routing.Result {
	t := routing.NewLearntTable()
	t.Update(ls, nil)
	t.Refuse(refused, "refused")
	return t.Overlay(res).Result
}

const blueLearntPath = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/learnt-routes/route"

// Learnt routes reach the VRFs that import their route target on every
// host, stay there across Sets (also when a VRF goes away on one host),
// are shown as the VPN's live state (never sent to the datastore's
// writer), and leave when withdrawn. A route a backend refuses is undone
// everywhere and shown with the reason.
func TestLearn(t *testing.T) {
	r := newRig(t, "any-to-any")
	ctx := context.Background()
	blue, unknown := learntRoute("203.0.113.0/24", 900, "64512:100"), learntRoute("198.18.0.0/15", 901, "64512:999")
	r.e.Learn(ctx, []routing.Learnt{blue, unknown}, nil)
	r.holds("after Learn", overlaid(r.res, nil, blue), vendorA, vendorB)
	if !strings.Contains(r.net.fwdState(vendorA), "203.0.113.0/24") || strings.Contains(r.net.fwdState(vendorA), "198.18.0.0/15") {
		t.Fatalf("vendor-a holds %s", r.net.fwdState(vendorA))
	}
	noLearntUpdate(t, r.e)
	st := r.learntLive(all)
	if got := st[blueLearntPath+"[prefix=203.0.113.0/24][route-distinguisher=65000:7]/installed"]; got != "true" {
		t.Errorf("Blue's learnt route: installed %q; status %v", got, st)
	}
	for p := range st {
		if strings.Contains(p, "198.18.0.0") || strings.Contains(p, "tenant[name=red]") {
			t.Errorf("status for a route nobody imports: %s", p)
		}
	}

	// A Set that changes Blue's routes keeps the learnt one.
	n, _, _ := r.next(moveG3)
	r.commit(n)
	r.holds("after a Set", overlaid(r.res, nil, blue), vendorA, vendorB)

	// Blue leaves host-b: its VRF there goes, learnt route included.
	n, _, _ = r.next(`{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue",
		"bindings": {"binding": [{"interface": "g3", "admin-state": "down"}, {"interface": "g4", "admin-state": "down"}]}}]}}]}}`)
	r.commit(n)
	r.holds("after Blue left host-b", overlaid(r.res, nil, blue), vendorA, vendorB)

	// A route vendor-a refuses is undone and refused, with the reason.
	other := learntRoute("203.0.114.0/24", 902, "64512:100")
	r.failNext(vendorA, 0)
	r.e.Learn(ctx, []routing.Learnt{other}, nil)
	r.holds("after a refused route", overlaid(r.res, []routing.LearntKey{other.Key()}, blue, other), vendorA, vendorB)
	noLearntUpdate(t, r.e)
	st = r.learntLive(all)
	key := blueLearntPath + "[prefix=203.0.114.0/24][route-distinguisher=65000:7]"
	if st[key+"/installed"] != "false" || !strings.Contains(st[key+"/reason"], "vendor-a") {
		t.Errorf("refused route: installed %q reason %q", st[key+"/installed"], st[key+"/reason"])
	}

	// Withdrawn: gone.
	r.e.Learn(ctx, nil, []routing.LearntKey{blue.Key(), other.Key(), unknown.Key()})
	r.holds("after the withdrawal", r.res, vendorA, vendorB)
	if st := r.learntLive(all); len(st) != 0 {
		t.Errorf("learnt routes shown after the withdrawal: %v", st)
	}
}

var all = live.ScopeFunc(func([]*gpb.PathElem) bool { return true })

// learntLive returns the learnt-routes leaves ReadLive gives a reader
// asking for what in selects, by path.
func (r *rig) learntLive(in live.Scope) map[string]string {
	r.t.Helper()
	out := map[string]string{}
	for p, v := range statusMap(r.e.ReadLive(context.Background(), r.root, in)) {
		if strings.Contains(p, "/learnt-routes/") {
			out[p] = v
		}
	}
	return out
}

// noLearntUpdate checks that the engine sent the datastore's writer no
// learnt-routes state: it is live state, read when asked for.
func noLearntUpdate(t *testing.T, e *realize.Engine) {
	t.Helper()
	select {
	case st := <-e.Updates():
		for p := range statusMap(st) {
			if strings.Contains(p, "/learnt-routes/") {
				t.Errorf("learnt-routes state sent to the writer: %s", p)
			}
		}
	default:
	}
}

// A reader (through server/live) is shown the learnt routes its paths
// select: a VPN's, one entry by its keys, none for paths that reach no
// learnt-routes.
func TestLearntRoutesReadLive(t *testing.T) {
	r := newRig(t, "any-to-any")
	a, b := learntRoute("203.0.113.0/24", 900, "64512:100"), learntRoute("203.0.114.0/24", 901, "64512:100")
	r.e.Learn(context.Background(), []routing.Learnt{a, b}, nil)
	reader := live.New(r.e, 2*time.Second)
	first := blueLearntPath + "[prefix=203.0.113.0/24][route-distinguisher=65000:7]/installed"
	second := blueLearntPath + "[prefix=203.0.114.0/24][route-distinguisher=65000:7]/installed"
	for pattern, want := range map[string][]string{
		"/tenants/tenant[name=blue]/vpns/vpn[name=blue]/learnt-routes":                                                     {first, second},
		"/tenants/tenant/vpns/vpn/learnt-routes/route/installed":                                                           {first, second},
		"/tenants/tenant[name=blue]/vpns/vpn[name=blue]/learnt-routes/route[prefix=203.0.114.0/24][route-distinguisher=*]": {second},
		second: {second},
		"/tenants/tenant[name=red]/vpns/vpn[name=red]/learnt-routes": nil,
		"/tenants/tenant[name=blue]/vpns/vpn[name=blue]/counters":    nil,
	} {
		elems, err := gnmipath.Parse(pattern)
		if err != nil {
			t.Fatal(err)
		}
		root := reader.Overlay(context.Background(), r.root, elems)
		var got []string
		for _, p := range []string{first, second} {
			if n := lookup(t, root, p); n != nil && n.Value() == true {
				got = append(got, p)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: shown %v, want %v", pattern, got, want)
		}
	}
}

// A reader naming one learnt route by its keys is answered by a look-up:
// its allocations are the same in a VPN of 100 routes and of 5,000 (it
// looked at every entry, allocating each one's prefix as a key string).
func TestLearntOneRouteReadIndependentOfSize(t *testing.T) {
	one := blueLearntPath + "[prefix=10.0.0.0/24][route-distinguisher=65000:7]/installed"
	elems, err := gnmipath.Parse(one)
	if err != nil {
		t.Fatal(err)
	}
	allocs := map[int]float64{}
	for _, n := range []int{100, 5000} {
		r := newRig(t, "any-to-any")
		routes := make([]routing.Learnt, n)
		for i := range routes {
			routes[i] = learntRoute(fmt.Sprintf("10.%d.%d.0/24", i/256, i%256), 900, "64512:100")
		}
		r.e.Learn(context.Background(), routes, nil)
		reader := live.New(r.e, 2*time.Second)
		if n := lookup(t, reader.Overlay(context.Background(), r.root, elems), one); n == nil || n.Value() != true {
			t.Fatalf("%d routes: %s not shown installed", len(routes), one)
		}
		allocs[n] = testing.AllocsPerRun(20, func() { reader.Overlay(context.Background(), r.root, elems) })
	}
	if allocs[5000] > allocs[100]+10 {
		t.Errorf("reading one route allocates %.0f times in a VPN of 100 routes, %.0f in one of 5,000: want the same", allocs[100], allocs[5000])
	}
}

// A lost commit (Abort) places the learnt routes again from scratch:
// readers are shown them as the backends hold them, not as the lost
// transaction left them.
func TestLearntShownAfterAbort(t *testing.T) {
	r := newRig(t, "any-to-any")
	blue := learntRoute("203.0.113.0/24", 900, "64512:100")
	r.e.Learn(context.Background(), []routing.Learnt{blue}, nil)
	installed := blueLearntPath + "[prefix=203.0.113.0/24][route-distinguisher=65000:7]/installed"
	n, _, _ := r.next(`{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue",
		"bindings": {"binding": [{"interface": "g1", "admin-state": "down"}, {"interface": "g2", "admin-state": "down"},
		{"interface": "g3", "admin-state": "down"}, {"interface": "g4", "admin-state": "down"}]}}]}}]}}`)
	p, err := r.prepare(n)
	if err != nil {
		t.Fatal(err)
	}
	if st := r.learntLive(all); len(st) != 0 { // no binding of Blue left: no VRF imports it
		t.Fatalf("after Prepare, with no VRF of Blue: %v", st)
	}
	p.Abort()
	if st := r.learntLive(all); st[installed] != "true" {
		t.Errorf("after Abort: %v, want %s true", st, installed)
	}
}

// A flood of learnt routes holds up another transaction by one slice at
// most: a Set that comes while the flood's first slice is at a backend
// reaches the backend before the rest of the flood, and the backends
// end up holding the Set's network with every learnt route, as if the
// two had been applied in that order.
func TestLearnGivesWayToSets(t *testing.T) {
	r := newRig(t, "any-to-any")
	flood := make([]routing.Learnt, 2000)
	for i := range flood {
		flood[i] = learntRoute(netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}), 32).String(), 900, "64512:100")
	}
	gate, entered := make(chan struct{}), make(chan string, 1)
	r.net.inject(vendorA, func(f *fault) { f.gate, f.entered = gate, entered })
	mark := r.net.mark()
	learnt := make(chan struct{})
	go func() {
		defer close(learnt)
		r.e.Learn(context.Background(), flood, nil)
	}()
	<-entered // the first slice is at vendor-a, under the engine lock
	n, _, _ := r.next(moveG3)
	type result struct {
		p   realizer.Prepared
		err error
	}
	prepared := make(chan result)
	go func() {
		p, err := r.prepare(n)
		prepared <- result{p, err}
	}()
	time.Sleep(100 * time.Millisecond) // the Set waits for the engine lock
	close(gate)
	got := <-prepared
	if got.err != nil {
		t.Fatal(got.err)
	}
	<-learnt
	r.committed(got.p, n)

	ahead := 0 // learnt route changes vendor-a got before the Set's
	for _, c := range r.net.since(mark, vendorA) {
		if c.op != "apply" {
			continue
		}
		if !slices.ContainsFunc(c.changes, func(s string) bool { return strings.Contains(s, "100.64.") }) {
			break
		}
		ahead += len(c.changes)
	}
	if ahead == 0 || ahead >= len(flood) {
		t.Errorf("vendor-a got %d of the %d learnt routes before the waiting Set, want one slice", ahead, len(flood))
	}
	r.holds("after the flood and the Set", overlaid(r.res, nil, flood...), vendorA, vendorB)
}

// TestLearnRestsBetweenSlices: after a slice, Learn rests as long as
// learnShare asks before the next, so a flood takes at most its share of
// the machine. The first slice is held at vendor-a for 100 ms; the next
// cannot reach vendor-a before it has rested as long again.
func TestLearnRestsBetweenSlices(t *testing.T) {
	r := newRig(t, "any-to-any")
	flood := make([]routing.Learnt, 400) // two slices
	for i := range flood {
		flood[i] = learntRoute(netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 65, byte(i >> 8), byte(i)}), 32).String(), 901, "64512:100")
	}
	gate, entered := make(chan struct{}), make(chan string, 4)
	r.net.inject(vendorA, func(f *fault) { f.gate, f.entered = gate, entered })
	learnt := make(chan struct{})
	go func() {
		defer close(learnt)
		r.e.Learn(context.Background(), flood, nil)
	}()
	<-entered
	first := time.Now()
	time.Sleep(100 * time.Millisecond)
	close(gate)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the second slice never reached vendor-a")
	}
	if took := time.Since(first); took < 200*time.Millisecond {
		t.Errorf("the second slice reached vendor-a %v after the first; want at least 200 ms (100 held, 100 rested)", took)
	}
	<-learnt
}
