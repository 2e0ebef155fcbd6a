package telemetry

import (
	"fmt"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// portsTree is a tenant with n ports of the given mtu.
func portsTree(t *testing.T, sch *schema.Schema, n, mtu int) *tree.Node {
	var ports []string
	for i := range n {
		ports = append(ports, fmt.Sprintf(`{"name":"p%d","host":"h","mtu":%d}`, i, mtu))
	}
	js := `{"netready-tenants:tenants":{"tenant":[{"name":"t","ports":{"port":[` + strings.Join(ports, ",") + `]}}]}}`
	payload, err := tree.DecodeRootJSON(sch.Root, []byte(js), true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(sch))
	if err := txn.Replace(nil, payload); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

// TestChangesShareListPaths: the paths of the 1,000 mtu leaves a Set
// changes share the elements down to the port list, so each costs its
// port's element, its key map, the leaf's element and the slice (5
// allocations); built whole, each path allocated its 5 elements, 2 key
// maps and the resolved path besides (12).
func TestChangesShareListPaths(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	cs := changeset.Compute(portsTree(t, sch, n, 9000), portsTree(t, sch, n, 2000))
	var changes []change
	perLeaf := testing.AllocsPerRun(5, func() { changes = changesOf(cs) }) / n
	mtus := 0
	for _, c := range changes {
		if c.leaf != nil && c.leaf.Schema().Name == "mtu" {
			mtus++
			if p := gnmipath.String(c.path); !strings.HasPrefix(p, "/tenants/tenant[name=t]/ports/port[name=p") || !strings.HasSuffix(p, "]/mtu") {
				t.Fatalf("changed leaf at %s", p)
			}
		}
	}
	if mtus != n {
		t.Fatalf("%d mtu changes, want %d", mtus, n)
	}
	t.Logf("%.1f allocations per changed leaf", perLeaf)
	if perLeaf > 6 {
		t.Errorf("%.1f allocations per changed leaf, want <= 6", perLeaf)
	}
}

// TestNotificationUpdatesShareAllocations: the ON_CHANGE push of 1,000
// changed mtu leaves costs per update its value (the TypedValue, its
// oneof and the JSON bytes); the updates and their paths come from one
// allocation each. Allocated one by one they were 5 per update.
func TestNotificationUpdatesShareAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	changes := changesOf(changeset.Compute(portsTree(t, sch, n, 9000), portsTree(t, sch, n, 2000)))
	pattern, err := gnmipath.Parse("/tenants/tenant[name=t]/ports")
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{req: &Request{Encoding: gpb.Encoding_JSON_IETF, Strip: 3}, live: []*Sub{{Pattern: pattern, Mode: gpb.SubscriptionMode_ON_CHANGE}}}
	var note *gpb.Notification
	perUpdate := testing.AllocsPerRun(5, func() { note = s.notification(datastore.Event{}, changes) }) / n
	if len(note.GetUpdate()) != n {
		t.Fatalf("%d updates, want %d", len(note.GetUpdate()), n)
	}
	if p := gnmipath.String(note.GetUpdate()[7].GetPath().GetElem()); !strings.HasPrefix(p, "/port[name=p") || !strings.HasSuffix(p, "]/mtu") {
		t.Fatalf("update at %s, want a port's mtu relative to the prefix", p)
	}
	if v := string(note.GetUpdate()[7].GetVal().GetJsonIetfVal()); v != "2000" {
		t.Fatalf("update value %s, want 2000", v)
	}
	t.Logf("%.2f allocations per update", perUpdate)
	if perUpdate > 3.1 {
		t.Errorf("%.2f allocations per update, want <= 3.1", perUpdate)
	}
}
