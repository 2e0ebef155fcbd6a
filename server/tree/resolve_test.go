package tree

import (
	"errors"
	"reflect"
	"sort"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/schema/value"
)

func TestResolve(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		in   string
		want string // canonical path, or "" for an error
		keys []value.Value
		code Kind
		path string // error path
	}{
		{in: "/", want: "/"},
		{in: "/top", want: "/top"},
		{in: "/t:top/name", want: "/top/name"},
		{in: "/top/u:ext/e", want: "/top/ext/e"},
		{in: "/top/ext/e", want: "/top/ext/e"},
		{in: "/top/item", want: "/top/item"},
		{in: "/top/item[id=7]", want: "/top/item[id=7]", keys: []value.Value{uint64(7)}},
		{in: "/top/item[id=007]/val", want: "/top/item[id=7]/val"},
		{in: "/top/item[id=1]/sub[b=-2][a=x]/c", want: "/top/item[id=1]/sub[a=x][b=-2]/c"},
		{in: "/top/item[id=1]/sub", want: "/top/item[id=1]/sub"},
		{in: "/top/state/counter", want: "/top/state/counter"},
		{in: "/names[n=a\\]b]", want: "/names[n=a\\]b]", keys: []value.Value{"a]b"}},
		{in: "/names[t:n=q]", want: "/names[n=q]", keys: []value.Value{"q"}},
		{in: "/top/raw", want: "/top/raw"},
		{in: "/top/tcp-opts/nodelay", want: "/top/tcp-opts/nodelay"},
		// Unknown names.
		{in: "/nope", code: KindNotFound, path: "/nope"},
		{in: "/top/nope/x", code: KindNotFound, path: "/top/nope"},
		{in: "/u:top", code: KindNotFound, path: "/u:top"},
		{in: "/top/t:ext", code: KindNotFound, path: "/top/t:ext"},
		{in: "/top/item[id=1]/transport", code: KindNotFound, path: "/top/item[id=1]/transport"},
		{in: "/top/tcp", code: KindNotFound, path: "/top/tcp"},
		// Keys.
		{in: "/top/item[id=x]", code: KindInvalid, path: "/top/item[id=x]"},
		{in: `/top/item[id=no\]such]`, code: KindInvalid, path: `/top/item[id=no\]such]`},
		{in: "/top/item[id=-1]/val", code: KindInvalid, path: "/top/item[id=-1]"},
		{in: "/top/item[id=4294967296]", code: KindInvalid, path: "/top/item[id=4294967296]"},
		{in: "/top/item/val", code: KindInvalid, path: "/top/item"},
		{in: "/top/item[id=1]/sub[a=x]", code: KindInvalid, path: "/top/item[id=1]/sub[a=x]"},
		{in: "/top/item[id=1]/sub[a=x][b=y]", code: KindInvalid, path: ""},
		{in: "/top/item[name=1]", code: KindInvalid, path: "/top/item[name=1]"},
		{in: "/top/item[val=1]", code: KindInvalid, path: "/top/item[val=1]"},
		{in: "/top[name=a]", code: KindInvalid, path: "/top[name=a]"},
		{in: "/top/name[x=1]", code: KindInvalid, path: ""},
		{in: "/names[u:n=q]", code: KindInvalid, path: ""},
		// Wildcards.
		{in: "/top/item[id=*]", code: KindInvalid, path: "/top/item[id=*]"},
		{in: "/*", code: KindInvalid, path: "/*"},
		{in: "/top/...", code: KindInvalid, path: "/top/..."},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Resolve(sch.Root, elems(t, tc.in))
			if tc.want == "" {
				te := wantTreeError(t, err, tc.code, errPath(err, tc.path))
				_ = te
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := PathString(p); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if tc.keys != nil && !reflect.DeepEqual(p[len(p)-1].Keys, tc.keys) {
				t.Fatalf("keys %#v, want %#v", p[len(p)-1].Keys, tc.keys)
			}
			// A concrete path is also a valid pattern.
			if err := CheckPattern(sch.Root, elems(t, tc.in)); err != nil {
				t.Fatalf("CheckPattern: %v", err)
			}
			// GNMIElems gives back elements that resolve to the same path.
			p2, err := Resolve(sch.Root, GNMIElems(p))
			if err != nil || PathString(p2) != tc.want {
				t.Fatalf("GNMIElems round trip: %v %s", err, PathString(p2))
			}
		})
	}
}

