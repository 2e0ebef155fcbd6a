package schema_test

import (
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	netreadyyang "github.com/netready/netready/yang"
)

const testModule = `module t {
  yang-version 1.1;
  namespace "urn:t";
  prefix t;
  organization "Test org";
  revision 2026-01-02 { description "second"; }
  revision 2026-01-01 { description "first"; }
  container top {
    leaf plain { type string; }
    leaf dflt { type uint16; default 7; }
    leaf must { type string; mandatory true; }
    container ro { config false; leaf counter { type uint64; } }
    choice how {
      mandatory true;
      case a { leaf a1 { type string; } leaf a2 { type string; } }
      leaf b { type string; }
    }
    list item {
      key "id sub";
      min-elements 1;
      leaf id { type string; }
      leaf sub { type uint8; }
      leaf zeta { type string; }
      leaf ref { type leafref { path "../../thing/name"; } }
    }
    list thing { key name; leaf name { type string; } }
    leaf scan { type leafref { path "../item/zeta"; } }
  }
}`

func load(t *testing.T, src string) *schema.Schema {
	t.Helper()
	s, err := schema.Load([]schema.Source{{Name: "t.yang", Content: src}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIndex(t *testing.T) {
	s := load(t, testModule)
	m, ok := s.ModuleByName("t")
	if !ok || m.Organization != "Test org" || m.Revision != "2026-01-02" || m.Namespace != "urn:t" {
		t.Fatalf("module info %+v", m)
	}
	top := s.Find("/top")
	if top == nil || top.Kind != schema.Container || top.QualifiedName() != "t:top" {
		t.Fatalf("top: %+v", top)
	}
	if s.Find("/t:top/plain") == nil || s.Find("/other:top") != nil {
		t.Error("qualified lookup: own module accepted, other module refused")
	}
	// Choice and case vanish from the data tree; membership is kept.
	a1, b := s.Find("/top/a1"), s.Find("/top/b")
	if a1 == nil || b == nil || a1.Choice == nil || a1.Choice != b.Choice || a1.Case == b.Case {
		t.Fatalf("choice flattening: a1=%+v b=%+v", a1, b)
	}
	if ch := top.Choices(); len(ch) != 1 || !ch[0].Mandatory {
		t.Errorf("choices %+v", ch)
	}
	if c := s.Find("/top/ro/counter"); c.Config {
		t.Error("config false is not inherited")
	}
	if d := s.Find("/top/dflt"); d.DefaultValue != uint64(7) {
		t.Errorf("default %v (%T)", d.DefaultValue, d.DefaultValue)
	}
	if !top.HasDefaults {
		t.Error("top has a default leaf")
	}
	var mand []string
	for _, n := range top.MandatoryChildren {
		mand = append(mand, n.Name)
	}
	if strings.Join(mand, ",") != "item,must" {
		t.Errorf("mandatory children %v", mand)
	}
	// Keys come first, in key order, then the others by name.
	item := s.Find("/top/item")
	var order []string
	for _, c := range item.Children {
		order = append(order, c.Name)
	}
	if strings.Join(order, ",") != "id,sub,ref,zeta" {
		t.Errorf("child order %v", order)
	}
}

func TestLeafrefs(t *testing.T) {
	s := load(t, testModule)
	ref := s.Find("/top/item/ref").Leafref
	if ref == nil || ref.Up != 2 || !ref.Keyed || ref.Target != s.Find("/top/thing/name") {
		t.Fatalf("keyed leafref %+v", ref)
	}
	scan := s.Find("/top/scan").Leafref
	if scan == nil || scan.Keyed {
		t.Fatalf("a leafref to a non-key leaf must not be keyed: %+v", scan)
	}
	if len(s.Leafrefs()) != 2 {
		t.Errorf("%d leafrefs", len(s.Leafrefs()))
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	cases := map[string]string{
		"syntax":    `module t { namespace "urn:t"; prefix t; container c { leaf x { type string; }`,
		"predicate": strings.Replace(testModule, `"../../thing/name"`, `"../../thing[name=current()/../zeta]/name"`, 1),
		"bad ref":   strings.Replace(testModule, `"../../thing/name"`, `"../../nothing/name"`, 1),
		"default":   strings.Replace(testModule, "default 7;", "default seven;", 1),
	}
	for name, src := range cases {
		_, err := schema.Load([]schema.Source{{Name: "t.yang", Content: src}})
		if err == nil || !strings.Contains(err.Error(), "t.yang") {
			t.Errorf("%s: error %v does not name t.yang", name, err)
		}
	}
}

func TestNetReadyModules(t *testing.T) {
	s, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	vpns := s.Find("/tenants/tenant/vpns")
	if vpns == nil || vpns.Module != "netready-l3vpn" || vpns.QualifiedName() != "netready-l3vpn:vpns" {
		t.Fatalf("augmented vpns: %+v", vpns)
	}
	if s.Find("/tenants/tenant/ports").QualifiedName() != "ports" {
		t.Error("a child in its parent's module is not qualified")
	}
	b := s.Find("/tenants/tenant/vpns/vpn/bindings/binding/interface")
	if b.Leafref == nil || !b.Leafref.Keyed || b.Leafref.Up != 5 {
		t.Fatalf("binding interface leafref %+v", b.Leafref)
	}
}
