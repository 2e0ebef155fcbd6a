package telemetry

import (
	"reflect"
	"sort"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	netreadyyang "github.com/netready/netready/yang"
)

// elems parses a gNMI path string ("/a/b[k=v]/..."); "" is the root.
func elems(t *testing.T, s string) []*gpb.PathElem {
	t.Helper()
	if s == "" || s == "/" {
		return nil
	}
	p, err := gnmipath.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// text prints elements back as a path string, keys sorted.
func text(t *testing.T, es []*gpb.PathElem) string {
	t.Helper()
	return gnmipath.String(es)
}

func TestElemMatch(t *testing.T) {
	pe := func(name string, kv ...string) *gpb.PathElem {
		e := &gpb.PathElem{Name: name}
		if len(kv) > 0 {
			e.Key = map[string]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				e.Key[kv[i]] = kv[i+1]
			}
		}
		return e
	}
	for _, tc := range []struct {
		name string
		p, d *gpb.PathElem
		want bool
	}{
		{"same name", pe("ports"), pe("ports"), true},
		{"other name", pe("ports"), pe("interfaces"), false},
		{"wildcard name", pe("*"), pe("ports"), true},
		{"wildcard name keeps keys", pe("*", "name", "a"), pe("port", "name", "b"), false},
		{"wildcard name with keys", pe("*", "name", "a"), pe("port", "name", "a"), true},
		{"no keys match every entry", pe("port"), pe("port", "name", "a"), true},
		{"key equal", pe("port", "name", "a"), pe("port", "name", "a"), true},
		{"key differs", pe("port", "name", "a"), pe("port", "name", "b"), false},
		{"wildcard key", pe("port", "name", "*"), pe("port", "name", "b"), true},
		{"wildcard key, data has none", pe("port", "name", "*"), pe("port"), true},
		{"key missing in data", pe("port", "name", "a"), pe("port"), false},
		{"key missing in data (other key present)", pe("item", "id", "1"), pe("item", "sub", "1"), false},
		{"two keys, both equal", pe("item", "id", "1", "sub", "2"), pe("item", "id", "1", "sub", "2"), true},
		{"two keys, one wildcard", pe("item", "id", "*", "sub", "2"), pe("item", "id", "9", "sub", "2"), true},
		{"two keys, one differs", pe("item", "id", "1", "sub", "2"), pe("item", "id", "1", "sub", "3"), false},
		{"one key of two given", pe("item", "sub", "2"), pe("item", "id", "1", "sub", "2"), true},
		{"values compare exactly", pe("vlan", "id", "0100"), pe("vlan", "id", "100"), false},
		{"case matters", pe("Port"), pe("port"), false},
	} {
		if got := elemMatch(tc.p, tc.d); got != tc.want {
			t.Errorf("%s: elemMatch(%v, %v) = %v, want %v", tc.name, tc.p, tc.d, got, tc.want)
		}
	}
}

