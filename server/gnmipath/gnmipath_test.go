package gnmipath

import (
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"
)

func el(name string, kv ...string) *gpb.PathElem {
	e := &gpb.PathElem{Name: name}
	for i := 0; i+1 < len(kv); i += 2 {
		if e.Key == nil {
			e.Key = map[string]string{}
		}
		e.Key[kv[i]] = kv[i+1]
	}
	return e
}

func same(a, b []*gpb.PathElem) bool {
	return proto.Equal(&gpb.Path{Elem: a}, &gpb.Path{Elem: b})
}

// TestString covers the examples of gnmi-path-strings.md and the values
// that made the old renderers ambiguous.
func TestString(t *testing.T) {
	for _, tc := range []struct {
		elems []*gpb.PathElem
		want  string
	}{
		{nil, "/"},
		{[]*gpb.PathElem{el("a"), el("b"), el("c")}, "/a/b/c"},
		{[]*gpb.PathElem{el("interfaces"), el("interface", "name", "Ethernet/1/2/3"), el("state")}, "/interfaces/interface[name=Ethernet/1/2/3]/state"},
		{[]*gpb.PathElem{el("protocol", "name", "65497", "identifier", "ISIS")}, "/protocol[identifier=ISIS][name=65497]"},
		{[]*gpb.PathElem{el("foo", "name", "]")}, `/foo[name=\]]`},
		{[]*gpb.PathElem{el("foo", "name", "[")}, `/foo[name=[]`},
		{[]*gpb.PathElem{el("foo", "name", `[\]`)}, `/foo[name=[\\\]]`},
		{[]*gpb.PathElem{el("item", "id", "no]such")}, `/item[id=no\]such]`},
		{[]*gpb.PathElem{el("item", "id", "x]/y")}, `/item[id=x\]/y]`},
		{[]*gpb.PathElem{el("item", "id", `a\]\\b`)}, `/item[id=a\\\]\\\\b]`},
		{[]*gpb.PathElem{el("item", "id", "a=b")}, `/item[id=a=b]`},
		{[]*gpb.PathElem{el("item", "id", "")}, `/item[id=]`},
		{[]*gpb.PathElem{el("item", "id", "l1\nl2\r")}, `/item[id=l1\nl2\r]`},
		{[]*gpb.PathElem{el("item", "id", "é☃")}, `/item[id=é☃]`},
		{[]*gpb.PathElem{el(`a/b[c]=\`, `k=]`, "v")}, `/a\/b\[c\]\=\\[k\=\]=v]`},
	} {
		if got := String(tc.elems); got != tc.want {
			t.Errorf("String(%v) = %s, want %s", tc.elems, got, tc.want)
		}
		if got, err := Parse(tc.want); err != nil || !same(got, tc.elems) {
			t.Errorf("Parse(%s) = %v, %v; want %v", tc.want, got, err, tc.elems)
		}
	}
}

// TestParseForeign reads forms String does not write: no leading "/",
// ygot's `\=`, Unicode escapes.
func TestParseForeign(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []*gpb.PathElem
	}{
		{"", nil},
		{"a/b", []*gpb.PathElem{el("a"), el("b")}},
		{`/a[k=x\=y]`, []*gpb.PathElem{el("a", "k", "x=y")}},
		{`/a[k=\u00e9\U0001F600]`, []*gpb.PathElem{el("a", "k", "é😀")}},
		{`/a[k=[]/b`, []*gpb.PathElem{el("a", "k", "["), el("b")}},
	} {
		if got, err := Parse(tc.in); err != nil || !same(got, tc.want) {
			t.Errorf("Parse(%s) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"//", "offset 1: empty element name"},
		{"/a/", "offset 3: empty element name"},
		{"/[k=v]", "offset 1: empty element name"},
		{"/a[k]", "key of a without '='"},
		{"/a[=v]", "empty key name in a"},
		{"/a[k=v", "key k of a has no closing ']'"},
		{"/a[k=v\\]", "key k of a has no closing ']'"},
		{"/a[k=1][k=2]", "key k of a given twice"},
		{"/a]", "unexpected ']' after element a"},
		{"/a[k=v]b", "unexpected 'b' after element a"},
		{`/a\`, `'\' at the end`},
		{`/a[k=\u12]`, `\u needs 4 hex digits`},
		{`/a[k=\ud800]`, `\ud800 is not a Unicode character`},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("Parse(%s) error %v, want one naming the path and %q", tc.in, err, tc.msg)
		}
	}
}

// FuzzRoundTrip: Parse(String(p)) == p for every path whose element and
// key names are not empty, and any string Parse accepts is read back the
// same after String.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"x]/y", `a\]\\b`, "=", "[", "]", "", "/", `\`, "é☃😀", "\n\r", `\u0041`, "a/b[c=d]"} {
		f.Add(s, s, s)
		f.Add("n", "k", s)
	}
	f.Fuzz(func(t *testing.T, name, key, value string) {
		if p, err := Parse(value); err == nil {
			if q, err := Parse(String(p)); err != nil || !same(p, q) {
				t.Fatalf("Parse(%q) = %v; String = %q reads back as %v, %v", value, p, String(p), q, err)
			}
		}
		if name == "" || key == "" {
			return
		}
		p := []*gpb.PathElem{el(name, key, value), el("x", "a", value, "b", name, key, key), el(value)}
		if value == "" {
			p = p[:2]
		}
		s := String(p)
		if q, err := Parse(s); err != nil || !same(p, q) {
			t.Fatalf("String(%v) = %q reads back as %v, %v", p, s, q, err)
		}
	})
}

func BenchmarkString(b *testing.B) {
	p := []*gpb.PathElem{el("tenants"), el("tenant", "name", "blue"), el("chains"), el("chain", "tenant", "blue", "name", "c1"), el("hop", "index", "2")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = String(p)
	}
	b.ReportMetric(float64(len(String(p))), "bytes/path")
}

func BenchmarkParse(b *testing.B) {
	s := "/tenants/tenant[name=blue]/chains/chain[name=c1][tenant=blue]/hop[index=2]"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s)), "bytes/path")
}
