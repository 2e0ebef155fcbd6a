package validate

import (
	"errors"
	"fmt"
	"github.com/netready/netready/server/changeset"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// testYANG covers every structural constraint the validator checks.
const testYANG = `module v {
  yang-version 1.1;
  namespace "urn:v";
  prefix v;

  list dev {
    key "name";
    leaf name { type string; }
    leaf hostname { type string; mandatory true; }
    leaf note { type string; }
    container auth {
      leaf method { type string; mandatory true; }
      container deep {
        leaf secret { type string; mandatory true; }
      }
    }
    container opt {
      presence "optional feature";
      leaf must-have { type string; mandatory true; }
    }
    choice mode {
      mandatory true;
      case a {
        leaf a { type string; }
      }
      case b {
        leaf b { type string; }
        container b-opts { leaf x { type string; } }
      }
    }
    container state {
      config false;
      leaf up { type boolean; mandatory true; }
    }
  }

  list grp {
    key "name";
    leaf name { type string; }
    list member {
      key "id";
      min-elements 1;
      max-elements 3;
      leaf id { type uint8; }
    }
    leaf-list tag {
      type string;
      max-elements 2;
    }
    leaf-list need {
      type string;
      min-elements 1;
    }
  }

  list pair {
    key "id";
    min-elements 2;
    max-elements 3;
    leaf id { type uint8; }
  }

  container targets {
    list target {
      key "id";
      leaf id { type string; }
      leaf label { type string; }
    }
  }

  list ref {
    key "name";
    leaf name { type string; }
    leaf to { type leafref { path "/targets/target/id"; } }
    leaf-list many { type leafref { path "/targets/target/id"; } }
    leaf lbl { type leafref { path "/targets/target/label"; } }
    leaf weak { type leafref { path "/targets/target/id"; require-instance false; } }
    leaf peer { type leafref { path "../../ref/name"; } }
  }
}`

var (
	schOnce sync.Once
	sch     *schema.Schema
	schErr  error
)

func vsch(tb testing.TB) *schema.Schema {
	tb.Helper()
	schOnce.Do(func() { sch, schErr = schema.Load([]schema.Source{{Name: "v.yang", Content: testYANG}}) })
	if schErr != nil {
		tb.Fatal(schErr)
	}
	return sch
}

// op is one edit: merge, replace or delete of path with a JSON_IETF payload.
type op struct{ kind, path, payload string }

func resolve(tb testing.TB, s *schema.Schema, p string) tree.Path {
	tb.Helper()
	if p == "/" {
		return nil
	}
	gp, err := ygot.StringToStructuredPath(p)
	if err != nil {
		tb.Fatal(err)
	}
	rp, err := tree.Resolve(s.Root, gp.GetElem())
	if err != nil {
		tb.Fatalf("resolve %s: %v", p, err)
	}
	return rp
}

// edit applies ops to root and returns the candidate.
// commitEdit applies ops to root, has v check the change and commits
// it, which must succeed, and returns the new root.
func commitEdit(tb testing.TB, v *Validator, s *schema.Schema, root *tree.Node, ops ...op) *tree.Node {
	tb.Helper()
	cand := edit(tb, s, root, ops...)
	d, err := v.Check(changeset.Compute(root, cand), nil)
	if err != nil {
		tb.Fatal(err)
	}
	v.Commit(d)
	return cand
}

func edit(tb testing.TB, s *schema.Schema, root *tree.Node, ops ...op) *tree.Node {
	tb.Helper()
	txn := tree.Begin(root)
	for _, o := range ops {
		p := resolve(tb, s, o.path)
		if o.kind == "delete" {
			txn.Delete(p)
			continue
		}
		var payload *tree.Node
		var err error
		if len(p) == 0 {
			payload, err = tree.DecodeRootJSON(s.Root, []byte(o.payload), true)
		} else {
			payload, err = tree.DecodeJSON(p, []byte(o.payload), true)
		}
		if err != nil {
			tb.Fatalf("decode %s: %v", o.path, err)
		}
		if o.kind == "replace" {
			err = txn.Replace(p, payload)
		} else {
			err = txn.Merge(p, payload)
		}
		if err != nil {
			tb.Fatalf("%s %s: %v", o.kind, o.path, err)
		}
	}
	return txn.Root()
}

// validDev is a dev entry satisfying every constraint.
const validDev = `{"name":"d1","hostname":"h","auth":{"method":"pw","deep":{"secret":"s"}},"a":"x"}`

// wantErr checks err against code, path and a message fragment; code OK
// means no error.
func wantErr(tb testing.TB, err error, code tree.Kind, path, msg string) {
	tb.Helper()
	if code == tree.KindUnset {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var te *tree.Error
	if !errors.As(err, &te) {
		tb.Fatalf("got %v (%T), want a *tree.Error %s %s", err, err, code, path)
	}
	if te.Kind != code || te.Path != path || !containsAll(te.Msg, msg) {
		tb.Fatalf("got %s %q %q, want %s %q containing %q", te.Kind, te.Path, te.Msg, code, path, msg)
	}
}

// containsAll reports whether s contains every "|"-separated fragment of
// frags, in order.
func containsAll(s, frags string) bool {
	for _, f := range strings.Split(frags, "|") {
		i := strings.Index(s, f)
		if i < 0 {
			return false
		}
		s = s[i+len(f):]
	}
	return true
}

type vcase struct {
	name string
	base []op // committed before the test (must validate)
	ops  []op
	code tree.Kind
	path string
	msg  string
}

func runCases(t *testing.T, s *schema.Schema, rules []Rule, cases []vcase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(s, rules)
			if err != nil {
				t.Fatal(err)
			}
			root := tree.NewRoot(s)
			if len(tc.base) > 0 {
				cand := edit(t, s, root, tc.base...)
				d, err := v.Check(changeset.Compute(root, cand), nil)
				if err != nil {
					t.Fatalf("base does not validate: %v", err)
				}
				v.Commit(d)
				root = cand
			}
			cand := edit(t, s, root, tc.ops...)
			_, err = v.Check(changeset.Compute(root, cand), nil)
			wantErr(t, err, tc.code, tc.path, tc.msg)
		})
	}
}