func TestCovers(t *testing.T) {
	const port = "/tenants/tenant[name=blue]/ports/port[name=p1]/mtu"
	for _, tc := range []struct {
		p, d string
		want bool
	}{
		// Exact paths and subtrees.
		{"/tenants", port, true},
		{"/", port, true},
		{"/", "/", true},
		{port, port, true},
		{"/tenants/tenant[name=blue]", port, true},
		{"/tenants/tenant[name=red]", port, false},
		{"/tenants/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant[name=blue]/ports/port[name=p1]", false}, // pattern below the data path
		{"/tenants/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant[name=blue]/ports/port[name=p1]/description", false},
		{"/tenants/tenant[name=blue]/interfaces", port, false},
		{"/hosts", port, false},
		// Missing keys: every entry.
		{"/tenants/tenant/ports/port/mtu", port, true},
		{"/tenants/tenant/ports/port", "/tenants/tenant[name=red]/ports/port[name=x]", true},
		// Wildcards in names and keys.
		{"/tenants/*/ports", "/tenants/tenant[name=blue]/ports/port[name=p1]", true},
		{"/tenants/tenant[name=*]/ports/port[name=*]/mtu", port, true},
		{"/tenants/tenant[name=*]/ports/port[name=p2]/mtu", port, false},
		{"/*/*/*/*/*", port, true},
		{"/*/*/*/*/*/*", port, false}, // one level too deep
		{"/*/*[name=red]", port, false},
		{"/*/*[name=blue]", port, true},
		// "..." at the start, in the middle, at the end.
		{"/.../mtu", port, true},
		{"/.../mtu", "/tenants/tenant[name=blue]/ports/port[name=p1]/description", false},
		{"/.../port[name=p1]", port, true},
		{"/.../port[name=p2]", port, false},
		{"/.../tenants", port, true},        // "..." matching zero levels
		{"/...", port, true},                // everything
		{"/...", "/", true},                 // even the root
		{"/tenants/.../mtu", port, true},    // middle
		{"/tenants/.../name", port, false},  // the port is not a name leaf
		{"/tenants/.../ports", port, true},  // middle, then a subtree
		{"/tenants/.../hosts", port, false}, // nothing of that name on the way
		{"/tenants/...", port, true},        // end
		{"/tenants/...", "/tenants", true},  // "..." matching nothing at the end
		{"/hosts/...", port, false},
		{"/tenants/tenant[name=blue]/.../port[name=p1]/mtu", port, true},
		{"/tenants/tenant[name=red]/.../mtu", port, false},
		{"/.../ports/.../mtu", port, true},
		{"/.../.../mtu", port, true},
		{"/tenants/.../.../mtu", port, true},
		{"/tenants/.../tenant[name=blue]/...", port, true},
		// A data path shorter than the pattern is not covered.
		{"/tenants/.../mtu", "/tenants/tenant[name=blue]", false},
		{"/.../mtu", "/", false},
	} {
		if got := covers(elems(t, tc.p), elems(t, tc.d)); got != tc.want {
			t.Errorf("covers(%s, %s) = %v, want %v", tc.p, tc.d, got, tc.want)
		}
	}
}

func TestBelow(t *testing.T) {
	for _, tc := range []struct {
		p, d string
		want []string // the remaining patterns, as path strings, sorted
	}{
		// The pattern lies inside the deleted subtree: what remains of it.
		{"/tenants/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant[name=blue]", []string{"/ports/port[name=p1]/mtu"}},
		{"/tenants/tenant[name=blue]/ports", "/tenants", []string{"/tenant[name=blue]/ports"}},
		{"/tenants/tenant/ports/port/mtu", "/tenants/tenant[name=blue]/ports", []string{"/port/mtu"}},
		{"/tenants/*/ports/port/mtu", "/tenants/tenant[name=x]", []string{"/ports/port/mtu"}},
		{"/tenants/tenant[name=*]/ports", "/tenants/tenant[name=x]", []string{"/ports"}},
		{"/tenants/tenant/ports", "/", []string{"/tenants/tenant/ports"}},
		// Nothing of the pattern in the deleted subtree.
		{"/tenants/tenant[name=blue]/ports", "/tenants/tenant[name=red]", nil},
		{"/tenants/tenant[name=blue]/ports", "/hosts", nil},
		{"/tenants/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant[name=blue]/interfaces", nil},
		{"/tenants/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant[name=blue]/ports/port[name=p2]", nil},
		{"/tenants/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant/ports", nil}, // key missing in data
		// The pattern covers the data path: nothing is left to look for.
		{"/tenants", "/tenants/tenant[name=blue]", nil},
		{"/tenants/tenant[name=blue]", "/tenants/tenant[name=blue]", nil},
		// "...": every way of spreading the data path over it.
		{"/.../mtu", "/tenants/tenant[name=blue]", []string{"/.../mtu"}},
		{"/tenants/.../mtu", "/tenants/tenant[name=blue]", []string{"/.../mtu"}},
		{"/tenants/.../port[name=p1]/mtu", "/tenants/tenant[name=blue]/ports", []string{"/.../port[name=p1]/mtu"}},
		{"/.../ports/port/mtu", "/tenants/tenant[name=blue]/ports", []string{"/.../ports/port/mtu", "/port/mtu"}},
		{"/tenants/tenant[name=blue]/ports/...", "/tenants/tenant[name=blue]", []string{"/ports/..."}},
		{"/hosts/.../mtu", "/tenants/tenant[name=blue]", nil},
	} {
		var got []string
		for _, r := range below(elems(t, tc.p), elems(t, tc.d)) {
			got = append(got, text(t, r))
		}
		sort.Strings(got)
		// "..." may be reached along several ways: compare the distinct patterns.
		got = dedup(got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("below(%s, %s) = %q, want %q", tc.p, tc.d, got, tc.want)
		}
	}
}

