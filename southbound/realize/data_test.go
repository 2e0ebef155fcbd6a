package realize

import (
	"github.com/netready/netready/server/changeset"
	"slices"
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	netreadyyang "github.com/netready/netready/yang"
)

func testSchema(t *testing.T) *schema.Schema {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// edit merges a JSON_IETF root document into root.
func edit(t *testing.T, root *tree.Node, doc string) *tree.Node {
	t.Helper()
	txn := tree.Begin(root)
	p, err := tree.DecodeRootJSON(root.Schema(), []byte(doc), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Merge(nil, p); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

func changeLines(cs []southbound.DataChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Op.String()+" "+c.Path+" "+string(c.JSON))
	}
	return out
}

func TestParseCarried(t *testing.T) {
	sch := testSchema(t)
	c, err := parseCarried(sch, " /netready-georedundancy:sites, /connections ")
	if err != nil || len(c) != 2 || c[0].Path != "/sites" || c[1].Path != "/connections" {
		t.Fatalf("carried %v, %v", c, err)
	}
	for opt, want := range map[string]string{
		"":                    "names no path",
		"/nowhere":            "not in the schema",
		"/sites/site[name=a]": "keys are not supported",
		"/sites/site/name":    "not a container or list",
		"/sites/site[name=a":  "paths",
	} {
		if _, err := parseCarried(sch, opt); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one with %q", opt, err, want)
		}
	}
}

func TestCarriedChanges(t *testing.T) {
	sch := testSchema(t)
	c, err := parseCarried(sch, "/sites")
	if err != nil {
		t.Fatal(err)
	}
	empty := tree.NewRoot(sch)
	one := edit(t, empty, `{"netready-georedundancy:sites": {"site": [
		{"name": "dc1", "kind": "region", "identifiers": {"region-name": "r1"}},
		{"name": "dc2", "kind": "cell"}]},
		"netready-tenants:tenants": {"tenant": [{"name": "blue"}]}}`)

	got := changeLines(c.changes(changeset.Compute(empty, one).Walk))
	want := []string{
		"update /sites {}",
		`update /sites/site[name=dc1] {"name":"dc1","kind":"region"}`,
		`update /sites/site[name=dc1]/identifiers {"region-name":"r1"}`,
		`update /sites/site[name=dc2] {"name":"dc2","kind":"cell"}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("create:\n%q\nwant\n%q", got, want)
	}
	if got := changeLines(c.state(one)); !slices.Equal(got, want) {
		t.Errorf("state:\n%q\nwant\n%q", got, want)
	}

	// A description changes dc2's own leaves; dc1 goes: its delete comes
	// first and covers what is below it; the tenant is not carried.
	two := edit(t, one, `{"netready-georedundancy:sites": {"site": [{"name": "dc2", "description": "x"}]},
		"netready-tenants:tenants": {"tenant": [{"name": "red"}]}}`)
	txn := tree.Begin(two)
	txn.Delete(tree.Path{{Schema: sch.Root.Child("sites")}, {Schema: sch.Root.Child("sites").Child("site"), Keys: []value.Value{"dc1"}}})
	two = txn.Root()
	got = changeLines(c.changes(changeset.Compute(one, two).Walk))
	want = []string{
		"delete /sites/site[name=dc1] ",
		`update /sites/site[name=dc2] {"name":"dc2","description":"x","kind":"cell"}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("change:\n%q\nwant\n%q", got, want)
	}
	if got := c.changes(changeset.Compute(two, edit(t, two, `{"netready-tenants:tenants": {"tenant": [{"name": "green"}]}}`)).Walk); len(got) != 0 {
		t.Errorf("a change outside the carried paths: %q", changeLines(got))
	}
}
