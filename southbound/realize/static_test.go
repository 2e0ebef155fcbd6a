package realize_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

const ecmpStatic = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/static-routes/route[prefix=10.1.2.0/24]/status"

// bindingsDown is a document taking bindings of the ecmp scenario's VPN
// blue admin down.
func bindingsDown(ifaces ...string) string {
	var bs []string
	for _, i := range ifaces {
		bs = append(bs, `{"interface": "`+i+`", "admin-state": "down"}`)
	}
	return `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue", "bindings": {"binding": [` +
		strings.Join(bs, ",") + `]}}]}}]}}`
}

// reasons returns the values of the leaf-list edit at path, "" joined.
func reasons(st realizer.Status, path string) string {
	for _, e := range st {
		if e.Values != nil && tree.PathString(e.Path) == path {
			return fmt.Sprint(e.Values)
		}
	}
	return ""
}

// TestStaticRouteStatus: a static route's status says whether the network
// holds it: installed while a next hop is an active binding's address,
// not installed with the reason once none is, and installed again when
// one comes back.
func TestStaticRouteStatus(t *testing.T) {
	r := newRig(t, "ecmp") // 10.1.2.0/24 via 10.1.1.6 (vnf2) and 10.1.1.3 (vnf3)
	if _, err := r.e.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	cur := applyStatus(r.root, <-r.e.Updates())
	if got := leafAt(cur, ecmpStatic+"/installed"); got != "true" {
		t.Fatalf("installed = %q at the start, want true", got)
	}

	step := func(doc string) realizer.Status {
		t.Helper()
		n := merge(t, cur, doc)
		p, err := r.e.Prepare(context.Background(), changeset.Compute(cur, n))
		if err != nil || p == nil {
			t.Fatalf("Prepare: %v, %v", p, err)
		}
		p.Commit()
		st := p.Status()
		cur = applyStatus(n, st)
		return st
	}

	st := step(bindingsDown("vnf2"))
	if got := statusMap(st)[ecmpStatic+"/installed"]; got != "" && got != "true" {
		t.Errorf("one of two next hops down: installed = %q, want true", got)
	}
	if why := reasons(st, ecmpStatic+"/reason"); !strings.Contains(why, "next hop 10.1.1.6 is not the address of an active binding") {
		t.Errorf("one of two next hops down: reason %q, want next hop 10.1.1.6 named", why)
	}

	st = step(bindingsDown("vnf3"))
	if got := statusMap(st)[ecmpStatic+"/installed"]; got != "false" {
		t.Errorf("both next hops down: installed = %q, want false", got)
	}
	if why := reasons(st, ecmpStatic+"/reason"); !strings.Contains(why, "no resolvable next hop") {
		t.Errorf("both next hops down: reason %q, want 'no resolvable next hop'", why)
	}

	st = step(`{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue", "bindings": {"binding": [{"interface": "vnf3", "admin-state": "up"}]}}]}}]}}`)
	if got := statusMap(st)[ecmpStatic+"/installed"]; got != "true" {
		t.Errorf("vnf3 back up: installed = %q, want true", got)
	}

	// Computed, but on no forwarder: both backends admin down.
	st = step(`{"netready-infrastructure:backends": {"backend": [{"name": "vendor-a", "admin-state": "down"}, {"name": "vendor-b", "admin-state": "down"}]}}`)
	if got := statusMap(st)[ecmpStatic+"/installed"]; got != "false" {
		t.Errorf("both backends down: installed = %q, want false", got)
	}
	if why := reasons(st, ecmpStatic+"/reason"); !strings.Contains(why, "whose backends are not up and in sync") {
		t.Errorf("both backends down: reason %q, want the backends named", why)
	}
}

// leafAt returns the value of the leaf at path in root, "" when absent.
func leafAt(root *tree.Node, path string) string {
	var out string
	changeset.Compute(tree.NewRoot(&schema.Schema{Root: root.Schema()}), root).Walk(func(chain []*tree.Node, _, n *tree.Node) bool {
		if n != nil && tree.ChainString(chain) == path {
			out = fmt.Sprint(n.Value())
		}
		return true
	})
	return out
}
