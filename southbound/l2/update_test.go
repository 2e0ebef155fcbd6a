package l2_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/netready/netready/southbound/l2"
)

// TestUpdateIsCompute changes a model at random (networks and bindings
// come, go and change; segmentation ids collide, so VNIs move; now and
// then a host changes) and checks after every step that Update gives
// what Compute and Diff give.
func TestUpdateIsCompute(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 11))
		m := randomModel(r)
		prev := l2.Compute(m)
		for step := range 200 {
			next := mutate(r, m)
			want := l2.Compute(next)
			wantDiff := l2.Diff(prev, want)
			got, gotDiff := l2.Update(prev, m, next)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d step %d: Update's result differs from Compute's\nmodel %+v", seed, step, next)
			}
			if !reflect.DeepEqual(gotDiff, wantDiff) {
				t.Fatalf("seed %d step %d: Update's changes\n%v\nwant Diff's\n%v", seed, step, gotDiff, wantDiff)
			}
			m, prev = next, got
		}
	}
}

var hostNames = []string{"a", "b", "c"}

func randomModel(r *rand.Rand) l2.Model {
	m := l2.Model{Hosts: []l2.Host{{"a", "ba", addrA}, {"b", "bb", addrB}, {"c", "bb", addrC}}}
	for i := range 4 {
		m.Networks = append(m.Networks, randomNetwork(r, "t", fmt.Sprint("n", i)))
	}
	return m
}

func randomNetwork(r *rand.Rand, tenant, name string) l2.Network {
	n := l2.Network{Tenant: tenant, Name: name}
	if r.IntN(2) == 0 {
		n.SegmentID = uint32(1 + r.IntN(3)) // few ids: networks collide, VNIs move
	}
	for i := range r.IntN(5) {
		n.Bindings = append(n.Bindings, l2.Binding{Interface: fmt.Sprint("i", i), Host: hostNames[r.IntN(3)],
			VNIC: fmt.Sprint("v", r.IntN(4)), VLAN: uint16(r.IntN(2) * 100), AdminUp: r.IntN(4) != 0})
	}
	return n
}

// mutate returns m with one random change; m is not modified.
func mutate(r *rand.Rand, m l2.Model) l2.Model {
	out := l2.Model{Hosts: append([]l2.Host(nil), m.Hosts...), Networks: append([]l2.Network(nil), m.Networks...)}
	switch k := r.IntN(10); {
	case k == 0: // a host moves to another backend or address
		h := &out.Hosts[r.IntN(len(out.Hosts))]
		h.Backend = []string{"ba", "bb"}[r.IntN(2)]
	case k < 3 && len(out.Networks) > 0: // a network goes
		i := r.IntN(len(out.Networks))
		out.Networks = append(out.Networks[:i:i], out.Networks[i+1:]...)
	case k < 5: // a network comes (or is replaced)
		n := randomNetwork(r, "t", fmt.Sprint("n", r.IntN(6)))
		out.Networks = upsert(out.Networks, n)
	case len(out.Networks) > 0: // one binding of a network changes
		i := r.IntN(len(out.Networks))
		n := out.Networks[i]
		n.Bindings = append([]l2.Binding(nil), n.Bindings...)
		if len(n.Bindings) > 0 {
			b := &n.Bindings[r.IntN(len(n.Bindings))]
			b.AdminUp = !b.AdminUp
			b.Host = hostNames[r.IntN(3)]
		}
		out.Networks[i] = n
	}
	return out
}

// upsert replaces the network of n's ID, or adds n.
func upsert(nets []l2.Network, n l2.Network) []l2.Network {
	for i := range nets {
		if nets[i].ID() == n.ID() {
			nets[i] = n
			return nets
		}
	}
	return append(nets, n)
}
