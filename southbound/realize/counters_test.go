package realize_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/tree"
)

const (
	blueVPN  = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	redVPN   = "/tenants/tenant[name=red]/vpns/vpn[name=red]"
	inPkts   = "/counters/in-pkts"
	outOctet = "/counters/out-octets"
)

// readLive returns what ReadLive gives, applied to the committed tree,
// as leaf values by path.
func (r *rig) readLive(ctx context.Context) map[string]string {
	r.t.Helper()
	txn := tree.Begin(r.root)
	r.e.ReadLive(ctx, r.root, live.ScopeFunc(func([]*gpb.PathElem) bool { return true })).Apply(txn)
	out := map[string]string{}
	for _, p := range []string{blueVPN, redVPN} {
		for _, b := range []string{"", "/bindings/binding[interface=g1]", "/bindings/binding[interface=g3]", "/bindings/binding[interface=g5]", "/bindings/binding[interface=g6]"} {
			for _, leaf := range []string{inPkts, outOctet} {
				if n := lookup(r.t, txn.Root(), p+b+leaf); n != nil {
					out[p+b+leaf] = fmt.Sprint(n.Value())
				}
			}
		}
	}
	return out
}

func lookup(t testing.TB, root *tree.Node, p string) *tree.Node {
	t.Helper()
	elems, err := gnmipath.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := tree.Resolve(root.Schema(), elems)
	if err != nil {
		t.Fatal(err)
	}
	return tree.Lookup(root, rp)
}

// The engine reads every binding's counters from the backend of its host
// and sums them per VPN; a backend that does not answer within the
// reader's time leaves its bindings, and the VPNs they are in, without
// counters, while the other backend's are read as usual.
func TestReadLiveCounters(t *testing.T) {
	r := newRig(t, "any-to-any")
	label := func(host, vrf, iface string) uint64 {
		for _, v := range r.res.Hosts[host].VRFs {
			if v.ID == vrf {
				for _, p := range v.Ports {
					if p.Interface == iface {
						return uint64(p.Label)
					}
				}
			}
		}
		t.Fatalf("no port %s in %s on %s", iface, vrf, host)
		return 0
	}
	got := r.readLive(context.Background())
	g1, g3 := label("host-a", "blue/blue", "g1"), label("host-b", "blue/blue", "g3")
	want := map[string]string{
		blueVPN + "/bindings/binding[interface=g1]" + inPkts:   fmt.Sprint(g1),
		blueVPN + "/bindings/binding[interface=g3]" + inPkts:   fmt.Sprint(g3),
		blueVPN + "/bindings/binding[interface=g3]" + outOctet: fmt.Sprint(200 * g3),
	}
	for p, v := range want {
		if got[p] != v {
			t.Errorf("%s = %q, want %q", p, got[p], v)
		}
	}
	var blueIn uint64
	for _, v := range r.res.Hosts {
		for _, vrf := range v.VRFs {
			if vrf.ID == "blue/blue" {
				for _, p := range vrf.Ports {
					blueIn += uint64(p.Label)
				}
			}
		}
	}
	if got[blueVPN+inPkts] != fmt.Sprint(blueIn) {
		t.Errorf("blue's in-pkts %s, want the sum of its bindings' %d", got[blueVPN+inPkts], blueIn)
	}

	// Asked for g1's counters only: only vendor-a (host-a) is read, and
	// only g1 gets counters.
	m := r.net.mark()
	txn := tree.Begin(r.root)
	st := r.e.ReadLive(context.Background(), r.root, live.ScopeFunc(func(c []*gpb.PathElem) bool {
		return len(c) > 5 && c[5].GetKey()["interface"] == "g1"
	}))
	st.Apply(txn)
	if len(st) != 4 || lookup(t, txn.Root(), blueVPN+"/bindings/binding[interface=g1]"+inPkts) == nil {
		t.Errorf("asked for g1 only, got %d edits", len(st))
	}
	if calls := r.net.since(m, vendorB); len(calls) != 0 {
		t.Errorf("asked for g1 (host-a) only, vendor-b was called: %+v", calls)
	}

	// vendor-b hangs.
	gate := make(chan struct{})
	r.net.inject(vendorB, func(f *fault) { f.gate = gate })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	got = r.readLive(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a hung backend held the read for %v", took)
	}
	if _, ok := got[blueVPN+"/bindings/binding[interface=g1]"+inPkts]; !ok {
		t.Error("vendor-a's binding g1 lost its counters to vendor-b hanging")
	}
	for _, p := range []string{blueVPN + "/bindings/binding[interface=g3]" + inPkts, blueVPN + inPkts, redVPN + inPkts} {
		if v, ok := got[p]; ok {
			t.Errorf("%s = %s while its backend does not answer; want none", p, v)
		}
	}
	r.net.inject(vendorB, func(f *fault) { f.gate = nil })
	close(gate)
	// The abandoned call returns the driver's lock: the next read counts.
	eventually(t, "vendor-b to count again", func() bool {
		_, ok := r.readLive(context.Background())[blueVPN+inPkts]
		return ok
	})
}
