package tree

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/netready/netready/server/gnmipath"
)

func TestDiff(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		name string
		ops  []op
		want []string
	}{
		{
			name: "one leaf",
			ops:  []op{{"merge", "/top/item[id=2]/val", `"zwei"`}},
			want: []string{"~/top", "~/top/item[id=2]", "~/top/item[id=2]/val"},
		},
		{
			name: "same value set again is not a difference",
			ops:  []op{{"merge", "/top/item[id=2]/val", `"two"`}},
			want: []string{"~/top", "~/top/item[id=2]"},
		},
		{
			name: "leaf back to its default",
			ops:  []op{{"delete", "/top/mtu", ""}},
			want: []string{"~/top", "~/top/mtu"},
		},
		{
			name: "default value set explicitly is a difference",
			ops:  []op{{"merge", "/top/item[id=1]/weight", `"1.5"`}},
			want: []string{"~/top", "~/top/item[id=1]", "~/top/item[id=1]/weight"},
		},
		{
			name: "new entry reports its leaves and defaults",
			ops:  []op{{"merge", "/top/item[id=3]", `{"val":"drei"}`}},
			want: []string{"~/top", "+/top/item[id=3]", "+/top/item[id=3]/id", "+/top/item[id=3]/val", "+/top/item[id=3]/weight"},
		},
		{
			name: "deleted entry reports its old subtree",
			ops:  []op{{"delete", "/top/item[id=1]", ""}},
			want: []string{"~/top", "-/top/item[id=1]", "-/top/item[id=1]/id",
				"-/top/item[id=1]/sub[a=s][b=1]", "-/top/item[id=1]/sub[a=s][b=1]/a", "-/top/item[id=1]/sub[a=s][b=1]/b", "-/top/item[id=1]/sub[a=s][b=1]/c",
				"-/top/item[id=1]/val", "-/top/item[id=1]/weight"},
		},
		{
			name: "leaf-list change",
			ops:  []op{{"merge", "/top/tags", `["x","y","z"]`}},
			want: []string{"~/top", "~/top/tags"},
		},
		{
			name: "leaf-list reorder is a change",
			ops:  []op{{"merge", "/top/tags", `["y","x"]`}},
			want: []string{"~/top", "~/top/tags"},
		},
		{
			name: "choice switch removes the other case",
			ops:  []op{{"merge", "/top/udp-port", `53`}},
			want: []string{"~/top", "-/top/tcp-opts", "-/top/tcp-opts/nodelay", "-/top/tcp-port", "+/top/udp-port"},
		},
		{
			name: "edits in two top-level nodes, in schema order",
			ops:  []op{{"merge", "/big[k=1]/v", `"y"`}, {"merge", "/names[n=q]", `{}`}},
			want: []string{"~/big[k=1]", "~/big[k=1]/v", "+/names[n=q]", "+/names[n=q]/n", "+/names[n=q]/v"},
		},
		{
			name: "replace of an entry with identical content reports nothing below",
			ops:  []op{{"replace", "/top/item[id=2]", `{"val":"two","weight":"3.25"}`}},
			want: []string{"~/top", "~/top/item[id=2]"},
		},
		{
			name: "replace of the whole list with one entry changed",
			ops:  []op{{"replace", "/top/item", `[{"id":1,"val":"one","sub":[{"a":"s","b":1,"c":"c1"}]},{"id":2,"val":"two","weight":"3.30"}]`}},
			want: []string{"~/top", "~/top/item[id=1]", "~/top/item[id=1]/sub[a=s][b=1]", "~/top/item[id=2]", "~/top/item[id=2]/weight"},
		},
		{
			name: "delete then re-create in one transaction",
			ops:  []op{{"delete", "/top/item[id=2]", ""}, {"merge", "/top/item[id=2]", `{"val":"two","weight":"3.25"}`}},
			want: []string{"~/top", "~/top/item[id=2]"},
		},
		{
			name: "no-op transaction",
			ops:  nil,
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := load(t, sch, baseTop)
			cur := apply(t, sch, old, tc.ops...)
			if got := diffLog(old, cur); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			// Diff from the new version back to the old is the mirror
			// image: additions become removals and the other way round.
			var mirror []string
			for _, s := range tc.want {
				switch s[0] {
				case '+':
					s = "-" + s[1:]
				case '-':
					s = "+" + s[1:]
				}
				mirror = append(mirror, s)
			}
			if back := diffLog(cur, old); !reflect.DeepEqual(back, mirror) {
				t.Errorf("reverse: got %q\nwant %q", back, mirror)
			}
		})
	}
}