// errPath returns want, or the error's own path when want is "" (cases
// where the exact rendering of a key map is not of interest).
func errPath(err error, want string) string {
	var te *Error
	if want == "" && errors.As(err, &te) {
		return te.Path
	}
	return want
}

func TestCheckPattern(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		in   string
		code Kind
		path string
	}{
		{in: "/"},
		{in: "/top/item[id=*]/val"},
		{in: "/top/item/val"},
		{in: "/top/item[id=1]/sub[a=*][b=3]/c"},
		{in: "/top/item[id=1]/sub[b=3]"},
		{in: "/*/item"},
		{in: "/top/*/nothing-checked-after-a-wildcard"},
		{in: "/.../whatever[k=v]"},
		{in: "/top/..."},
		{in: "/t:top/u:ext"},
		{in: "/names[t:n=*]"},
		{in: "/nope", code: KindNotFound, path: "/nope"},
		{in: "/top/nope/*", code: KindNotFound, path: "/top/nope"},
		{in: "/top/item[id=x]", code: KindInvalid, path: "/top/item[id=x]"},
		{in: `/top/item[id=no\]such]`, code: KindInvalid, path: `/top/item[id=no\]such]`},
		{in: "/top/item[id=1]/sub[b=zz]", code: KindInvalid, path: "/top/item[id=1]/sub[b=zz]"},
		{in: "/top/item[foo=1]", code: KindInvalid, path: "/top/item[foo=1]"},
		{in: "/top[x=1]/name", code: KindInvalid, path: "/top[x=1]"},
		{in: "/top/tags[x=1]", code: KindInvalid, path: "/top/tags[x=1]"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := CheckPattern(sch.Root, elems(t, tc.in))
			if tc.code == KindUnset {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantTreeError(t, err, tc.code, tc.path)
		})
	}
}

// matchTree has a few of everything for pattern matching.
const matchTree = `{"t:top":{"name":"a","u:ext":{"e":"q"},"inner":{"note":"n"},` +
	`"item":[{"id":1,"val":"one","sub":[{"a":"x","b":1},{"a":"x","b":2},{"a":"y","b":1}]},{"id":2,"val":"two"},{"id":3}]},` +
	`"t:big":[{"k":1,"v":"x"},{"k":2}],"t:names":[{"n":"*"},{"n":"p"}]}`

