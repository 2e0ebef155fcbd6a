package authz

import "testing"

// BenchmarkDecide measures one decision with the built-in roles.
func BenchmarkDecide(b *testing.B) {
	p := DefaultPolicy()
	for _, bc := range []struct {
		name string
		s    *Subject
		op   Op
		path string
		want Decision
	}{
		{"tenant-admin/deep", tenantAdmin, Write, deepOwn, Permit},
		{"tenant-admin/provider", tenantAdmin, Write, ownProvider + "/segmentation-id", Permit},
		{"tenant-admin/other-tenant", tenantAdmin, Read, "/tenants/tenant[name=red]/ports/port[name=p1]/mtu", Deny},
		{"tenant-admin/partial-tenants", tenantAdmin, Read, "/tenants", Partial},
		{"admin/deep", admin, Write, deepOwn, Permit},
		{"viewer/access", viewer, Read, "/access/role[name=admin]", Deny},
		{"multi-role/deep", &Subject{Roles: []string{"viewer", "network-admin", "tenant-admin"}, Tenants: []string{"t1", "t2", "t3", "blue"}}, Write, deepOwn, Permit},
	} {
		path := elems(b, bc.path)
		if got := p.Decide(bc.s, bc.op, path); got != bc.want {
			b.Fatalf("%s: %v, want %v", bc.name, got, bc.want)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(bc.s, bc.op, path)
			}
		})
	}
}