func TestDiffSkipsDescendants(t *testing.T) {
	sch := tsch(t)
	old := load(t, sch, baseTop)
	cur := apply(t, sch, old, op{"delete", "/top", ""})
	var got []string
	Diff(old, cur, func(chain []*Node, o, n *Node) bool {
		got = append(got, ChainString(chain))
		return false
	})
	if want := []string{"/top"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := diffLog(old, old); got != nil {
		t.Fatalf("Diff of a tree with itself: %q", got)
	}
}

// bigTree is a tree whose top-level list big has n entries.
func bigTree(t *testing.T, n int) *Node {
	sch := tsch(t)
	var b strings.Builder
	b.WriteString(`{"t:big":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"k":` + strconv.Itoa(i) + `,"v":"v` + strconv.Itoa(i) + `"}`)
	}
	b.WriteString(`]}`)
	return load(t, sch, b.String())
}

func TestDiffLargeListVisitsOnlyTheChange(t *testing.T) {
	sch := tsch(t)
	old := bigTree(t, 10000)
	if n := old.ChildByName("big").Len(); n != 10000 {
		t.Fatalf("list has %d entries", n)
	}
	tests := []struct {
		name string
		ops  []op
		want []string
	}{
		{"one leaf of one entry", []op{{"merge", "/big[k=4711]/v", `"changed"`}}, []string{"~/big[k=4711]", "~/big[k=4711]/v"}},
		{"one entry deleted", []op{{"delete", "/big[k=9999]", ""}}, []string{"-/big[k=9999]", "-/big[k=9999]/k", "-/big[k=9999]/v"}},
		{"one entry added", []op{{"merge", "/big[k=10000]", `{}`}}, []string{"+/big[k=10000]", "+/big[k=10000]/k"}},
		{"merge of the list with one entry", []op{{"merge", "/big", `[{"k":17,"v":"w"}]`}}, []string{"~/big[k=17]", "~/big[k=17]/v"}},
		{"two entries in two edits", []op{{"merge", "/big[k=1]/v", `"a"`}, {"merge", "/big[k=2]/v", `"b"`}}, []string{"~/big[k=1]", "~/big[k=1]/v", "~/big[k=2]", "~/big[k=2]/v"}},
		{"entry touched but unchanged", []op{{"merge", "/big[k=3]/v", `"v3"`}}, []string{"~/big[k=3]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := apply(t, sch, old, tc.ops...)
			calls := 0
			var got []string
			Diff(old, cur, func(chain []*Node, o, n *Node) bool {
				calls++
				got = append(got, diffMark(o, n)+ChainString(chain))
				return true
			})
			if calls != len(tc.want) || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%d callbacks %q, want %q", calls, got, tc.want)
			}
		})
	}
	// Across two transactions the list is compared entry by entry, but
	// still only the changed entries are reported.
	mid := apply(t, sch, old, op{"merge", "/big[k=10]/v", `"x"`})
	cur := apply(t, sch, mid, op{"merge", "/big[k=20]/v", `"y"`})
	if got, want := diffLog(old, cur), []string{"~/big[k=10]", "~/big[k=10]/v", "~/big[k=20]", "~/big[k=20]/v"}; !reflect.DeepEqual(got, want) {
		t.Errorf("two transactions: got %q, want %q", got, want)
	}
	if got, want := diffLog(mid, cur), []string{"~/big[k=20]", "~/big[k=20]/v"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second transaction: got %q, want %q", got, want)
	}
}