func TestMatch(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, matchTree)
	tests := []struct {
		in   string
		want []string
	}{
		{"/", []string{"/"}},
		{"/top/name", []string{"/top/name"}},
		{"/t:top/u:ext/e", []string{"/top/ext/e"}},
		{"/top/item[id=2]", []string{"/top/item[id=2]"}},
		{"/top/item[id=9]", nil},
		{"/top/pres", nil},
		{"/top/count64", nil},
		{"/top/item", []string{"/top/item[id=1]", "/top/item[id=2]", "/top/item[id=3]"}},
		{"/top/item[id=*]/val", []string{"/top/item[id=1]/val", "/top/item[id=2]/val"}},
		{"/top/item/val", []string{"/top/item[id=1]/val", "/top/item[id=2]/val"}},
		{"/top/item[id=1]/sub[a=x]", []string{"/top/item[id=1]/sub[a=x][b=1]", "/top/item[id=1]/sub[a=x][b=2]"}},
		{"/top/item[id=1]/sub[b=1]", []string{"/top/item[id=1]/sub[a=x][b=1]", "/top/item[id=1]/sub[a=y][b=1]"}},
		{"/top/item[id=1]/sub[a=*][b=2]/a", []string{"/top/item[id=1]/sub[a=x][b=2]/a"}},
		{"/top/item[id=1]/sub[a=y][b=1]", []string{"/top/item[id=1]/sub[a=y][b=1]"}},
		{"/*", []string{"/top", "/big[k=1]", "/big[k=2]", "/names[n=*]", "/names[n=p]"}},
		{"/*/name", []string{"/top/name"}},
		{"/*/*/e", []string{"/top/ext/e"}},
		{"/*[k=2]", []string{"/big[k=2]"}},
		{"/*[k=2]/v", nil},
		{"/*[n=p]", []string{"/names[n=p]"}},
		{"/names[n=p]", []string{"/names[n=p]"}},
		{"/names[t:n=p]", []string{"/names[n=p]"}},
		{"/names[t:n=zz]", nil},
		{"/big[k=2]/v", nil},
		{"/top/inner/*", []string{"/top/inner/level", "/top/inner/note"}},
		{"/.../e", []string{"/top/ext/e"}},
		{"/.../v", []string{"/big[k=1]/v", "/names[n=*]/v", "/names[n=p]/v"}},
		{"/.../sub[b=2]", []string{"/top/item[id=1]/sub[a=x][b=2]"}},
		{"/top/item[id=1]/...", []string{"/top/item[id=1]", "/top/item[id=1]/sub[a=x][b=1]", "/top/item[id=1]/sub[a=x][b=2]", "/top/item[id=1]/sub[a=y][b=1]"}},
		{"/top/name/...", []string{"/top/name"}},
		{"/big/...", []string{"/big[k=1]", "/big[k=2]"}},
		{"/top/.../val", []string{"/top/item[id=1]/val", "/top/item[id=2]/val"}},
		{"/top/.../.../val", []string{"/top/item[id=1]/val", "/top/item[id=2]/val"}},
		{"/.../...", []string{"/", "/top", "/top/ext", "/top/inner", "/top/item[id=1]", "/top/item[id=1]/sub[a=x][b=1]", "/top/item[id=1]/sub[a=x][b=2]", "/top/item[id=1]/sub[a=y][b=1]", "/top/item[id=2]", "/top/item[id=3]", "/top/state", "/big[k=1]", "/big[k=2]", "/names[n=*]", "/names[n=p]"}},
		{"/...", []string{"/", "/top", "/top/ext", "/top/inner", "/top/item[id=1]", "/top/item[id=1]/sub[a=x][b=1]", "/top/item[id=1]/sub[a=x][b=2]", "/top/item[id=1]/sub[a=y][b=1]", "/top/item[id=2]", "/top/item[id=3]", "/top/state", "/big[k=1]", "/big[k=2]", "/names[n=*]", "/names[n=p]"}},
		{"/top/state/status", []string{"/top/state/status"}},
		{"/*/inner[x=1]", nil},
		{"/top/*/level", []string{"/top/inner/level"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			els := elems(t, tc.in)
			if err := CheckPattern(sch.Root, els); err != nil {
				t.Fatalf("CheckPattern: %v", err)
			}
			var got []string
			err := Match(root, els, func(chain []*Node) error {
				got = append(got, ChainString(chain))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Matches come in tree order; compare as sets of unique paths
			// and check no node is reported twice.
			seen := map[string]bool{}
			for _, g := range got {
				if seen[g] {
					t.Errorf("%s reported more than once", g)
				}
				seen[g] = true
			}
			sort.Strings(got)
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestMatchErrors(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, matchTree)
	stop := errors.New("stop")
	n := 0
	err := Match(root, elems(t, "/top/item"), func([]*Node) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("callback error: got %v after %d calls", err, n)
	}
	// Bad keys past a wildcard are reported by Match itself.
	err = Match(root, elems(t, "/*/item[id=x]"), func([]*Node) error { return nil })
	wantTreeError(t, err, KindInvalid, "/item[id=x]")
	// A key of another list under "*" is no match, not an error.
	var got []string
	err = Match(root, elems(t, "/*[id=1]"), func(c []*Node) error { got = append(got, ChainString(c)); return nil })
	if err != nil || got != nil {
		t.Fatalf("/*[id=1]: %v %q", err, got)
	}
}

// TestMatchRepeatedEllipsis makes sure consecutive "..." elements cost no
// more than one: without care each adds a level of recursion over the
// whole tree.
func TestMatchRepeatedEllipsis(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, matchTree)
	els := make([]*gpb.PathElem, 40)
	for i := range els {
		els[i] = &gpb.PathElem{Name: "..."}
	}
	els = append(els, &gpb.PathElem{Name: "nothing"})
	if err := Match(root, els, func([]*Node) error { t.Fatal("match"); return nil }); err != nil {
		t.Fatal(err)
	}
}