func dedup(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// TestBelowAgreesWithCovers: for a data path d and any path x inside it,
// a pattern covers d/x exactly when it covers d or one of the patterns
// below(p, d) covers x. This is what deliver relies on to turn a subtree
// deletion into the deletions of the subscribed nodes in it.
func TestBelowAgreesWithCovers(t *testing.T) {
	patterns := []string{
		"/tenants", "/tenants/tenant[name=blue]/ports", "/tenants/tenant/ports/port/mtu",
		"/.../mtu", "/tenants/.../mtu", "/tenants/*/ports/...", "/.../port[name=p1]",
		"/tenants/tenant[name=*]/.../port/mtu", "/.../ports/.../mtu", "/hosts",
	}
	data := []string{"/", "/tenants", "/tenants/tenant[name=blue]", "/tenants/tenant[name=red]", "/tenants/tenant[name=blue]/ports"}
	inside := []string{"/ports/port[name=p1]/mtu", "/port[name=p1]/mtu", "/mtu", "/interfaces/interface[name=i]/mtu",
		"/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant[name=blue]/ports/port[name=p2]/mtu"}
	for _, ps := range patterns {
		p := elems(t, ps)
		for _, ds := range data {
			d := elems(t, ds)
			for _, xs := range inside {
				x := elems(t, xs)
				full := append(append([]*gpb.PathElem(nil), d...), x...)
				want := covers(p, full)
				got := covers(p, d)
				for _, r := range below(p, d) {
					got = got || covers(r, x)
				}
				if got != want {
					t.Errorf("pattern %s, data %s + %s: covers says %v, below says %v", ps, ds, xs, want, got)
				}
			}
		}
	}
}

func TestPathKey(t *testing.T) {
	for _, tc := range []struct {
		in   []*gpb.PathElem
		want string
	}{
		{nil, "/"},
		{[]*gpb.PathElem{{Name: "tenants"}}, "/tenants"},
		{[]*gpb.PathElem{{Name: "tenants"}, {Name: "tenant", Key: map[string]string{"name": "blue"}}, {Name: "description"}},
			"/tenants/tenant[name=blue]/description"},
		{[]*gpb.PathElem{{Name: "item", Key: map[string]string{"sub": "2", "id": "1", "b": "x"}}}, "/item[b=x][id=1][sub=2]"},
	} {
		if got := pathKey(tc.in); got != tc.want {
			t.Errorf("pathKey(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Distinct paths have distinct keys, whatever their key values hold.
	for _, pair := range [][2][]*gpb.PathElem{
		{{{Name: "l", Key: map[string]string{"a": "1][b=2"}}}, {{Name: "l", Key: map[string]string{"a": "1", "b": "2"}}}},
		{{{Name: "l", Key: map[string]string{"a": "1]/x"}}}, {{Name: "l", Key: map[string]string{"a": "1"}}, {Name: "x]"}}},
	} {
		if a, b := pathKey(pair[0]), pathKey(pair[1]); a == b {
			t.Errorf("pathKey(%v) = pathKey(%v) = %s", pair[0], pair[1], a)
		}
	}
	// Key order in the map never matters.
	for i := 0; i < 20; i++ {
		a := pathKey([]*gpb.PathElem{{Name: "l", Key: map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}}})
		if a != "/l[a=1][b=2][c=3][d=4]" {
			t.Fatalf("pathKey = %q", a)
		}
	}
}

func realSchema(t *testing.T) *schema.Schema {
	t.Helper()
	s, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCanonicalRealSchema(t *testing.T) {
	root := realSchema(t).Root
	for _, tc := range []struct{ in, want string }{
		{"/tenants/tenant[name=blue]/ports/port[name=p1]/mtu", "/tenants/tenant[name=blue]/ports/port[name=p1]/mtu"},
		// Qualified names, of elements and of keys, lose their module.
		{"/netready-tenants:tenants/tenant[name=blue]", "/tenants/tenant[name=blue]"},
		{"/netready-tenants:tenants/netready-tenants:tenant[netready-tenants:name=blue]/ports", "/tenants/tenant[name=blue]/ports"},
		{"/tenants/tenant[name=blue]/netready-l3vpn:vpns/vpn[name=v]/subnet[prefix=10.0.0.0/8]",
			"/tenants/tenant[name=blue]/vpns/vpn[name=v]/subnet[prefix=10.0.0.0/8]"},
		{"/netready-system:system/state/subscriptions", "/system/state/subscriptions"},
		// Wildcards stay.
		{"/tenants/tenant[name=*]/ports/port[name=*]/mtu", "/tenants/tenant[name=*]/ports/port[name=*]/mtu"},
		{"/tenants/*/port[name=p1]", "/tenants/*/port[name=p1]"},
		{"/.../port[name=p1]/mtu", "/.../port[name=p1]/mtu"},
		{"/tenants/.../netready-tenants:port[name=p1]", "/tenants/.../port[name=p1]"},
		// Keys the schema does not know, or values that do not parse, stay as written.
		{"/tenants/tenant[nope=x]", "/tenants/tenant[nope=x]"},
		{"/nothing/here[k=01]", "/nothing/here[k=01]"},
		// Text keys are already canonical.
		{"/tenants/tenant[name=blue]/netready-l3vpn:vpns/vpn[name=v]/route-target[value=64512:1]",
			"/tenants/tenant[name=blue]/vpns/vpn[name=v]/route-target[value=64512:1]"},
		{"/", "/"},
	} {
		got := text(t, canonical(root, elems(t, tc.in)))
		if tc.want == "/" {
			if got != "/" && got != "" {
				t.Errorf("canonical(%s) = %s, want the root", tc.in, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("canonical(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// The input is left as it was.
	in := elems(t, "/netready-tenants:tenants/tenant[netready-tenants:name=blue]")
	canonical(root, in)
	if in[0].Name != "netready-tenants:tenants" || in[1].Key["netready-tenants:name"] != "blue" {
		t.Errorf("canonical changed its input: %v", in)
	}
}

// NetReady's own models have no numeric list key; this module has, to
// check that key values are put in canonical form (a subscription to
// [id=0100] must match the data path [id=100]).
const numericKeys = `module nk {
  yang-version 1.1;
  namespace "urn:nk";
  prefix nk;
  container vlans {
    list vlan {
      key "id";
      leaf id { type uint16; }
      leaf name { type string; }
      list member { key "port unit"; leaf port { type string; } leaf unit { type int8; } }
    }
  }
  container flags {
    list flag { key "on"; leaf on { type boolean; } }
  }
  container rates {
    list rate { key "value"; leaf value { type decimal64 { fraction-digits 2; } } }
  }
}`

func TestCanonicalNumericKeys(t *testing.T) {
	s, err := schema.Load([]schema.Source{{Name: "nk.yang", Content: numericKeys}})
	if err != nil {
		t.Fatal(err)
	}
	root := s.Root
	for _, tc := range []struct{ in, want string }{
		{"/vlans/vlan[id=0100]", "/vlans/vlan[id=100]"},
		{"/vlans/vlan[id=+7]/name", "/vlans/vlan[id=7]/name"},
		{"/nk:vlans/vlan[nk:id=007]", "/vlans/vlan[id=7]"},
		{"/vlans/vlan[id=100]", "/vlans/vlan[id=100]"},
		{"/vlans/vlan[id=*]", "/vlans/vlan[id=*]"},
		{"/vlans/vlan[id=banana]", "/vlans/vlan[id=banana]"}, // does not parse: as written
		{"/vlans/vlan[id=70000]", "/vlans/vlan[id=70000]"},   // out of range: as written
		{"/vlans/vlan[id=010]/member[port=p][unit=-01]", "/vlans/vlan[id=10]/member[port=p][unit=-1]"},
		{"/vlans/vlan[id=010]/member[port=*][unit=+03]", "/vlans/vlan[id=10]/member[port=*][unit=3]"},
		{"/rates/rate[value=1.5]", "/rates/rate[value=1.5]"},
		{"/rates/rate[value=01.50]", "/rates/rate[value=1.5]"},
		// Past a wildcard name the schema is unknown: keys as written.
		{"/*/vlan[id=0100]", "/*/vlan[id=0100]"},
		{"/.../vlan[id=0100]", "/.../vlan[id=0100]"},
	} {
		if got := text(t, canonical(root, elems(t, tc.in))); got != tc.want {
			t.Errorf("canonical(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// And the canonical pattern covers the data path it meant.
	p := canonical(root, elems(t, "/vlans/vlan[id=0100]"))
	if !covers(p, elems(t, "/vlans/vlan[id=100]/name")) {
		t.Error("[id=0100] does not cover [id=100] after canonical")
	}
	if covers(p, elems(t, "/vlans/vlan[id=1000]/name")) {
		t.Error("[id=0100] covers [id=1000]")
	}
}
