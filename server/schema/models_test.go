package schema_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	netreadyyang "github.com/netready/netready/yang"
)

func testModel(t testing.TB, name string) schema.Source {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	return schema.Source{Name: name, Content: string(b)}
}

func TestLoadWithModels(t *testing.T) {
	builtin, err := schema.ReadSources(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	l3vpn, err := netreadyyang.Files.ReadFile("netready-l3vpn.yang")
	if err != nil {
		t.Fatal(err)
	}
	clash := `module clash { namespace "urn:clash"; prefix c; container firewall { leaf x { type string; } } }`
	// lib-user imports lib, which sorts after it: order must not matter.
	libUser := `module a-lib-user { namespace "urn:u"; prefix u; import z-lib { prefix l; } container u { leaf x { type l:name; } } }`
	lib := `module z-lib { namespace "urn:l"; prefix l; typedef name { type string { length "1..8"; } } }`
	extra := []schema.Source{
		{Name: "a-lib-user.yang", Content: libUser},
		testModel(t, "example-broken.yang"),
		testModel(t, "example-firewall.yang"),
		testModel(t, "example-syntax.yang"),
		{Name: "l3vpn-copy.yang", Content: string(l3vpn)},
		{Name: "zz-clash.yang", Content: clash},
		{Name: "zz-firewall-again.yang", Content: testModel(t, "example-firewall.yang").Content},
		{Name: "z-lib.yang", Content: lib},
	}
	sch, status, err := schema.LoadWithModels(builtin, extra)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // file -> "" (loaded) or a part of the message
		"a-lib-user.yang":        "",
		"example-broken.yang":    "example-broken.yang:7:",
		"example-firewall.yang":  "",
		"example-syntax.yang":    "example-syntax.yang:8:",
		"l3vpn-copy.yang":        "l3vpn-copy.yang: module netready-l3vpn is built into the server",
		"zz-clash.yang":          "zz-clash.yang:1:",
		"zz-firewall-again.yang": "module example-firewall is already defined by example-firewall.yang",
		"z-lib.yang":             "",
	}
	if len(status) != len(extra) {
		t.Fatalf("%d statuses, want %d", len(status), len(extra))
	}
	for _, st := range status {
		w := want[st.File]
		if (w == "") != st.Loaded || !strings.Contains(st.Message, w) {
			t.Errorf("%s: loaded=%v message %q, want %q", st.File, st.Loaded, st.Message, w)
		}
		t.Logf("%s: %+v", st.File, st)
	}
	if _, ok := sch.ModuleByName("example-firewall"); !ok {
		t.Error("example-firewall not in the modules")
	}
	if n := sch.Find("/firewall/policy/rule/port"); n == nil || n.Module != "example-firewall" {
		t.Errorf("firewall nodes missing: %v", n)
	}
	if sch.Find("/broken") != nil || sch.Find("/u/x") == nil {
		t.Error("wrong nodes loaded")
	}
}