func TestMandatory(t *testing.T) {
	s := vsch(t)
	fp := tree.KindConflict
	runCases(t, s, nil, []vcase{
		{name: "valid entry", ops: []op{{"merge", "/dev[name=d1]", validDev}}},
		{name: "missing mandatory leaf",
			ops:  []op{{"merge", "/dev[name=d1]", `{"auth":{"method":"pw","deep":{"secret":"s"}},"a":"x"}`}},
			code: fp, path: "/dev[name=d1]/hostname", msg: "mandatory leaf is missing"},
		{name: "mandatory leaf in a non-presence container that does not exist",
			ops:  []op{{"merge", "/dev[name=d1]", `{"hostname":"h","a":"x"}`}},
			code: fp, path: "/dev[name=d1]/auth/method", msg: "mandatory leaf is missing"},
		{name: "mandatory leaf two non-presence containers down",
			ops:  []op{{"merge", "/dev[name=d1]", `{"hostname":"h","a":"x","auth":{"method":"pw"}}`}},
			code: fp, path: "/dev[name=d1]/auth/deep/secret", msg: "mandatory leaf is missing"},
		{name: "mandatory leaf in an existing non-presence container",
			ops:  []op{{"merge", "/dev[name=d1]", `{"hostname":"h","a":"x","auth":{"deep":{"secret":"s"}}}`}},
			code: fp, path: "/dev[name=d1]/auth/method", msg: "mandatory leaf is missing"},
		{name: "absent presence container needs nothing",
			ops: []op{{"merge", "/dev[name=d1]", validDev}}},
		{name: "present presence container needs its mandatory leaf",
			ops:  []op{{"merge", "/dev[name=d1]", validDev}, {"merge", "/dev[name=d1]/opt", `{}`}},
			code: fp, path: "/dev[name=d1]/opt/must-have", msg: "mandatory leaf is missing"},
		{name: "mandatory choice without a case",
			ops:  []op{{"merge", "/dev[name=d1]", `{"hostname":"h","auth":{"method":"pw","deep":{"secret":"s"}}}`}},
			code: fp, path: "/dev[name=d1]", msg: "mandatory choice mode has no case set"},
		{name: "mandatory choice set through a container of a case",
			ops: []op{{"merge", "/dev[name=d1]", `{"hostname":"h","auth":{"method":"pw","deep":{"secret":"s"}},"b-opts":{"x":"1"}}`}}},
		{name: "mandatory choice with an empty case container is not set",
			ops:  []op{{"merge", "/dev[name=d1]", `{"hostname":"h","auth":{"method":"pw","deep":{"secret":"s"}},"b-opts":{}}`}},
			code: fp, path: "/dev[name=d1]", msg: "mandatory choice mode"},
		{name: "deleting a mandatory leaf",
			base: []op{{"merge", "/dev[name=d1]", validDev}},
			ops:  []op{{"delete", "/dev[name=d1]/hostname", ""}},
			code: fp, path: "/dev[name=d1]/hostname", msg: "mandatory leaf is missing"},
		{name: "deleting the container holding a mandatory leaf",
			base: []op{{"merge", "/dev[name=d1]", validDev}},
			ops:  []op{{"delete", "/dev[name=d1]/auth", ""}},
			code: fp, path: "/dev[name=d1]/auth/method", msg: "mandatory leaf is missing"},
		{name: "deleting the only case of a mandatory choice",
			base: []op{{"merge", "/dev[name=d1]", validDev}},
			ops:  []op{{"delete", "/dev[name=d1]/a", ""}},
			code: fp, path: "/dev[name=d1]", msg: "mandatory choice mode"},
		{name: "switching case keeps the choice set",
			base: []op{{"merge", "/dev[name=d1]", validDev}},
			ops:  []op{{"merge", "/dev[name=d1]/b", `"y"`}}},
		{name: "replace dropping a mandatory leaf",
			base: []op{{"merge", "/dev[name=d1]", validDev}},
			ops:  []op{{"replace", "/dev[name=d1]", `{"hostname":"h","a":"x","auth":{"method":"m"}}`}},
			code: fp, path: "/dev[name=d1]/auth/deep/secret", msg: "mandatory leaf is missing"},
		{name: "an unrelated change does not re-check other entries",
			base: []op{{"merge", "/dev[name=d1]", validDev}},
			ops:  []op{{"merge", "/dev[name=d2]", strings.Replace(validDev, "d1", "d2", 1)}}},
		{name: "deleting the whole entry",
			base: []op{{"merge", "/dev[name=d1]", validDev}},
			ops:  []op{{"delete", "/dev[name=d1]", ""}}},
		{name: "config false mandatory leaves are not required",
			ops: []op{{"merge", "/dev[name=d1]", validDev}}},
	})
}

