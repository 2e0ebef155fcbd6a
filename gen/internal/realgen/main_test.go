package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedOutputIsCurrent regenerates each generated package into a
// temporary file: it must equal the committed one (what `make gen-check`
// checks), and a second run must give the same bytes.
func TestCommittedOutputIsCurrent(t *testing.T) {
	for pkg, file := range map[string]string{"realization": "realization.go", "sites": "sites.go"} {
		dir := t.TempDir()
		for _, out := range []string{filepath.Join(dir, "a.go"), filepath.Join(dir, "b.go")} {
			if err := run("../../../yang", "../../"+pkg+"/reads.txt", pkg, out); err != nil {
				t.Fatal(err)
			}
		}
		a, _ := os.ReadFile(filepath.Join(dir, "a.go"))
		b, _ := os.ReadFile(filepath.Join(dir, "b.go"))
		committed, err := os.ReadFile("../../" + pkg + "/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two runs differ", pkg)
		}
		if !bytes.Equal(a, committed) {
			t.Errorf("gen/%s/%s is stale: run `make gen`", pkg, file)
		}
	}
}

// TestDeclarationErrors: what the declaration gets wrong is refused with
// its line, before any code is written.
func TestDeclarationErrors(t *testing.T) {
	for _, tc := range []struct{ decl, want string }{
		{"Tenant /tenants/tenant name\nPort /tenants/tenant/ports/port admin-stat", `line 2: /tenants/tenant/ports/port has no configuration leaf or leaf-list "admin-stat"`},
		{"Port /tenants/tenant/port name", "line 1: /tenants/tenant/port is not a configuration list or container"},
		{"Tenant /tenants/tenant\nPort /tenants/tenant/ports/port oper-status", `no configuration leaf or leaf-list "oper-status"`},
		{"Tenant /tenants/tenant name\n\nPort /tenants/tenant/ports/port/name", "line 3: /tenants/tenant/ports/port/name is not a configuration list or container"},
		{"Port /tenants/tenant/ports/port name", "/tenants/tenant/ports/port is under the list /tenants/tenant: declare it first"},
		{"Backend /backends/backend\nStatus /backends/backend/status", "line 2: /backends/backend/status is not a configuration list or container"},
		{"port /tenants/tenant name", "not an exported Go type name"},
		{"Tenant /tenants/tenant name\nTenant2 /tenants/tenant", "/tenants/tenant is declared twice"},
		{"Tenant", "line 1: want TYPE /SCHEMA/PATH LEAF..."},
	} {
		in := filepath.Join(t.TempDir(), "reads.txt")
		if err := os.WriteFile(in, []byte(tc.decl), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out.go")
		err := run("../../../yang", in, "realization", out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.decl, err, tc.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%q: wrote %s despite the error", tc.decl, out)
		}
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"admin-state": "AdminState", "ip-address": "IPAddress", "vrf-policy": "VRFPolicy",
		"hub-and-spoke": "HubAndSpoke", "name": "Name", "load_balance": "LoadBalance", "as-number": "ASNumber",
	} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
}
