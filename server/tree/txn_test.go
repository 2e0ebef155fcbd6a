package tree

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"weak"

	"google.golang.org/grpc/codes"

	"github.com/netready/netready/server/schema/value"
)

// Base documents for the edit tables.
const (
	baseTop = `{"t:top":{"name":"a","mtu":9000,"tags":["x","y"],"inner":{"level":7,"note":"n"},` +
		`"tcp-port":80,"tcp-opts":{"nodelay":true},` +
		`"item":[{"id":1,"val":"one","sub":[{"a":"s","b":1,"c":"c1"}]},{"id":2,"val":"two","weight":"3.25"}]},` +
		`"t:big":[{"k":1,"v":"x"}]}`
)

func TestMerge(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		name string
		base string
		ops  []op
		want string // JSON_IETF, All
	}{
		{
			name: "root payload into empty tree",
			ops:  []op{{"merge", "/", `{"t:top":{"name":"a"}}`}},
			want: `{"t:top":{"inner":{"level":3},"mtu":1500,"name":"a","state":{"status":"ok"}}}`,
		},
		{
			name: "container into empty tree creates it with defaults",
			ops:  []op{{"merge", "/top", `{"mtu":100}`}},
			want: `{"t:top":{"inner":{"level":3},"mtu":100,"state":{"status":"ok"}}}`,
		},
		{
			name: "deep entry into empty tree creates every ancestor",
			ops:  []op{{"merge", "/top/item[id=5]/sub[a=q][b=-2]", `{"c":"deep"}`}},
			want: `{"t:top":{"inner":{"level":3},"item":[{"id":5,"sub":[{"a":"q","b":-2,"c":"deep"}],"weight":"1.5"}],"mtu":1500,"state":{"status":"ok"}}}`,
		},
		{
			name: "leaves of the payload win, others are kept",
			base: baseTop,
			ops:  []op{{"merge", "/top", `{"name":"b","count64":"-7"}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"count64":"-7","inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"b","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "defaults of the payload do not override set values",
			base: baseTop,
			// The decoded inner carries level=3 as a default, top carries mtu=1500.
			ops:  []op{{"merge", "/top", `{"inner":{"note":"m"}}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"m"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "an explicit value equal to the default replaces a set value",
			base: baseTop,
			ops:  []op{{"merge", "/top/mtu", `1500`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":1500,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "leaf-list is replaced, not merged",
			base: baseTop,
			ops:  []op{{"merge", "/top", `{"tags":["z"]}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["z"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "leaf-list at its own path is replaced",
			base: baseTop,
			ops:  []op{{"merge", "/top/tags", `["q","r","s"]`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["q","r","s"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "list entries merge by key, new entries are added",
			base: baseTop,
			ops:  []op{{"merge", "/top/item", `[{"id":1,"weight":"2.5"},{"id":3}]`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"2.5"},{"id":2,"val":"two","weight":"3.25"},{"id":3,"weight":"1.5"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "entry at its path merges, default weight does not reset 3.25",
			base: baseTop,
			ops:  []op{{"merge", "/top/item[id=2]", `{"val":"deux"}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"deux","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "root merge touches only what it names",
			base: baseTop,
			ops:  []op{{"merge", "/", `{"t:big":[{"k":2}],"t:names":[{"n":"w"}]}`}},
			want: `{"t:big":[{"k":1,"v":"x"},{"k":2}],"t:names":[{"n":"w","v":"d"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "augmented nodes merge like any other",
			base: baseTop,
			ops:  []op{{"merge", "/top", `{"u:ext":{"e":"1"},"u:flag":false,"item":[{"id":2,"u:color":"blue"}]}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"u:ext":{"e":"1"},"u:flag":false,"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"u:color":"blue","val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := load(t, sch, tc.base)
			before := ietfAll(base)
			got := apply(t, sch, base, tc.ops...)
			if s := ietfAll(got); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
			if after := ietfAll(base); after != before {
				t.Errorf("base tree changed by the transaction:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestMergeDefaultFlags(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, baseTop)
	root = apply(t, sch, root, op{"merge", "/top", `{"inner":{}}`})
	if lv := Lookup(root, path(t, sch, "/top/inner/level")); lv == nil || lv.IsDefault() || lv.Value() != int64(7) {
		t.Fatalf("inner/level = %+v, want set value 7", lv)
	}
	if mtu := Lookup(root, path(t, sch, "/top/mtu")); mtu == nil || mtu.IsDefault() || mtu.Value() != uint64(9000) {
		t.Fatalf("mtu = %+v, want set value 9000", mtu)
	}
	fresh := apply(t, sch, NewRoot(sch), op{"merge", "/top/name", `"x"`})
	if mtu := Lookup(fresh, path(t, sch, "/top/mtu")); mtu == nil || !mtu.IsDefault() || mtu.Value() != uint64(1500) {
		t.Fatalf("fresh mtu = %+v, want default 1500", mtu)
	}
}

func TestMergeKeyMismatch(t *testing.T) {
	sch := tsch(t)
	payload := decodeAt(t, path(t, sch, "/top/item[id=2]"), `{"val":"x"}`)
	for _, kind := range []string{"merge", "replace"} {
		txn := Begin(load(t, sch, baseTop))
		p := path(t, sch, "/top/item[id=1]")
		var err error
		if kind == "merge" {
			err = txn.Merge(p, payload)
		} else {
			err = txn.Replace(p, payload)
		}
		if err == nil || err.Error() != "key in payload (2) differs from key in path (1)" {
			t.Errorf("%s: got %v, want key mismatch error", kind, err)
		}
	}
}

func TestReplace(t *testing.T) {
	sch := tsch(t)
	// The base has state below top and below item 1 and 2.
	base := func(t *testing.T) *Node {
		txn := Begin(load(t, sch, baseTop))
		setState(t, txn, path(t, sch, "/top/state/counter"), uint64(5))
		setState(t, txn, path(t, sch, "/top/item[id=1]/stats/hits"), uint64(11))
		setState(t, txn, path(t, sch, "/top/item[id=2]/stats/hits"), uint64(22))
		return txn.Root()
	}
	tests := []struct {
		name string
		ops  []op
		want string
	}{
		{
			name: "container: config not in the payload goes, state stays",
			ops:  []op{{"replace", "/top", `{"name":"n","item":[{"id":1}]}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":3},"item":[{"id":1,"stats":{"hits":"11"},"weight":"1.5"}],"mtu":1500,"name":"n","state":{"counter":"5","status":"ok"}}}`,
		},
		{
			name: "entry: its state stays, its config is replaced",
			ops:  []op{{"replace", "/top/item[id=1]", `{"id":1,"val":"uno"}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"stats":{"hits":"11"},"val":"uno","weight":"1.5"},{"id":2,"stats":{"hits":"22"},"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"counter":"5","status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "whole list: dropped entries lose their state, kept ones keep it",
			ops:  []op{{"replace", "/top/item", `[{"id":2},{"id":9}]`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":2,"stats":{"hits":"22"},"weight":"1.5"},{"id":9,"weight":"1.5"}],"mtu":9000,"name":"a","state":{"counter":"5","status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "root: objects that survive keep state",
			ops:  []op{{"replace", "/", `{"t:top":{"item":[{"id":2}]}}`}},
			want: `{"t:top":{"inner":{"level":3},"item":[{"id":2,"stats":{"hits":"22"},"weight":"1.5"}],"mtu":1500,"state":{"counter":"5","status":"ok"}}}`,
		},
		{
			// top exists implicitly (it holds defaults), so it keeps its
			// state; the items do not survive.
			name: "root: objects that do not survive lose state",
			ops:  []op{{"replace", "/", `{"t:big":[{"k":3}]}`}},
			want: `{"t:big":[{"k":3}],"t:top":{"inner":{"level":3},"mtu":1500,"state":{"counter":"5","status":"ok"}}}`,
		},
		{
			name: "leaf",
			ops:  []op{{"replace", "/top/name", `"r"`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"stats":{"hits":"11"},"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"stats":{"hits":"22"},"val":"two","weight":"3.25"}],"mtu":9000,"name":"r","state":{"counter":"5","status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "non-existing entry is created",
			ops:  []op{{"replace", "/top/item[id=4]", `{"val":"four"}`}},
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"stats":{"hits":"11"},"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"stats":{"hits":"22"},"val":"two","weight":"3.25"},{"id":4,"val":"four","weight":"1.5"}],"mtu":9000,"name":"a","state":{"counter":"5","status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base(t)
			before := ietfAll(b)
			got := apply(t, sch, b, tc.ops...)
			if s := ietfAll(got); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
			if ietfAll(b) != before {
				t.Error("base tree changed")
			}
		})
	}
}

func TestDelete(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		name string
		path string
		want string
		// check is a leaf that must exist afterwards holding a default.
		defaultLeaf string
		defaultVal  value.Value
	}{
		{
			name: "leaf with default falls back to it", path: "/top/mtu",
			want:        `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":1500,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
			defaultLeaf: "/top/mtu", defaultVal: uint64(1500),
		},
		{
			name: "nested leaf with default", path: "/top/inner/level",
			want:        `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":3,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
			defaultLeaf: "/top/inner/level", defaultVal: int64(3),
		},
		{
			name: "entry leaf with default", path: "/top/item[id=2]/weight",
			want:        `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"1.5"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
			defaultLeaf: "/top/item[id=2]/weight", defaultVal: value.Decimal{Digits: 150, Scale: 2},
		},
		{
			name: "non-presence container keeps existing with its defaults", path: "/top/inner",
			want:        `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":3},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
			defaultLeaf: "/top/inner/level", defaultVal: int64(3),
		},
		{
			name: "leaf without default", path: "/top/name",
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "leaf-list", path: "/top/tags",
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "list entry", path: "/top/item[id=1]",
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "multi-key entry", path: "/top/item[id=1]/sub[a=s][b=1]",
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "whole list", path: "/top/item",
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "choice case container", path: "/top/tcp-opts",
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-port":80}}`,
		},
		{
			// A non-presence container holding defaults exists implicitly.
			name: "top-level container", path: "/top",
			want: `{"t:big":[{"k":1,"v":"x"}],"t:top":{"inner":{"level":3},"mtu":1500,"state":{"status":"ok"}}}`,
		},
		{
			name: "top-level list", path: "/big",
			want: `{"t:top":{"inner":{"level":7,"note":"n"},"item":[{"id":1,"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","state":{"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`,
		},
		{
			name: "root", path: "/",
			want: `{"t:top":{"inner":{"level":3},"mtu":1500,"state":{"status":"ok"}}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := load(t, sch, baseTop)
			before := ietfAll(base)
			got := apply(t, sch, base, op{kind: "delete", path: tc.path})
			if s := ietfAll(got); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
			if ietfAll(base) != before {
				t.Error("base tree changed")
			}
			if tc.defaultLeaf != "" {
				n := Lookup(got, path(t, sch, tc.defaultLeaf))
				if n == nil || !n.IsDefault() || !value.Equal(n.Value(), tc.defaultVal) {
					t.Errorf("%s = %+v, want the default %v", tc.defaultLeaf, n, tc.defaultVal)
				}
			}
		})
	}
}

func TestDeleteMissingIsNoop(t *testing.T) {
	sch := tsch(t)
	base := load(t, sch, baseTop)
	for _, p := range []string{
		"/top/item[id=99]", "/top/item[id=99]/val", "/top/item[id=1]/sub[a=nope][b=0]",
		"/top/pres", "/top/pres/x", "/top/count64", "/names", "/names[n=zz]", "/top/u:ext/e",
	} {
		t.Run(p, func(t *testing.T) {
			txn := Begin(base)
			txn.Delete(path(t, sch, p))
			got := txn.Root()
			if log := diffLog(base, got); len(log) != 0 {
				t.Errorf("Diff reports %v, want nothing", log)
			}
			if rows := Rows(base, got); len(rows) != 0 {
				t.Errorf("Rows = %v, want none", rows)
			}
			// Nothing below the root was copied.
			for i, k := range got.Children() {
				if k != base.Children()[i] {
					t.Errorf("child %s copied by a no-op delete", k.Schema().Name)
				}
			}
		})
	}
	// Deleting from an empty tree.
	empty := NewRoot(sch)
	txn := Begin(empty)
	txn.Delete(path(t, sch, "/top/item[id=1]"))
	if s := ietfAll(txn.Root()); s != `{"t:top":{"inner":{"level":3},"mtu":1500,"state":{"status":"ok"}}}` {
		t.Errorf("delete in empty tree: %s", s)
	}
}

func TestChoiceExclusivity(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		name string
		ops  []op
		want string // JSON_IETF of /top, Config
	}{
		{
			name: "leaf of another case removes the first case's leaf and container",
			ops:  []op{{"merge", "/top/udp-port", `53`}},
			want: `{"inner":{"level":7,"note":"n"},"udp-port":53}`,
		},
		{
			name: "shorthand case",
			ops:  []op{{"merge", "/top", `{"raw":[null]}`}},
			want: `{"inner":{"level":7,"note":"n"},"raw":[null]}`,
		},
		{
			name: "container of the same case keeps the case",
			ops:  []op{{"merge", "/top/tcp-opts/nodelay", `false`}},
			want: `{"inner":{"level":7,"note":"n"},"tcp-opts":{"nodelay":false},"tcp-port":80}`,
		},
		{
			name: "creating a deep node of another case through walk",
			ops:  []op{{"merge", "/top/udp-port", `53`}, {"merge", "/top/tcp-opts/nodelay", `true`}},
			want: `{"inner":{"level":7,"note":"n"},"tcp-opts":{"nodelay":true}}`,
		},
		{
			name: "replace of a leaf in another case",
			ops:  []op{{"replace", "/top/raw", `[null]`}},
			want: `{"inner":{"level":7,"note":"n"},"raw":[null]}`,
		},
		{
			name: "root merge switching case",
			ops:  []op{{"merge", "/", `{"t:top":{"udp-port":1}}`}},
			want: `{"inner":{"level":7,"note":"n"},"udp-port":1}`,
		},
	}
	base := `{"t:top":{"inner":{"level":7,"note":"n"},"tcp-port":80,"tcp-opts":{"nodelay":true}}}`
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := apply(t, sch, load(t, sch, base), tc.ops...)
			top := Lookup(got, path(t, sch, "/top"))
			var s string
			if top != nil {
				s = enc(top, true, Config)
			}
			// Every want also holds the default mtu.
			want := strings.TrimSuffix(tc.want, "}") + `,"mtu":1500}`
			if canonJSON(t, []byte(s)) != canonJSON(t, []byte(want)) {
				t.Errorf("got  %s\nwant %s", s, want)
			}
		})
	}
	// A payload naming two cases is refused by the decoder; the error
	// names whichever of the two it met second.
	_, err := DecodeJSON(path(t, sch, "/top"), []byte(`{"tcp-port":1,"udp-port":2}`), true)
	te, ok := err.(*Error)
	if !ok || te.Code != codes.InvalidArgument || (te.Path != "/top/tcp-port" && te.Path != "/top/udp-port") ||
		!strings.Contains(te.Msg, "choice transport: cases") {
		t.Errorf("two cases: got %v, want InvalidArgument at one of the two case leaves", err)
	}
}

func TestCopyOnWrite(t *testing.T) {
	sch := tsch(t)
	base := load(t, sch, baseTop+``)
	base = apply(t, sch, base, op{"merge", "/top/item", `[{"id":3,"val":"three"},{"id":4}]`})
	before := [3]string{enc(base, true, All), enc(base, false, All), enc(base, true, State)}

	txn := Begin(base)
	for _, o := range []op{
		{"merge", "/top/item[id=1]/val", `"changed"`},
		{"merge", "/top/item[id=1]/sub[a=s][b=1]/c", `"c2"`},
		{"delete", "/top/item[id=4]", ``},
		{"replace", "/top/inner", `{"note":"r"}`},
		{"merge", "/top/tags", `["t"]`},
		{"merge", "/top/item[id=7]", `{"val":"new"}`},
	} {
		if err := applyOp(txn, sch, o); err != nil {
			t.Fatal(err)
		}
	}
	setState(t, txn, path(t, sch, "/top/item[id=3]/stats/hits"), uint64(1))
	cur := txn.Root()
	after := [3]string{enc(base, true, All), enc(base, false, All), enc(base, true, State)}
	if before != after {
		t.Fatalf("base changed:\nbefore %v\nafter  %v", before, after)
	}
	if enc(cur, true, All) == before[0] {
		t.Fatal("the transaction changed nothing")
	}

	// Untouched subtrees are shared, touched paths are copied.
	shared := []string{"/big", "/big[k=1]", "/top/item[id=2]", "/top/item[id=1]/id", "/top/item[id=1]/weight", "/top/name", "/top/tcp-opts", "/top/state"}
	for _, s := range shared {
		if o, n := Lookup(base, path(t, sch, s)), Lookup(cur, path(t, sch, s)); o == nil || o != n {
			t.Errorf("%s: not shared (old %p, new %p)", s, o, n)
		}
	}
	copied := []string{"/top", "/top/item", "/top/item[id=1]", "/top/item[id=1]/sub", "/top/item[id=1]/sub[a=s][b=1]", "/top/item[id=3]", "/top/inner"}
	for _, s := range copied {
		if o, n := Lookup(base, path(t, sch, s)), Lookup(cur, path(t, sch, s)); o == nil || n == nil || o == n {
			t.Errorf("%s: not copied (old %p, new %p)", s, o, n)
		}
	}
	// The root of an untouched second transaction still shares everything.
	txn2 := Begin(cur)
	cur2 := txn2.Root()
	if cur2 == cur {
		t.Fatal("Begin did not copy the root")
	}
	for i := range cur.Children() {
		if cur.Children()[i] != cur2.Children()[i] {
			t.Errorf("child %d copied without an edit", i)
		}
	}
	// Editing the second transaction does not change the first result.
	snap := enc(cur, true, All)
	if err := applyOp(txn2, sch, op{"merge", "/top/item[id=1]/val", `"again"`}); err != nil {
		t.Fatal(err)
	}
	txn2.Delete(path(t, sch, "/big"))
	if enc(cur, true, All) != snap {
		t.Fatal("a later transaction changed an earlier result")
	}
}

// TestCopyOnWriteConcurrent runs readers of a published tree and several
// transactions on it at once; run with -race.
func TestCopyOnWriteConcurrent(t *testing.T) {
	sch := tsch(t)
	base := load(t, sch, baseTop)
	want := ietfAll(base)
	done := make(chan string)
	for i := 0; i < 4; i++ {
		go func(i int) {
			txn := Begin(base)
			for j := 0; j < 50; j++ {
				if err := applyOp(txn, sch, op{"merge", "/big", `[{"k":` + itoa(i*100+j) + `}]`}); err != nil {
					done <- err.Error()
					return
				}
				if err := applyOp(txn, sch, op{"merge", "/top/item[id=1]/val", `"w"`}); err != nil {
					done <- err.Error()
					return
				}
				txn.Delete(path(t, sch, "/top/item[id=2]"))
			}
			done <- ""
		}(i)
		go func() {
			for j := 0; j < 50; j++ {
				if s := ietfAll(base); s != want {
					done <- "reader saw " + s
					return
				}
				base.ChildByName("big").Entries(func(*Node) bool { return true })
			}
			done <- ""
		}()
	}
	for i := 0; i < 8; i++ {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

func itoa(i int) string { return value.String(int64(i)) }

// TestOldVersionsAreReleased edits a list in many transactions, keeping
// only the newest tree: the first version of the list must be garbage.
// A list remembered the version it was copied from (for Diff) by a strong
// pointer, so every version kept its predecessor, and a server that edits
// a list on each Set (the audit log does) grew without bound.
func TestOldVersionsAreReleased(t *testing.T) {
	sch := tsch(t)
	cur := apply(t, sch, load(t, sch, baseTop), op{"merge", "/top/item[id=1]/val", `"v0"`})
	first := weak.Make(Lookup(cur, path(t, sch, "/top/item")))
	for i := 1; i <= 100; i++ {
		cur = apply(t, sch, cur, op{"merge", "/top/item[id=1]/val", fmt.Sprintf(`"v%d"`, i)})
	}
	runtime.GC()
	if first.Value() != nil {
		t.Fatal("the first version of /top/item is still reachable from the 101st")
	}
	if got := Lookup(cur, path(t, sch, "/top/item[id=1]/val")).Value(); got != "v100" {
		t.Fatalf("val = %v, want v100", got)
	}
}