func TestMinMaxElements(t *testing.T) {
	s := vsch(t)
	fp := tree.KindConflict
	runCases(t, s, nil, []vcase{
		{name: "list within bounds",
			ops: []op{{"merge", "/grp[name=g]", `{"member":[{"id":1},{"id":2},{"id":3}],"need":["n"]}`}}},
		{name: "list below min-elements",
			ops:  []op{{"merge", "/grp[name=g]", `{"need":["n"]}`}},
			code: fp, path: "/grp[name=g]/member", msg: "has 0 elements, at least 1 required (min-elements)"},
		{name: "list above max-elements",
			ops:  []op{{"merge", "/grp[name=g]", `{"member":[{"id":1},{"id":2},{"id":3},{"id":4}],"need":["n"]}`}},
			code: fp, path: "/grp[name=g]/member", msg: "has 4 elements, at most 3 allowed (max-elements)"},
		{name: "adding one entry too many",
			base: []op{{"merge", "/grp[name=g]", `{"member":[{"id":1},{"id":2},{"id":3}],"need":["n"]}`}},
			ops:  []op{{"merge", "/grp[name=g]/member[id=9]", `{}`}},
			code: fp, path: "/grp[name=g]/member", msg: "has 4 elements, at most 3"},
		{name: "deleting the last entry",
			base: []op{{"merge", "/grp[name=g]", `{"member":[{"id":1}],"need":["n"]}`}},
			ops:  []op{{"delete", "/grp[name=g]/member[id=1]", ""}},
			code: fp, path: "/grp[name=g]/member", msg: "has 0 elements, at least 1"},
		{name: "deleting the whole list",
			base: []op{{"merge", "/grp[name=g]", `{"member":[{"id":1},{"id":2}],"need":["n"]}`}},
			ops:  []op{{"delete", "/grp[name=g]/member", ""}},
			code: fp, path: "/grp[name=g]/member", msg: "has 0 elements, at least 1"},
		{name: "replacing entries within bounds",
			base: []op{{"merge", "/grp[name=g]", `{"member":[{"id":1},{"id":2}],"need":["n"]}`}},
			ops:  []op{{"delete", "/grp[name=g]/member[id=1]", ""}, {"merge", "/grp[name=g]/member[id=5]", `{}`}}},
		// A leaf-list payload over max-elements is refused when it is
		// decoded (tree's TestDecodeLeafListOverMaxElements), before validation.
		{name: "leaf-list below min-elements",
			ops:  []op{{"merge", "/grp[name=g]", `{"member":[{"id":1}]}`}},
			code: fp, path: "/grp[name=g]/need", msg: "has 0 elements, at least 1"},
		{name: "leaf-list emptied",
			base: []op{{"merge", "/grp[name=g]", `{"member":[{"id":1}],"need":["n"]}`}},
			ops:  []op{{"merge", "/grp[name=g]/need", `[]`}},
			code: fp, path: "/grp[name=g]/need", msg: "has 0 elements, at least 1"},
		{name: "top-level list below min-elements",
			ops:  []op{{"merge", "/pair[id=1]", `{}`}},
			code: fp, path: "/pair", msg: "has 1 elements, at least 2"},
		{name: "top-level list within bounds",
			ops: []op{{"merge", "/pair", `[{"id":1},{"id":2}]`}}},
		{name: "top-level list above max-elements",
			ops:  []op{{"merge", "/pair", `[{"id":1},{"id":2},{"id":3},{"id":4}]`}},
			code: fp, path: "/pair", msg: "has 4 elements, at most 3"},
		{name: "top-level list: deleting below min-elements",
			base: []op{{"merge", "/pair", `[{"id":1},{"id":2}]`}},
			ops:  []op{{"delete", "/pair[id=2]", ""}},
			code: fp, path: "/pair", msg: "has 1 elements, at least 2"},
		{name: "top-level list: deleting it whole",
			base: []op{{"merge", "/pair", `[{"id":1},{"id":2}]`}},
			ops:  []op{{"delete", "/pair", ""}},
			code: fp, path: "/pair", msg: "has 0 elements, at least 2"},
		{name: "deleting the parent entry of a constrained list",
			base: []op{{"merge", "/grp[name=g]", `{"member":[{"id":1}],"need":["n"]}`}},
			ops:  []op{{"delete", "/grp[name=g]", ""}}},
	})
}

func TestKeyLeafDelete(t *testing.T) {
	s := vsch(t)
	runCases(t, s, nil, []vcase{
		{name: "deleting a key leaf of an existing entry",
			base: []op{{"merge", "/targets/target[id=t1]", `{"label":"x"}`}},
			ops:  []op{{"delete", "/targets/target[id=t1]/id", ""}},
			code: tree.KindInvalid, path: "/targets/target[id=t1]/id", msg: "key leaf"},
		{name: "deleting the entry with its key is fine",
			base: []op{{"merge", "/targets/target[id=t1]", `{"label":"x"}`}},
			ops:  []op{{"delete", "/targets/target[id=t1]", ""}}},
	})
}

