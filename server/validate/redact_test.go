package validate

import (
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/tree"
)

// TestRedactPaths: instance paths a caller may not read are replaced in
// messages, whole (key values with spaces, escaped brackets, trailing
// punctuation), and nothing else is touched.
func TestRedactPaths(t *testing.T) {
	red := func(elems []*gpb.PathElem) bool {
		return len(elems) > 1 && elems[1].GetKey()["name"] != "blue"
	}
	for _, tc := range []struct{ in, want string }{
		{"used at /tenants/tenant[name=red]/vpns/vpn[name=v 1]; remove it", "used at " + hiddenPath + "; remove it"},
		{"used at /tenants/tenant[name=r\\]ed]/x, and /tenants/tenant[name=blue]/y.", "used at " + hiddenPath + ", and /tenants/tenant[name=blue]/y."},
		{"allocate them under /route-targets", "allocate them under /route-targets"},
		{"10.1.1.5/24 is taken (/tenants/tenant[name=red])", "10.1.1.5/24 is taken (" + hiddenPath + ")"},
		{"see '/tenants/tenant[name=red]/x'", "see '" + hiddenPath + "'"},
		{"/tenants/tenant[name=red]", hiddenPath},
		{"no paths here", "no paths here"},
	} {
		if got := redactPaths(tc.in, red); got != tc.want {
			t.Errorf("redactPaths(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// hideRefs is a caller who may change everything but read nothing under
// /ref or /iface.
type hideRefs struct{}

func (hideRefs) MayChange([]*tree.Node, *tree.Node, *tree.Node) error { return nil }

func (hideRefs) Readable(path []*gpb.PathElem) tree.Visibility {
	switch {
	case len(path) == 0:
		return tree.Partly
	case path[0].GetName() == "ref", path[0].GetName() == "iface":
		return tree.Hidden
	}
	return tree.Visible
}

// TestLeafrefMessagesWithinView: a caller who may not read the
// references to what it deletes or changes is told that they exist, not
// how many or where; a caller who may read everything is told both.
func TestLeafrefMessagesWithinView(t *testing.T) {
	s := vsch(t)
	v, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	targets := op{"merge", "/targets", `{"target":[{"id":"t1","label":"L1"},{"id":"t2","label":"L2"}]}`}
	root := edit(t, s, tree.NewRoot(s), targets, op{"merge", "/ref[name=r]", `{"to":"t1","lbl":"L2"}`})
	d, err := v.Check(changeset.Compute(tree.NewRoot(s), root), nil)
	if err != nil {
		t.Fatal(err)
	}
	v.Commit(d)
	for _, tc := range []struct {
		edit      op
		auth      Authorizer
		wantError string
	}{
		{op{"delete", "/targets/target[id=t1]", ""}, hideRefs{}, "/targets/target[id=t1]: cannot delete: still referenced"},
		{op{"delete", "/targets/target[id=t1]", ""}, nil, "/targets/target[id=t1]: cannot delete: still referenced 1 time(s) from /ref/many, /ref/to"},
		{op{"merge", "/targets/target[id=t2]/label", `"L9"`}, hideRefs{}, "/ref/lbl: L2 no longer exists (leafref /targets/target/label)"},
		{op{"merge", "/targets/target[id=t2]/label", `"L9"`}, nil, "/ref[name=r]/lbl: L2 no longer exists (leafref /targets/target/label)"},
	} {
		_, err := v.Check(changeset.Compute(root, edit(t, s, root, tc.edit)), tc.auth)
		if err == nil || err.Error() != tc.wantError {
			t.Errorf("%v (auth %v): %v, want %s", tc.edit, tc.auth, err, tc.wantError)
		}
	}
}

// TestConditionMessagesWithinView: a must that fails on an instance the
// caller may not read, because what it reads changed, names the schema
// node, not the instance.
func TestConditionMessagesWithinView(t *testing.T) {
	s := mwsch(t)
	v, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := edit(t, s, tree.NewRoot(s), op{"merge", "/iface[name=e1]", `{"type":"mustwhen:eth","mtu":1500}`})
	d, err := v.Check(changeset.Compute(tree.NewRoot(s), root), nil)
	if err != nil {
		t.Fatal(err)
	}
	v.Commit(d)
	cand := edit(t, s, root, op{"merge", "/sys/max-mtu", `1200`})
	for auth, want := range map[Authorizer]string{
		hideRefs{}: "/iface/mtu: mtu out of the system range",
		nil:        "/iface[name=e1]/mtu: mtu out of the system range",
	} {
		if _, err := v.Check(changeset.Compute(root, cand), auth); err == nil || err.Error() != want {
			t.Errorf("auth %v: %v, want %s", auth, err, want)
		}
	}
}
