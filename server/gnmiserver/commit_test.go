package gnmiserver

import (
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// rollbackInside runs for every operation of every Set: for a one-leaf
// Set elsewhere in the tree it allocated the chain of schema nodes from
// the root to rollback-to, one slice per level (4 allocations), and now
// allocates nothing. It still refuses a payload above the leaf that
// holds it, and only that.
func TestRollbackInsideAllocatesNothing(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	leaf := rollbackLeaf(sch)
	op := func(js string, names ...string) datastore.Op {
		p := tree.MustResolve(sch.Root, names...)
		payload, err := decodePayload(sch, p, &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(js)}}, true)
		if err != nil {
			t.Fatal(err)
		}
		return datastore.Op{Kind: datastore.Update, Path: p, Payload: payload}
	}
	mtu := op(`1500`, "tenants", "tenant", "ports", "port", "mtu")
	if n := testing.AllocsPerRun(100, func() { _ = rollbackInside(mtu, leaf) }); n != 0 {
		t.Errorf("rollbackInside of a one-leaf Set allocates %.0f times, want 0", n)
	}
	for _, c := range []struct {
		name string
		op   datastore.Op
		want codes.Code
	}{
		{"elsewhere", mtu, codes.OK},
		{"the leaf itself", op(`"5"`, "system", "config", "rollback-to"), codes.OK},
		{"config holding it", op(`{"rollback-to":"5"}`, "system", "config"), codes.InvalidArgument},
		{"system holding it", op(`{"config":{"rollback-to":"5"}}`, "system"), codes.InvalidArgument},
		{"the root holding it", op(`{"netready-system:system":{"config":{"rollback-to":"5"}}}`), codes.InvalidArgument},
	} {
		if got := status.Code(rollbackInside(c.op, leaf)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