func TestLeafref(t *testing.T) {
	s := vsch(t)
	fp := tree.KindConflict
	targets := op{"merge", "/targets", `{"target":[{"id":"t1","label":"L1"},{"id":"t2","label":"L2"}]}`}
	runCases(t, s, nil, []vcase{
		{name: "existing target",
			base: []op{targets},
			ops:  []op{{"merge", "/ref[name=r]", `{"to":"t1","many":["t1","t2"],"lbl":"L2"}`}}},
		{name: "missing target",
			base: []op{targets},
			ops:  []op{{"merge", "/ref[name=r]", `{"to":"t9"}`}},
			code: fp, path: "/ref[name=r]/to", msg: "t9 does not exist (leafref /targets/target/id)"},
		{name: "missing target in an empty tree",
			ops:  []op{{"merge", "/ref[name=r]/to", `"t1"`}},
			code: fp, path: "/ref[name=r]/to", msg: "t1 does not exist"},
		{name: "one missing value of a leaf-list",
			base: []op{targets},
			ops:  []op{{"merge", "/ref[name=r]", `{"many":["t1","t3"]}`}},
			code: fp, path: "/ref[name=r]/many", msg: "t3 does not exist"},
		{name: "non-key target missing",
			base: []op{targets},
			ops:  []op{{"merge", "/ref[name=r]", `{"lbl":"L3"}`}},
			code: fp, path: "/ref[name=r]/lbl", msg: "L3 does not exist (leafref /targets/target/label)"},
		{name: "require-instance false",
			ops: []op{{"merge", "/ref[name=r]", `{"weak":"nothing"}`}}},
		{name: "relative reference to a sibling entry",
			ops: []op{{"merge", "/ref", `[{"name":"a","peer":"b"},{"name":"b","peer":"a"}]`}}},
		{name: "relative reference to itself",
			ops: []op{{"merge", "/ref[name=a]", `{"peer":"a"}`}}},
		{name: "relative reference to a missing entry",
			ops:  []op{{"merge", "/ref[name=a]", `{"peer":"zz"}`}},
			code: fp, path: "/ref[name=a]/peer", msg: "zz does not exist"},
		{name: "target created in the same transaction",
			ops: []op{{"merge", "/ref[name=r]", `{"to":"t5"}`}, {"merge", "/targets/target[id=t5]", `{}`}}},
		{name: "deleting a referenced entry",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t1"}`}},
			ops:  []op{{"delete", "/targets/target[id=t1]", ""}},
			code: fp, path: "/targets/target[id=t1]", msg: "cannot delete|still referenced| 1 |/ref/many, /ref/to"},
		{name: "deleting an entry referenced twice",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t1","many":["t1"]}`}},
			ops:  []op{{"delete", "/targets/target[id=t1]", ""}},
			code: fp, path: "/targets/target[id=t1]", msg: "cannot delete|still referenced| 2 "},
		{name: "deleting the container of referenced entries",
			base: []op{targets, {"merge", "/ref[name=r]", `{"many":["t2"]}`}},
			ops:  []op{{"delete", "/targets", ""}},
			code: fp, path: "/targets/target[id=t2]", msg: "cannot delete|still referenced| 1 "},
		{name: "replace dropping a referenced entry",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t2"}`}},
			ops:  []op{{"replace", "/targets/target", `[{"id":"t1"}]`}},
			code: fp, path: "/targets/target[id=t2]", msg: "cannot delete|still referenced| 1 "},
		{name: "replace keeping the referenced entries",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t2"}`}},
			ops:  []op{{"replace", "/targets", `{"target":[{"id":"t2"}]}`}}},
		{name: "deleting an unreferenced entry",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t1"}`}},
			ops:  []op{{"delete", "/targets/target[id=t2]", ""}}},
		{name: "deleting referrer and target together",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t1","many":["t1"]}`}},
			ops:  []op{{"delete", "/targets/target[id=t1]", ""}, {"delete", "/ref[name=r]", ""}}},
		{name: "deleting the reference leaf and the target together",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t1"}`}},
			ops:  []op{{"delete", "/ref[name=r]/to", ""}, {"delete", "/targets/target[id=t1]", ""}}},
		{name: "moving the reference and deleting the old target",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t1"}`}},
			ops:  []op{{"merge", "/ref[name=r]/to", `"t2"`}, {"delete", "/targets/target[id=t1]", ""}}},
		{name: "deleting the root",
			base: []op{targets, {"merge", "/ref[name=r]", `{"to":"t1","lbl":"L1"}`}},
			ops:  []op{{"delete", "/", ""}}},
		{name: "changing a non-key target still referenced",
			base: []op{targets, {"merge", "/ref[name=r]", `{"lbl":"L1"}`}},
			ops:  []op{{"merge", "/targets/target[id=t1]/label", `"L9"`}},
			code: fp, path: "/ref[name=r]/lbl", msg: "L1 no longer exists"},
		{name: "deleting the entry holding a non-key target",
			base: []op{targets, {"merge", "/ref[name=r]", `{"lbl":"L2"}`}},
			ops:  []op{{"delete", "/targets/target[id=t2]", ""}},
			code: fp, path: "/ref[name=r]/lbl", msg: "L2 no longer exists"},
		{name: "changing a non-key target nobody uses",
			base: []op{targets, {"merge", "/ref[name=r]", `{"lbl":"L1"}`}},
			ops:  []op{{"merge", "/targets/target[id=t2]/label", `"L9"`}}},
		{name: "deleting a relative target",
			base: []op{{"merge", "/ref", `[{"name":"a","peer":"b"},{"name":"b"}]`}},
			ops:  []op{{"delete", "/ref[name=b]", ""}},
			code: fp, path: "/ref[name=b]", msg: "cannot delete|still referenced| 1 "},
	})
}

