package validate

import (
	"github.com/netready/netready/server/changeset"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

var (
	mwOnce sync.Once
	mwSch  *schema.Schema
	mwErr  error
)

// mwsch loads testdata/mustwhen*.yang, modules using must and when in
// containers, lists, leaves, leaf-lists, augments, uses, refine and cases.
func mwsch(tb testing.TB) *schema.Schema {
	tb.Helper()
	mwOnce.Do(func() { mwSch, mwErr = schema.LoadFS(os.DirFS("testdata")) })
	if mwErr != nil {
		tb.Fatal(mwErr)
	}
	return mwSch
}

func TestMustWhen(t *testing.T) {
	s := mwsch(t)
	fp := tree.KindConflict
	eth := func(name string, extra string) op {
		return op{"merge", "/iface[name=" + name + "]", `{"type":"mustwhen:eth"` + extra + `}`}
	}
	runCases(t, s, nil, []vcase{
		// must on a container, with error-message and error-app-tag
		{name: "container must holds",
			ops: []op{{"merge", "/sys", `{"max-mtu":9000,"min-mtu":100}`}}},
		{name: "container must fails",
			ops:  []op{{"merge", "/sys", `{"max-mtu":100,"min-mtu":200}`}},
			code: fp, path: "/sys", msg: "min-mtu must not exceed max-mtu (error-app-tag mtu-range)"},
		{name: "container must fails on a later change",
			base: []op{{"merge", "/sys", `{"max-mtu":100}`}},
			ops:  []op{{"merge", "/sys/min-mtu", `101`}},
			code: fp, path: "/sys", msg: "min-mtu must not exceed"},
		// must on a leaf-list: each value
		{name: "leaf-list must holds",
			ops: []op{{"merge", "/sys/dns", `["abc","defg"]`}}},
		{name: "leaf-list must fails for one value",
			ops:  []op{{"merge", "/sys/dns", `["abc","x"]`}},
			code: fp, path: "/sys/dns", msg: `must condition "string-length(.) > 2" is not satisfied`},
		// must on a leaf reading absolute paths, re-evaluated when they change
		{name: "leaf must against defaults",
			ops: []op{eth("e1", `,"mtu":1500`)}},
		{name: "leaf must fails",
			ops:  []op{eth("e1", `,"mtu":10000`)},
			code: fp, path: "/iface[name=e1]/mtu", msg: "mtu out of the system range"},
		{name: "what the must reads changes",
			base: []op{eth("e1", `,"mtu":1500`), eth("e2", `,"mtu":1000`)},
			ops:  []op{{"merge", "/sys/max-mtu", `1200`}},
			code: fp, path: "/iface[name=e1]/mtu", msg: "mtu out of the system range"},
		{name: "what the must reads changes within bounds",
			base: []op{eth("e1", `,"mtu":1500`)},
			ops:  []op{{"merge", "/sys/max-mtu", `1500`}}},
		// when on a leaf, on the node and on what it reads
		{name: "when holds",
			ops: []op{eth("e1", `,"description":"uplink"`)}},
		{name: "when fails",
			ops:  []op{eth("e1", `,"enabled":false,"description":"uplink"`)},
			code: fp, path: "/iface[name=e1]/description", msg: `when condition "../enabled = 'true'" is false`},
		{name: "when fails when what it reads changes",
			base: []op{eth("e1", `,"description":"uplink"`)},
			ops:  []op{{"merge", "/iface[name=e1]/enabled", `false`}},
			code: fp, path: "/iface[name=e1]/description", msg: "when condition"},
		{name: "removing the node with the when",
			base: []op{eth("e1", `,"description":"uplink"`)},
			ops:  []op{{"merge", "/iface[name=e1]/enabled", `false`}, {"delete", "/iface[name=e1]/description", ""}}},
		// when on uses, must in the grouping, must added by refine
		{name: "uses when holds",
			ops: []op{eth("e1", `,"ethernet":{"speed":100,"duplex":"full"}`)}},
		{name: "uses when holds for a derived identity",
			ops: []op{{"merge", "/iface[name=e1]", `{"type":"mustwhen:fast-eth","ethernet":{"speed":100}}`}}},
		{name: "uses when fails",
			ops:  []op{{"merge", "/iface[name=e1]", `{"type":"mustwhen:loop","ethernet":{"speed":100}}`}},
			code: fp, path: "/iface[name=e1]/ethernet", msg: `when condition "derived-from-or-self(type, 'mw:eth')" is false`},
		{name: "uses when fails when the type changes",
			base: []op{eth("e1", `,"ethernet":{"speed":100}`)},
			ops:  []op{{"merge", "/iface[name=e1]/type", `"mustwhen:loop"`}},
			code: fp, path: "/iface[name=e1]/ethernet", msg: "when condition"},
		{name: "must from a grouping",
			ops:  []op{eth("e1", `,"ethernet":{"speed":5}`)},
			code: fp, path: "/iface[name=e1]/ethernet/speed", msg: `must condition ". >= 10" is not satisfied`},
		{name: "must added by refine",
			ops:  []op{eth("e1", `,"ethernet":{"duplex":"quarter"}`)},
			code: fp, path: "/iface[name=e1]/ethernet/duplex", msg: `must condition ". = 'full' or . = 'half'"`},
		// when on a case
		{name: "case when holds",
			ops: []op{eth("e1", `,"address":"10.0.0.1"`)}},
		{name: "case when fails",
			ops:  []op{eth("e1", `,"enabled":false,"address":"10.0.0.1"`)},
			code: fp, path: "/iface[name=e1]/address", msg: `when condition "enabled = 'true'"`},
		{name: "other case without when",
			ops: []op{eth("e1", `,"enabled":false,"dhcp":[null]`)}},
		// must on a presence container
		{name: "presence container must holds",
			ops: []op{eth("e1", `,"lag":{"group":"g1"}`)}},
		{name: "presence container must fails",
			ops:  []op{{"merge", "/iface[name=e1]", `{"type":"mustwhen:loop","lag":{"group":"g1"}}`}},
			code: fp, path: "/iface[name=e1]/lag", msg: "only ethernet interfaces join a LAG"},
		{name: "presence container must fails when the parent's leaf changes",
			base: []op{eth("e1", `,"lag":{}`)},
			ops:  []op{{"merge", "/iface[name=e1]/type", `"mustwhen:loop"`}},
			code: fp, path: "/iface[name=e1]/lag", msg: "only ethernet interfaces"},
		// must on a list entry
		{name: "list must holds",
			ops: []op{eth("e1", `,"sub":[{"id":1},{"id":2},{"id":3}]`)}},
		{name: "list must fails",
			base: []op{eth("e1", `,"sub":[{"id":1},{"id":2},{"id":3}]`)},
			ops:  []op{{"merge", "/iface[name=e1]/sub[id=4]", `{}`}},
			code: fp, path: "/iface[name=e1]", msg: `must condition "count(sub) <= 3" is not satisfied`},
		// must across sibling entries with current()
		{name: "sibling entries distinct",
			ops: []op{eth("e1", `,"sub":[{"id":1,"vlan":10},{"id":2,"vlan":20}]`)}},
		{name: "sibling entries clash",
			base: []op{eth("e1", `,"sub":[{"id":1,"vlan":10},{"id":2,"vlan":20}]`)},
			ops:  []op{{"merge", "/iface[name=e1]/sub[id=2]/vlan", `10`}},
			code: fp, path: "/iface[name=e1]/sub[id=1]/vlan", msg: "vlan used twice"},
		{name: "same vlan under another interface",
			base: []op{eth("e1", `,"sub":[{"id":1,"vlan":10}]`)},
			ops:  []op{eth("e2", `,"sub":[{"id":1,"vlan":10}]`)}},
		// must across lists, re-evaluated when the referenced data changes
		{name: "cross-list must holds",
			base: []op{eth("e1", ``)},
			ops:  []op{{"merge", "/vrf[name=v]", `{"ifaces":["e1"]}`}}},
		{name: "cross-list must fails",
			base: []op{eth("e1", ``)},
			ops:  []op{{"merge", "/vrf[name=v]", `{"ifaces":["e1","e9"]}`}},
			code: fp, path: "/vrf[name=v]/ifaces", msg: "no such interface"},
		{name: "cross-list must fails when the referenced entry goes",
			base: []op{eth("e1", ``), eth("e2", ``), {"merge", "/vrf[name=v]", `{"ifaces":["e1"]}`}},
			ops:  []op{{"delete", "/iface[name=e1]", ""}},
			code: fp, path: "/vrf[name=v]/ifaces", msg: "no such interface"},
		{name: "deleting an unreferenced entry",
			base: []op{eth("e1", ``), eth("e2", ``), {"merge", "/vrf[name=v]", `{"ifaces":["e1"]}`}},
			ops:  []op{{"delete", "/iface[name=e2]", ""}}},
		{name: "uniqueness across entries",
			base: []op{{"merge", "/vrf[name=a]/rd", `"1:1"`}},
			ops:  []op{{"merge", "/vrf[name=b]/rd", `"1:1"`}},
			code: fp, path: "/vrf[name=a]/rd", msg: "rd must be unique"},
		{name: "uniqueness across entries holds",
			base: []op{{"merge", "/vrf[name=a]/rd", `"1:1"`}},
			ops:  []op{{"merge", "/vrf[name=b]/rd", `"1:2"`}}},
		// when on a container, and implicit containers
		{name: "container when false, container absent",
			ops: []op{{"merge", "/feature", `{"enabled":false}`}}},
		{name: "container when false, container holding only defaults",
			ops: []op{{"merge", "/feature/advanced", `{}`}}},
		{name: "container when false, container set",
			ops:  []op{{"merge", "/feature/advanced/level", `3`}},
			code: fp, path: "/feature/advanced", msg: `when condition "../enabled = 'true'"`},
		{name: "container when true",
			ops: []op{{"merge", "/feature", `{"enabled":true,"advanced":{"level":3}}`}}},
		{name: "container when turned false",
			base: []op{{"merge", "/feature", `{"enabled":true,"advanced":{"level":3}}`}},
			ops:  []op{{"merge", "/feature/enabled", `false`}},
			code: fp, path: "/feature/advanced", msg: "when condition"},
		// augments from another module, with prefixes
		{name: "augment when holds",
			ops: []op{{"merge", "/iface[name=l0]", `{"type":"mustwhen:loop","mustwhen-aug:loop-id":7}`}}},
		{name: "augment when fails",
			ops:  []op{eth("e1", `,"mustwhen-aug:loop-id":7`)},
			code: fp, path: "/iface[name=e1]/loop-id", msg: `when condition "m:type = 'm:loop'" is false`},
		{name: "must in an augment",
			ops:  []op{{"merge", "/iface[name=l0]", `{"type":"mustwhen:loop","mustwhen-aug:loop-id":7000}`}},
			code: fp, path: "/iface[name=l0]/loop-id", msg: `must condition ". < 1000"`},
		{name: "prefixed must in an augment",
			ops:  []op{{"merge", "/sys", `{"max-mtu":900,"mustwhen-aug:tag":"x"}`}},
			code: fp, path: "/sys/tag", msg: "tags need jumbo frames"},
		{name: "prefixed must in an augment, re-evaluated",
			base: []op{{"merge", "/sys", `{"mustwhen-aug:tag":"x"}`}},
			ops:  []op{{"merge", "/sys/max-mtu", `900`}},
			code: fp, path: "/sys/tag", msg: "tags need jumbo frames"},
		// mandatory nodes under a false when are not required
		{name: "tunnel interface needs its mandatory nodes",
			ops:  []op{{"merge", "/iface[name=t1]", `{"type":"mustwhen:tunnel","vni":5}`}},
			code: fp, path: "/iface[name=t1]/tunnel/remote", msg: "mandatory leaf is missing"},
		{name: "tunnel interface needs its mandatory leaf with a when",
			ops:  []op{{"merge", "/iface[name=t1]", `{"type":"mustwhen:tunnel","tunnel":{"remote":"r"}}`}},
			code: fp, path: "/iface[name=t1]/vni", msg: "mandatory leaf is missing"},
		{name: "tunnel interface complete",
			ops: []op{{"merge", "/iface[name=t1]", `{"type":"mustwhen:tunnel","vni":5,"tunnel":{"remote":"r"}}`}}},
		{name: "turning an interface into a tunnel",
			base: []op{eth("e1", ``)},
			ops:  []op{{"merge", "/iface[name=e1]/type", `"mustwhen:tunnel"`}},
			code: fp, path: "/iface[name=e1]/vni", msg: "mandatory leaf is missing"},
		// deleting everything is always fine
		{name: "delete all",
			base: []op{eth("e1", `,"mtu":1500,"sub":[{"id":1,"vlan":1}]`), {"merge", "/vrf[name=v]", `{"ifaces":["e1"],"rd":"1"}`}},
			ops:  []op{{"delete", "/", ""}}},
	})
}

// TestConditionsRunOnlyWhereNeeded checks that a change re-evaluates the
// conditions of the changed instances and ancestors, and those reading
// it, within their scope only.
func TestConditionsScope(t *testing.T) {
	s := mwsch(t)
	v, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(s)
	base := edit(t, s, root,
		op{"merge", "/iface[name=e1]", `{"type":"mustwhen:eth","description":"d","sub":[{"id":1,"vlan":1}]}`},
		op{"merge", "/iface[name=e2]", `{"type":"mustwhen:eth","description":"d"}`},
	)
	d, err := v.Check(changeset.Compute(root, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	v.Commit(d)
	// Changing e2's enabled re-runs the description when of e2 only.
	c := &check{v: v, root: edit(t, s, base, op{"merge", "/iface[name=e2]/enabled", `false`}), delta: &Delta{}, rescan: map[*schema.Node]bool{}, ruleRuns: map[string]*ruleRun{}, noted: map[*tree.Node]*ruleRun{}}
	tree.Diff(base, c.root, c.visit)
	var scopes []string
	for _, tr := range c.triggered {
		scopes = append(scopes, tr.cond.anchor.Path+"@"+tree.PathString(tr.scope))
	}
	if got := strings.Join(scopes, ","); !strings.Contains(got, "/iface/description@/iface[name=e2]") || strings.Contains(got, "e1") {
		t.Fatalf("triggered %s", got)
	}
	if err := c.checkConditions(); err == nil || !strings.Contains(err.Error(), "/iface[name=e2]/description") {
		t.Fatalf("got %v", err)
	}
}

func TestNewRejectsBadExpressions(t *testing.T) {
	const bad = `module bad {
  yang-version 1.1;
  namespace "urn:bad";
  prefix b;
  container c {
    leaf x { type string; }
    leaf y {
      type string;
      must "../nmae = 'x'";
    }
    leaf z {
      type string;
      when "ancestor::c";
    }
    container s {
      config false;
      leaf w { type string; must "foo(.)"; }
    }
  }
  list l {
    key k;
    leaf k { type string; }
    must "count(x:y) > 0";
  }
}`
	sch, err := schema.Load([]schema.Source{{Name: "bad.yang", Content: bad}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(sch, nil)
	if err == nil {
		t.Fatal("bad expressions accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"3 must/when expression(s) cannot be used",
		`bad.yang:9:7: xpath "../nmae = 'x'": at offset 3: no data node "nmae" under /c`,
		`bad.yang:13:7: xpath "ancestor::c": at offset 0: the ancestor axis is not supported`,
		`bad.yang:23:5: xpath "count(x:y) > 0": at offset 6: unknown prefix "x"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "foo") {
		t.Errorf("config false nodes are not validated, their musts not compiled:\n%s", msg)
	}
}

// TestNoConditionsNoCost checks that a schema without must or when sets
// up nothing for them, the compiled NetReady modules included.
func TestNoConditionsNoCost(t *testing.T) {
	nr, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*schema.Schema{vsch(t), nr} {
		v, err := New(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v.nconds != 0 || len(v.triggers) != 0 {
			t.Fatalf("%d conditions, %d triggers", v.nconds, len(v.triggers))
		}
	}
}
