package access_test

import (
	"context"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/access"
	"github.com/netready/netready/server/auth"
	"github.com/netready/netready/server/authz"
	"github.com/netready/netready/server/tree"
)

// Every Set asks the control four times who the caller is and what it may
// do (WriteScope, Readable, Writable, MayWrite). For a caller the policy
// permits everything each question built the caller's subject on the heap
// (4 allocations per Set); now none does. A tenant's answers, which keep
// the subject to judge path by path, are unchanged.
func TestAdminQuestionsAllocateNothing(t *testing.T) {
	c := access.New(authz.DefaultPolicy(), 0)
	admin := auth.NewContext(context.Background(), &auth.Identity{User: "admin", Roles: []string{authz.AdminRole}})
	port := []*gpb.PathElem{{Name: "tenants"}, {Name: "tenant", Key: map[string]string{"name": "blue"}}, {Name: "ports"}}
	n := testing.AllocsPerRun(100, func() {
		if c.WriteScope(admin) != nil || c.Readable(admin, false) != nil || c.Writable(admin) != nil || !c.MayWrite(admin, port) {
			t.Fatal("admin is not permitted everything")
		}
	})
	if n != 0 {
		t.Errorf("an admin's questions allocate %.0f times, want 0", n)
	}

	blue := auth.NewContext(context.Background(), &auth.Identity{User: "b", Roles: []string{"tenant-admin"}, Tenants: []string{"blue"}})
	red := []*gpb.PathElem{{Name: "tenants"}, {Name: "tenant", Key: map[string]string{"name": "red"}}, {Name: "ports"}}
	scope := c.WriteScope(blue)
	if scope == nil || scope(port) != tree.Visible || scope(red) != tree.Hidden {
		t.Error("tenant blue's write scope is not its own tenant")
	}
	if !c.MayWrite(blue, port) || c.MayWrite(blue, red) {
		t.Error("tenant blue may not write its own tenant, or may write red's")
	}
	if c.Writable(blue) == nil {
		t.Error("tenant blue's changes are not judged")
	}
	if c.WriteScope(context.Background())(port) != tree.Hidden || c.MayWrite(context.Background(), port) {
		t.Error("a caller without an identity may write")
	}
}