// TestRefCountsAcrossTransactions runs a sequence of transactions through
// Check and Commit; the reference index must follow every one of them.
func TestRefCountsAcrossTransactions(t *testing.T) {
	s := vsch(t)
	v, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(s)
	steps := []struct {
		ops  []op
		code tree.Kind
		path string
		msg  string
	}{
		{ops: []op{{"merge", "/targets", `{"target":[{"id":"t1"},{"id":"t2"},{"id":"t3"}]}`}, {"merge", "/ref[name=r1]/to", `"t1"`}}},
		{ops: []op{{"merge", "/ref[name=r2]", `{"to":"t1","many":["t2","t3"]}`}}},
		{ops: []op{{"delete", "/targets/target[id=t1]", ""}}, code: tree.KindConflict, path: "/targets/target[id=t1]", msg: "cannot delete|still referenced| 2 "},
		{ops: []op{{"delete", "/ref[name=r1]", ""}}},
		{ops: []op{{"delete", "/targets/target[id=t1]", ""}}, code: tree.KindConflict, path: "/targets/target[id=t1]", msg: "cannot delete|still referenced| 1 "},
		// A refused transaction changes nothing: r3 is not counted.
		{ops: []op{{"merge", "/ref[name=r3]", `{"to":"t2","many":["nope"]}`}}, code: tree.KindConflict, path: "/ref[name=r3]/many", msg: "nope does not exist"},
		{ops: []op{{"merge", "/ref[name=r2]/to", `"t2"`}}},
		{ops: []op{{"delete", "/targets/target[id=t1]", ""}}},
		{ops: []op{{"delete", "/targets/target[id=t2]", ""}}, code: tree.KindConflict, path: "/targets/target[id=t2]", msg: "cannot delete|still referenced| 2 "},
		{ops: []op{{"merge", "/ref[name=r2]/many", `["t3"]`}}},
		{ops: []op{{"delete", "/targets/target[id=t2]", ""}}, code: tree.KindConflict, path: "/targets/target[id=t2]", msg: "cannot delete|still referenced| 1 "},
		{ops: []op{{"replace", "/ref[name=r2]", `{"many":["t3"]}`}}},
		{ops: []op{{"delete", "/targets/target[id=t2]", ""}}},
		{ops: []op{{"delete", "/targets/target[id=t3]", ""}}, code: tree.KindConflict, path: "/targets/target[id=t3]", msg: "cannot delete|still referenced| 1 "},
		{ops: []op{{"delete", "/ref", ""}}},
		{ops: []op{{"delete", "/targets/target[id=t3]", ""}}},
	}
	for i, st := range steps {
		cand := edit(t, s, root, st.ops...)
		d, err := v.Check(changeset.Compute(root, cand), nil)
		if st.code != tree.KindUnset {
			if d != nil {
				t.Fatalf("step %d: refused but returned a delta", i)
			}
			wantErr(t, err, st.code, st.path, st.msg)
			continue
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		v.Commit(d)
		root = cand
	}
	if len(v.refs) != 0 {
		t.Fatalf("references left after everything was deleted: %v", v.refs)
	}
}

// TestRefCountsWithinOneTransaction: a transaction that takes references
// from a target and gives it others counts their sum: swapped references
// leave both targets held, and a target may go with its references.
func TestRefCountsWithinOneTransaction(t *testing.T) {
	s := vsch(t)
	v, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := edit(t, s, tree.NewRoot(s), op{"merge", "/targets", `{"target":[{"id":"t1"},{"id":"t2"}]}`},
		op{"merge", "/ref[name=r1]/to", `"t1"`}, op{"merge", "/ref[name=r2]/to", `"t2"`})
	v.Reset(root)
	commit := func(ops ...op) {
		t.Helper()
		root = commitEdit(t, v, s, root, ops...)
	}
	commit(op{"merge", "/ref[name=r1]/to", `"t2"`}, op{"merge", "/ref[name=r2]/to", `"t1"`}, op{"merge", "/ref[name=r3]/to", `"t2"`})
	if want := map[string]int{"/targets/target[id=t1]": 1, "/targets/target[id=t2]": 2}; !reflect.DeepEqual(v.refs, want) {
		t.Fatalf("refs after the swap = %v, want %v", v.refs, want)
	}
	for target, n := range map[string]string{"t1": " 1 ", "t2": " 2 "} {
		_, err := v.Check(changeset.Compute(root, edit(t, s, root, op{"delete", "/targets/target[id=" + target + "]", ""})), nil)
		wantErr(t, err, tree.KindConflict, "/targets/target[id="+target+"]", "still referenced|"+n)
	}
	commit(op{"delete", "/ref[name=r2]", ""}, op{"delete", "/targets/target[id=t1]", ""}, op{"merge", "/ref[name=r1]/to", `"t2"`})
	commit(op{"delete", "/ref", ""})
	if len(v.refs) != 0 {
		t.Fatalf("references left after every reference went: %v", v.refs)
	}
}

func TestDeltaInverse(t *testing.T) {
	s := vsch(t)
	v, _ := New(s, nil)
	root := edit(t, s, tree.NewRoot(s), op{"merge", "/targets/target[id=t1]", `{}`})
	v.Reset(root)
	cand := edit(t, s, root, op{"merge", "/ref[name=r]", `{"to":"t1","many":["t1"]}`})
	d, err := v.Check(changeset.Compute(root, cand), nil)
	if err != nil {
		t.Fatal(err)
	}
	v.Commit(d)
	if got := v.refs["/targets/target[id=t1]"]; got != 2 {
		t.Fatalf("refs after commit = %d, want 2", got)
	}
	v.Commit(d.Inverse())
	if len(v.refs) != 0 {
		t.Fatalf("refs after undo = %v", v.refs)
	}
	// The target may go again, validated against the old tree.
	if _, err := v.Check(changeset.Compute(root, edit(t, s, root, op{"delete", "/targets/target[id=t1]", ""})), nil); err != nil {
		t.Fatal(err)
	}
	v.Commit(nil) // a nil delta is ignored
}

func TestReset(t *testing.T) {
	s := vsch(t)
	// A tree built without validation, as the store loads it.
	loaded := edit(t, s, tree.NewRoot(s),
		op{"merge", "/targets", `{"target":[{"id":"t1"},{"id":"t2"}]}`},
		op{"merge", "/ref", `[{"name":"a","to":"t1","many":["t1","t2"],"peer":"b"},{"name":"b"}]`},
	)
	del := func(p string) *tree.Node { return edit(t, s, loaded, op{"delete", p, ""}) }

	fresh, _ := New(s, nil)
	if _, err := fresh.Check(changeset.Compute(loaded, del("/targets/target[id=t1]")), nil); err != nil {
		t.Fatalf("without Reset nothing is counted, got %v", err)
	}
	v, _ := New(s, nil)
	v.Reset(loaded)
	want := map[string]int{"/targets/target[id=t1]": 2, "/targets/target[id=t2]": 1, "/ref[name=b]": 1}
	if !reflect.DeepEqual(v.refs, want) {
		t.Fatalf("refs = %v, want %v", v.refs, want)
	}
	_, err := v.Check(changeset.Compute(loaded, del("/targets/target[id=t1]")), nil)
	wantErr(t, err, tree.KindConflict, "/targets/target[id=t1]", "cannot delete|still referenced| 2 ")
	_, err = v.Check(changeset.Compute(loaded, del("/ref[name=b]")), nil)
	wantErr(t, err, tree.KindConflict, "/ref[name=b]", "cannot delete|still referenced| 1 ")
	if _, err := v.Check(changeset.Compute(loaded, del("/ref")), nil); err != nil {
		t.Fatal(err)
	}
	// Reset again forgets the previous index.
	v.Reset(tree.NewRoot(s))
	if len(v.refs) != 0 {
		t.Fatalf("refs after Reset(empty) = %v", v.refs)
	}
}

// TestRulesRunOnlyForChanged registers counting rules and checks which
// instances they run for.
func TestRulesRunOnlyForChanged(t *testing.T) {
	s := vsch(t)
	var calls []string
	rule := func(name string) Rule {
		path := "/dev"
		if name == "grp" {
			path = "/grp"
		}
		return Rule{Path: path, Name: name, Check: func(root *tree.Node, chain []*tree.Node) error {
			n := chain[len(chain)-1]
			if chain[len(chain)-2].Schema() != n.Schema() || n.Key() == "" {
				return fmt.Errorf("rule %s: chain does not end with an entry", name)
			}
			calls = append(calls, name+" "+tree.ChainString(chain))
			return nil
		}}
	}
	v, err := New(s, []Rule{rule("dev"), rule("grp")})
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(s)
	base := commitEdit(t, v, s, root,
		op{"merge", "/dev[name=d1]", validDev},
		op{"merge", "/dev[name=d2]", strings.Replace(validDev, "d1", "d2", 1)},
		op{"merge", "/grp[name=g1]", `{"member":[{"id":1}],"need":["n"]}`},
	)
	if want := []string{"dev /dev[name=d1]", "dev /dev[name=d2]", "grp /grp[name=g1]"}; !reflect.DeepEqual(calls, want) {
		t.Fatalf("initial: %q, want %q", calls, want)
	}
	tests := []struct {
		name string
		ops  []op
		want []string
	}{
		{"leaf of one entry", []op{{"merge", "/dev[name=d1]/note", `"x"`}}, []string{"dev /dev[name=d1]"}},
		{"deep change runs the entry's rules once", []op{{"merge", "/dev[name=d2]/auth/deep/secret", `"t"`}, {"merge", "/dev[name=d2]/note", `"y"`}}, []string{"dev /dev[name=d2]"}},
		{"nested list entry", []op{{"merge", "/grp[name=g1]/member[id=2]", `{}`}}, []string{"grp /grp[name=g1]"}},
		{"new entry", []op{{"merge", "/dev[name=d3]", strings.Replace(validDev, "d1", "d3", 1)}}, []string{"dev /dev[name=d3]"}},
		{"deleted entry runs nothing", []op{{"delete", "/dev[name=d2]", ""}}, nil},
		{"unrelated change", []op{{"merge", "/targets/target[id=x]", `{}`}}, nil},
	}
	for _, tc := range tests {
		calls = nil
		if _, err := v.Check(changeset.Compute(base, edit(t, s, base, tc.ops...)), nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(calls, tc.want) {
			t.Errorf("%s: rules ran for %q, want %q", tc.name, calls, tc.want)
		}
	}
}

// TestRuleReads: a rule that declares what it reads runs only for changes
// to what it reads, below it, or to entries holding it, and for its
// object's creation; a Reads path the schema lacks is refused.
func TestRuleReads(t *testing.T) {
	s := vsch(t)
	var calls []string
	count := func(name string) func(*tree.Node, []*tree.Node) error {
		return func(_ *tree.Node, chain []*tree.Node) error {
			calls = append(calls, name+" "+tree.ChainString(chain))
			return nil
		}
	}
	v, err := New(s, []Rule{
		{Path: "/dev", Name: "dev", Check: count("dev"), Reads: []string{"note", "auth/deep"}},
		{Path: "/grp", Name: "grp", Check: count("grp"), Reads: []string{"member/id"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(s)
	base := commitEdit(t, v, s, root,
		op{"merge", "/dev[name=d1]", validDev},
		op{"merge", "/dev[name=d1]/note", `"n"`},
		op{"merge", "/grp[name=g1]", `{"member":[{"id":1}],"need":["n"]}`},
	)
	for _, tc := range []struct {
		name string
		ops  []op
		want []string
	}{
		{"a leaf it does not read", []op{{"merge", "/dev[name=d1]/hostname", `"h2"`}}, nil},
		{"a sibling of what it reads", []op{{"merge", "/dev[name=d1]/auth/method", `"m2"`}}, nil},
		{"a leaf it reads", []op{{"merge", "/dev[name=d1]/note", `"x"`}}, []string{"dev /dev[name=d1]"}},
		{"a leaf it reads, deleted", []op{{"delete", "/dev[name=d1]/note", ""}}, []string{"dev /dev[name=d1]"}},
		{"below what it reads", []op{{"merge", "/dev[name=d1]/auth/deep/secret", `"t"`}}, []string{"dev /dev[name=d1]"}},
		{"a new object", []op{{"merge", "/dev[name=d3]", strings.Replace(validDev, "d1", "d3", 1)}}, []string{"dev /dev[name=d3]"}},
		{"an entry holding what it reads", []op{{"merge", "/grp[name=g1]/member[id=2]", `{}`}}, []string{"grp /grp[name=g1]"}},
		{"a leaf-list it does not read", []op{{"merge", "/grp[name=g1]/need", `["n", "m"]`}}, nil},
	} {
		calls = nil
		if _, err := v.Check(changeset.Compute(base, edit(t, s, base, tc.ops...)), nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(calls, tc.want) {
			t.Errorf("%s: rules ran for %q, want %q", tc.name, calls, tc.want)
		}
	}
	if _, err := New(s, []Rule{{Path: "/dev", Name: "bad", Check: count("bad"), Reads: []string{"auth/nope"}}}); err == nil || !strings.Contains(err.Error(), "auth/nope") {
		t.Errorf("a Reads path the schema lacks: %v", err)
	}
}

// TestRulesBelowWholeObjects: in an object created or deleted whole,
// every object's rules run once, the nested objects' too (their leaves
// note nothing more: the walk noted each object as it reached it), and
// a rule that reads below an object still runs for its creation.
func TestRulesBelowWholeObjects(t *testing.T) {
	s := vsch(t)
	var calls []string
	check := func(name string) func(*tree.Node, []*tree.Node) error {
		return func(_ *tree.Node, chain []*tree.Node) error {
			calls = append(calls, name+" "+tree.ChainString(chain))
			return nil
		}
	}
	guard := func(name string) func(_, _ *tree.Node, was, is []*tree.Node) error {
		return func(_, _ *tree.Node, was, is []*tree.Node) error {
			if is == nil {
				calls = append(calls, name+" gone "+tree.ChainString(was))
			}
			return nil
		}
	}
	v, err := New(s, []Rule{
		{Path: "/dev", Name: "dev", Check: check("dev"), Reads: []string{"note", "auth/deep"}},
		{Path: "/dev/auth", Name: "auth", Check: check("auth")},
		{Path: "/dev/auth/deep", Name: "deep", Check: check("deep"), Reads: []string{"secret"}},
		{Path: "/grp", Name: "grp", Check: check("grp"), Guard: guard("grp"), Reads: []string{"member/id"}},
		{Path: "/grp/member", Name: "member", Check: check("member"), Guard: guard("member")},
	})
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(s)
	base := commitEdit(t, v, s, root, op{"merge", "/grp[name=g1]", `{"member":[{"id":1},{"id":2}],"need":["n"]}`})
	for _, tc := range []struct {
		name string
		ops  []op
		want []string
	}{
		{"created whole", []op{
			{"merge", "/dev[name=d3]", strings.Replace(validDev, "d1", "d3", 1)},
			{"merge", "/grp[name=g2]", `{"member":[{"id":1},{"id":2}],"need":["n"]}`},
		}, []string{
			"auth /dev[name=d3]/auth", "deep /dev[name=d3]/auth/deep", "dev /dev[name=d3]",
			"grp /grp[name=g2]", "member /grp[name=g2]/member[id=1]", "member /grp[name=g2]/member[id=2]",
		}},
		{"deleted whole: only the guards", []op{{"delete", "/grp[name=g1]", ""}}, []string{
			"grp gone /grp[name=g1]", "member gone /grp[name=g1]/member[id=1]", "member gone /grp[name=g1]/member[id=2]",
		}},
		{"created in an object that stays", []op{{"merge", "/grp[name=g1]/member[id=3]", `{}`}}, []string{
			"grp /grp[name=g1]", "member /grp[name=g1]/member[id=3]",
		}},
		{"deleted in an object that stays", []op{{"delete", "/grp[name=g1]/member[id=2]", ""}}, []string{
			"grp /grp[name=g1]", "member gone /grp[name=g1]/member[id=2]",
		}},
	} {
		calls = nil
		if _, err := v.Check(changeset.Compute(base, edit(t, s, base, tc.ops...)), nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		sort.Strings(calls)
		if !reflect.DeepEqual(calls, tc.want) {
			t.Errorf("%s: rules ran for %q, want %q", tc.name, calls, tc.want)
		}
	}
}

// TestRuleErrorsInPathOrder: of several objects whose rules fail, the
// one whose path sorts first is reported, whatever the order the walk
// met them in (entries in key order: 9 before 10), and no rule runs
// twice.
func TestRuleErrorsInPathOrder(t *testing.T) {
	s := vsch(t)
	calls := map[string]int{}
	fail := func(_ *tree.Node, chain []*tree.Node) error {
		calls[tree.ChainString(chain)]++
		return fmt.Errorf("refused")
	}
	v, err := New(s, []Rule{
		{Path: "/grp/member", Name: "member", Check: fail},
		{Path: "/targets/target", Name: "target", Check: fail},
		{Path: "/ref", Name: "ref", Check: fail},
	})
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(s)
	for _, tc := range []struct {
		name string
		ops  []op
		want string
	}{
		{"entries", []op{{"merge", "/grp[name=g]", `{"member":[{"id":9},{"id":10}],"need":["n"]}`}}, "/grp[name=g]/member[id=10]"},
		{"lists", []op{{"merge", "/targets/target[id=t]", `{}`}, {"merge", "/ref[name=r]", `{}`}}, "/ref[name=r]"},
	} {
		clear(calls)
		_, err := v.Check(changeset.Compute(root, edit(t, s, root, tc.ops...)), nil)
		wantErr(t, err, tree.KindConflict, tc.want, "refused")
		for path, n := range calls {
			if n > 1 {
				t.Errorf("%s: the rule of %s ran %d times", tc.name, path, n)
			}
		}
	}
}

// TestRuleGuard: a Guard runs for created, changed and deleted instances
// (a Check never sees a deleted one), with the instance as committed and
// as it will be, and its error refuses the transaction.
func TestRuleGuard(t *testing.T) {
	s := vsch(t)
	var calls []string
	side := func(c []*tree.Node) string {
		if c == nil {
			return "-"
		}
		n := c[len(c)-1].ChildByName("note")
		if n == nil {
			return tree.ChainString(c)
		}
		return tree.ChainString(c) + "(" + n.Value().(string) + ")"
	}
	v, err := New(s, []Rule{{Path: "/dev", Name: "g", Guard: func(old, root *tree.Node, was, is []*tree.Node) error {
		calls = append(calls, side(was)+" -> "+side(is))
		if is == nil && was[len(was)-1].Key() == "d2" {
			return fmt.Errorf("d2 is in use")
		}
		return nil
	}}})
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(s)
	base := edit(t, s, root, op{"merge", "/dev[name=d1]", validDev}, op{"merge", "/dev[name=d2]", strings.Replace(validDev, "d1", "d2", 1)})
	if _, err := v.Check(changeset.Compute(root, base), nil); err != nil {
		t.Fatal(err)
	}
	calls = nil
	for _, tc := range []struct {
		name string
		ops  []op
		want []string
		err  string
	}{
		{"created", []op{{"merge", "/dev[name=d3]", strings.Replace(validDev, "d1", "d3", 1)}}, []string{"- -> /dev[name=d3]"}, ""},
		{"changed", []op{{"merge", "/dev[name=d1]/note", `"x"`}}, []string{"/dev[name=d1] -> /dev[name=d1](x)"}, ""},
		{"deleted", []op{{"delete", "/dev[name=d1]", ""}}, []string{"/dev[name=d1] -> -"}, ""},
		{"refused", []op{{"delete", "/dev[name=d2]", ""}}, []string{"/dev[name=d2] -> -"}, "d2 is in use"},
	} {
		calls = nil
		_, err := v.Check(changeset.Compute(base, edit(t, s, base, tc.ops...)), nil)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
		if !reflect.DeepEqual(calls, tc.want) {
			t.Errorf("%s: guard calls %q, want %q", tc.name, calls, tc.want)
		}
	}
	if _, err := New(s, []Rule{{Path: "/dev", Name: "empty"}}); err == nil {
		t.Error("a rule with neither Check nor Guard accepted")
	}
}

func TestRuleErrors(t *testing.T) {
	s := vsch(t)
	cand := edit(t, s, tree.NewRoot(s), op{"merge", "/dev[name=d1]", validDev})
	tests := []struct {
		name string
		err  error
		code tree.Kind
		path string
	}{
		{"plain error gets the instance path", errors.New("boom"), tree.KindConflict, "/dev[name=d1]"},
		{"tree.Error without a code", &tree.Error{Path: "/dev[name=d1]/hostname", Msg: "bad"}, tree.KindConflict, "/dev[name=d1]/hostname"},
		{"tree.Error keeps its code", &tree.Error{Kind: tree.KindInvalid, Path: "/x", Msg: "bad"}, tree.KindInvalid, "/x"},
	}
	for _, tc := range tests {
		v, err := New(s, []Rule{{Path: "/dev", Name: "r", Check: func(*tree.Node, []*tree.Node) error { return tc.err }}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Check(changeset.Compute(tree.NewRoot(s), cand), nil)
		var te *tree.Error
		if !errors.As(err, &te) || te.Kind != tc.code || te.Path != tc.path {
			t.Errorf("%s: got %v, want %s at %s", tc.name, err, tc.code, tc.path)
		}
	}
	// Structural errors come before rules.
	v, _ := New(s, []Rule{{Path: "/dev", Name: "r", Check: func(*tree.Node, []*tree.Node) error { t.Error("rule ran"); return nil }}})
	_, err := v.Check(changeset.Compute(tree.NewRoot(s), edit(t, s, tree.NewRoot(s), op{"merge", "/dev[name=d1]", `{}`})), nil)
	wantErr(t, err, tree.KindConflict, "/dev[name=d1]/hostname", "mandatory")
}

func TestNewRejectsBadRulePaths(t *testing.T) {
	s := vsch(t)
	for _, p := range []string{"/nope", "/dev/hostname", "/grp/need", ""} {
		if _, err := New(s, []Rule{{Path: p, Name: "x", Check: func(*tree.Node, []*tree.Node) error { return nil }}}); err == nil {
			t.Errorf("rule at %q accepted", p)
		}
	}
	for _, p := range []string{"/dev", "/v:dev", "/targets", "/targets/target", "/dev/auth/deep"} {
		if _, err := New(s, []Rule{{Path: p, Name: "x", Check: func(*tree.Node, []*tree.Node) error { return nil }}}); err != nil {
			t.Errorf("rule at %q: %v", p, err)
		}
	}
}

func TestChain(t *testing.T) {
	s := vsch(t)
	root := edit(t, s, tree.NewRoot(s), op{"merge", "/grp[name=g]", `{"member":[{"id":1}]}`})
	c := Chain(root, resolve(t, s, "/grp[name=g]/member[id=1]/id"))
	if len(c) != 5 || tree.ChainString(c) != "/grp[name=g]/member[id=1]/id" {
		t.Fatalf("chain %d %s", len(c), tree.ChainString(c))
	}
	if Chain(root, resolve(t, s, "/grp[name=x]")) != nil || Chain(root, resolve(t, s, "/grp[name=g]/member[id=2]")) != nil {
		t.Fatal("chain to a missing node")
	}
}