func diffMark(o, n *Node) string {
	switch {
	case o == nil:
		return "+"
	case n == nil:
		return "-"
	}
	return "~"
}

func TestRows(t *testing.T) {
	sch := tsch(t)
	type row struct{ key, old, new string }
	const none = "<nil>"
	str := func(b []byte) string {
		if b == nil {
			return none
		}
		return string(b)
	}
	tests := []struct {
		name string
		ops  []op
		want []row
	}{
		{
			name: "one leaf of an entry",
			ops:  []op{{"merge", "/top/item[id=2]/val", `"zwei"`}},
			want: []row{{"/top/item[id=2]", `{"id":2,"val":"two","weight":3.25}`, `{"id":2,"val":"zwei","weight":3.25}`}},
		},
		{
			name: "one leaf of a container",
			ops:  []op{{"merge", "/top/name", `"b"`}},
			want: []row{{"/top", `{"mtu":9000,"name":"a","tags":["x","y"],"tcp-port":80}`, `{"mtu":9000,"name":"b","tags":["x","y"],"tcp-port":80}`}},
		},
		{
			name: "one leaf of a nested non-presence container",
			ops:  []op{{"merge", "/top/inner/note", `"m"`}},
			want: []row{{"/top/inner", `{"level":7,"note":"n"}`, `{"level":7,"note":"m"}`}},
		},
		{
			name: "augmented leaf in an entry",
			ops:  []op{{"merge", "/top/item[id=1]/color", `"red"`}},
			want: []row{{"/top/item[id=1]", `{"id":1,"val":"one"}`, `{"id":1,"color":"red","val":"one"}`}},
		},
		{
			name: "a leaf back to its default leaves the row",
			ops:  []op{{"delete", "/top/inner/level", ""}},
			want: []row{{"/top/inner", `{"level":7,"note":"n"}`, `{"note":"n"}`}},
		},
		{
			name: "a container left with defaults only has no row",
			ops:  []op{{"delete", "/top/inner", ""}},
			want: []row{{"/top/inner", `{"level":7,"note":"n"}`, none}},
		},
		{
			name: "deleting an entry deletes the rows below it",
			ops:  []op{{"delete", "/top/item[id=1]", ""}},
			want: []row{{"/top/item[id=1]", `{"id":1,"val":"one"}`, none}, {"/top/item[id=1]/sub[a=s][b=1]", `{"a":"s","b":1,"c":"c1"}`, none}},
		},
		{
			name: "new entry with defaults only",
			ops:  []op{{"merge", "/names[n=q]", `{}`}},
			want: []row{{"/names[n=q]", none, `{"n":"q"}`}},
		},
		{
			name: "presence container",
			ops:  []op{{"merge", "/top/pres", `{}`}},
			want: []row{{"/top/pres", none, `{}`}},
		},
		{
			name: "state does not make rows",
			ops:  nil,
			want: nil,
		},
		{
			name: "identical replace makes no row",
			ops:  []op{{"replace", "/top/item[id=2]", `{"val":"two","weight":"3.25"}`}},
			want: []row{{"/top/item[id=2]", `{"id":2,"val":"two","weight":3.25}`, `{"id":2,"val":"two","weight":3.25}`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := load(t, sch, baseTop)
			txn := Begin(old)
			for _, o := range tc.ops {
				if err := applyOp(txn, sch, o); err != nil {
					t.Fatal(err)
				}
			}
			if tc.name == "state does not make rows" {
				setState(t, txn, path(t, sch, "/top/state/counter"), uint64(3))
				setState(t, txn, path(t, sch, "/top/item[id=1]/stats/hits"), uint64(3))
			}
			var got []row
			for _, r := range Rows(old, txn.Root()) {
				got = append(got, row{r.Key, str(r.Old), str(r.New)})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRowsLargeListOneRow(t *testing.T) {
	sch := tsch(t)
	old := bigTree(t, 10000)
	cur := apply(t, sch, old, op{"merge", "/big[k=5000]/v", `"new"`})
	rows := Rows(old, cur)
	if len(rows) != 1 || rows[0].Key != "/big[k=5000]" || string(rows[0].Old) != `{"k":5000,"v":"v5000"}` || string(rows[0].New) != `{"k":5000,"v":"new"}` {
		t.Fatalf("rows = %q", rows)
	}
	if n := len(AllRows(old)); n != 10000 {
		t.Fatalf("AllRows: %d rows, want 10000", n)
	}
}

// rebuild loads every row of root into an empty tree.
func rebuild(t *testing.T, root *Node) *Node {
	t.Helper()
	rows := AllRows(root)
	txn := Begin(NewRoot(schemaOf(root)))
	for _, r := range rows {
		if r.Old != nil || r.New == nil {
			t.Fatalf("AllRows row %s has Old %q New %q", r.Key, r.Old, r.New)
		}
		if err := txn.LoadRow(r.Key, r.New); err != nil {
			t.Fatalf("LoadRow(%s, %s): %v", r.Key, r.New, err)
		}
	}
	return txn.Root()
}

func TestRowsRoundTripScenarios(t *testing.T) {
	sch := nrsch(t)
	for _, name := range scenarioNames(t) {
		t.Run(name, func(t *testing.T) {
			root := load(t, sch, string(scenarios(t)[name]))
			got := rebuild(t, root)
			for _, f := range []Filter{All, Config, State} {
				for _, ietf := range []bool{true, false} {
					if a, b := enc(root, ietf, f), enc(got, ietf, f); a != b {
						t.Errorf("filter %d ietf %v:\n got  %s\n want %s", f, ietf, b, a)
					}
				}
			}
			// Diff compares leaf values, so an equal rebuild differs only
			// in its objects (distinct pointers), never in a leaf, and no
			// object is added or removed.
			Diff(root, got, func(chain []*Node, o, n *Node) bool {
				if o == nil || n == nil || !n.Schema().IsDir() {
					t.Errorf("rebuilt tree differs at %s", ChainString(chain))
				}
				return true
			})
			// Loading the rows in reverse order gives the same tree.
			rows := AllRows(root)
			txn := Begin(NewRoot(sch))
			for i := len(rows) - 1; i >= 0; i-- {
				if err := txn.LoadRow(rows[i].Key, rows[i].New); err != nil {
					t.Fatal(err)
				}
			}
			if a, b := ietfAll(root), ietfAll(txn.Root()); a != b {
				t.Errorf("reverse order:\n got  %s\n want %s", b, a)
			}
		})
	}
}

func TestRowsRoundTripGeneric(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, baseTop)
	root = apply(t, sch, root,
		op{"merge", "/top/pres", `{"x":"p"}`},
		op{"merge", "/top/u:ext", `{"e":"aug"}`},
		op{"merge", "/top/item[id=1]/color", `"c"`},
		op{"merge", "/top/count64", `"-9223372036854775808"`},
		op{"merge", "/top/ratio", `"-0.01"`},
	)
	got := rebuild(t, root)
	if a, b := ietfAll(root), ietfAll(got); a != b {
		t.Fatalf("round trip:\n got  %s\n want %s", b, a)
	}
}

// TestRowsRoundTripKeyEscapes stores string keys holding the characters
// the path syntax escapes or treats specially.
func TestRowsRoundTripKeyEscapes(t *testing.T) {
	sch := tsch(t)
	keys := []string{``, `a]b`, `a=b`, `a\b`, `a\\b`, `a[b`, `a/b`, `a]/b`, `x\]=/[`, `a b`, `ü`, `*`, `...`, `a]b\c`, `]`, `\`, `=`}
	var b strings.Builder
	b.WriteString(`{"t:names":[`)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"n":` + strconv.Quote(k) + `,"v":"` + strconv.Itoa(i) + `"}`)
	}
	b.WriteString(`]}`)
	root := load(t, sch, b.String())
	for _, r := range AllRows(root) {
		txn := Begin(NewRoot(sch))
		if err := txn.LoadRow(r.Key, r.New); err != nil {
			t.Errorf("LoadRow(%s): %v", r.Key, err)
		}
	}
	got := rebuild(t, root)
	if a, b := ietfAll(root), ietfAll(got); a != b {
		t.Fatalf("round trip:\n got  %s\n want %s", b, a)
	}
}

func TestLoadRowErrors(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		key, data string
		code      Kind // OK: any error
		msg       string
	}{
		{key: "/top/name", data: `"x"`, code: KindCorrupt, msg: "row does not name an object"},
		{key: "/", data: `{}`, code: KindCorrupt},
		{key: "/nope", data: `{}`, code: KindCorrupt},
		{key: "/top/item[id=x]", data: `{}`, code: KindCorrupt},
		{key: "/top/item[id=1]", data: `{"id":2}`, code: KindInvalid},
		{key: "/top/item[id=1]", data: `{"nope":1}`, code: KindNotFound},
		{key: "/top/item[id=1]", data: `[`, code: KindInvalid},
		{key: "/top[", data: `{}`, code: KindCorrupt, msg: "bad row key"},
	}
	for _, tc := range tests {
		t.Run(tc.key+" "+tc.data, func(t *testing.T) {
			txn := Begin(NewRoot(sch))
			err := txn.LoadRow(tc.key, []byte(tc.data))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.code != KindUnset {
				var te *Error
				if !errors.As(err, &te) || te.Kind != tc.code {
					t.Fatalf("error %v: want code %s", err, tc.code)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), strings.TrimSuffix(tc.key, "[")) {
				t.Fatalf("error %q should name the row %s and say %q", err, tc.key, tc.msg)
			}
		})
	}
}

// TestEmptyStringKey checks an entry whose only key is the empty string is
// an entry like any other: defaults, paths, configuration.
func TestEmptyStringKey(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, `{"t:names":[{"n":""},{"n":"x"}]}`)
	if s := enc(root.ChildByName("names"), true, All); s != `[{"n":"","v":"d"},{"n":"x","v":"d"}]` {
		t.Errorf("entries: %s", s)
	}
	e := Lookup(root, path(t, sch, "/names[n=x]"))
	empty := root.ChildByName("names").Entry("")
	if empty == nil || !empty.HasConfig() || !e.HasConfig() {
		t.Fatalf("entry \"\": %v, HasConfig false", empty)
	}
	if got := ChainString([]*Node{root.ChildByName("names"), empty}); got != "/names[n=]" {
		t.Errorf("ChainString = %q, want /names[n=]", got)
	}
	if got := PathString(ChainPath([]*Node{root.ChildByName("names"), empty})); got != "/names[n=]" {
		t.Errorf("ChainPath = %q, want /names[n=]", got)
	}
	var rows []string
	for _, r := range AllRows(root) {
		rows = append(rows, r.Key+" "+string(r.New))
	}
	if want := []string{`/names[n=] {"n":""}`, `/names[n=x] {"n":"x"}`}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
}

// TestChainStringSpecForm: ChainString writes the gNMI path strings of
// gnmi-path-strings.md (keys sorted by name, only `]` and `\` escaped in
// values, newlines as \n), while row keys keep the form of store format
// version 1 (schema key order, `=` escaped); both read back exactly.
func TestChainStringSpecForm(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, `{"t:names":[{"n":"a=b"},{"n":"x]/y"},{"n":"a\\]\\\\b"},{"n":"l1\nl2"}],`+
		`"t:pair":[{"z":"1","a":"2"}]}`)
	var paths, keys []string
	Diff(NewRoot(sch), root, func(chain []*Node, _, n *Node) bool {
		if n.isEntry() {
			paths = append(paths, ChainString(chain))
		}
		return true
	})
	for _, r := range AllRows(root) {
		keys = append(keys, r.Key)
	}
	want := []string{`/names[n=a=b]`, `/names[n=a\\\]\\\\b]`, `/names[n=l1\nl2]`, `/names[n=x\]/y]`, `/pair[a=2][z=1]`}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("ChainString\n %q\nwant\n %q", paths, want)
	}
	want = []string{`/names[n=a\=b]`, `/names[n=a\\\]\\\\b]`, "/names[n=l1\nl2]", `/names[n=x\]/y]`, `/pair[z=1][a=2]`}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("row keys\n %q\nwant\n %q", keys, want)
	}
	if got := rebuild(t, root); ietfAll(got) != ietfAll(root) {
		t.Errorf("rows read back as %s, want %s", ietfAll(got), ietfAll(root))
	}
	for _, ps := range paths {
		elems, err := gnmipath.Parse(ps)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := Resolve(sch.Root, elems); err != nil || Lookup(root, p) == nil {
			t.Errorf("%s reads back as %v, %v: no entry", ps, p, err)
		}
	}
}

// TestDiffCopiedListSkipsTheRest: a list copied in the transaction is
// diffed by the keys it touched, not walked whole — after collections too
// (the list knows its base by a weak pointer). Walking 10,000 entries
// gathers them into two slices grown by doubling: dozens of allocations
// where the touched keys take a few.
func TestDiffCopiedListSkipsTheRest(t *testing.T) {
	sch := tsch(t)
	old := bigTree(t, 10000)
	cur := apply(t, sch, old, op{"merge", "/big[k=4711]/v", `"changed"`})
	runtime.GC()
	runtime.GC()
	allocs := testing.AllocsPerRun(20, func() {
		Diff(old, cur, func([]*Node, *Node, *Node) bool { return true })
	})
	if allocs > 8 {
		t.Errorf("Diff of one changed entry of a copied 10,000-entry list: %.0f allocations, want <= 8 (the list was walked whole)", allocs)
	}
}

// TestDiffCopiedListMatchesAWholeWalk: for random edits of a list in one
// transaction (an entry changed, deleted, created, changed again, deleted
// and created again), Diff by the touched keys reports the same created,
// deleted and changed leaves as a walk of a copy of the result built
// afresh, which shares nothing with the old tree.
func TestDiffCopiedListMatchesAWholeWalk(t *testing.T) {
	sch := tsch(t)
	old := bigTree(t, 500)
	rng := rand.New(rand.NewPCG(7, 11))
	vals := []string{`"a"`, `"b"`}
	for i := 0; i < 300; i++ {
		var ops []op
		for j := 1 + rng.IntN(8); j > 0; j-- {
			k := strconv.Itoa(rng.IntN(6))
			switch rng.IntN(5) {
			case 0:
				ops = append(ops, op{"delete", "/big[k=" + k + "]", ""})
			case 1:
				ops = append(ops, op{"merge", "/big[k=" + k + "]", `{}`})
			case 2:
				ops = append(ops, op{"merge", "/big", `[{"k":` + k + `,"v":"v` + k + `"}]`})
			default:
				ops = append(ops, op{"merge", "/big[k=" + k + "]/v", vals[rng.IntN(2)]})
			}
		}
		cur := apply(t, sch, old, ops...)
		if got, want := leafChanges(old, cur), leafChanges(old, rebuild(t, cur)); !reflect.DeepEqual(got, want) {
			t.Fatalf("%v:\nby touched keys %q\nwalked whole    %q", ops, got, want)
		}
	}
}

// leafChanges is Diff's report without the entries it found changed:
// those a walk reports for every entry of a tree built afresh.
func leafChanges(old, cur *Node) []string {
	var out []string
	for _, c := range diffLog(old, cur) {
		if c[0] != '~' || strings.HasSuffix(c, "/v") || strings.HasSuffix(c, "/k") {
			out = append(out, c)
		}
	}
	return out
}
