package xpath

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/openconfig/goyang/pkg/yang"
	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

const tYANG = `module t {
  yang-version 1.1;
  namespace "urn:t";
  prefix t;

  identity base-if;
  identity eth { base base-if; }
  identity fast-eth { base eth; }
  identity loop { base base-if; }

  container sys {
    leaf name { type string; }
    leaf mtu { type uint16; }
    leaf ratio { type decimal64 { fraction-digits 2; } }
    leaf on { type boolean; }
    leaf-list dns { type string; }
    leaf mode { type enumeration { enum off { value 0; } enum on { value 7; } } }
    leaf flags { type bits { bit a { position 0; } bit b { position 1; } } }
    leaf kind { type identityref { base base-if; } }
    leaf gone { type empty; }
    container state {
      config false;
      leaf up { type boolean; }
    }
  }
  list iface {
    key name;
    leaf name { type string; }
    leaf mtu { type uint16; }
    leaf type { type identityref { base base-if; } }
    leaf peer { type leafref { path "../../iface/name"; } }
    list unit {
      key id;
      leaf id { type uint32; }
      leaf vlan { type uint16; }
    }
  }
  list pair {
    key "a b";
    leaf a { type string; }
    leaf b { type int8; }
    leaf v { type string; }
  }
  container ref {
    leaf to { type leafref { path "/iface/name"; } }
    leaf-list many { type leafref { path "/iface/name"; } }
  }
}`

const oYANG = `module o {
  yang-version 1.1;
  namespace "urn:o";
  prefix o;
  import t { prefix tt; }

  identity o-eth { base tt:eth; }

  augment "/tt:sys" {
    leaf extra { type string; }
  }
}`

const tData = `{
 "t:sys": {"name":"core","mtu":1500,"ratio":"2.50","on":false,"dns":["a","b"],"mode":"on","flags":"a b",
           "kind":"t:fast-eth","o:extra":"x"},
 "t:iface":[
   {"name":"e1","mtu":1500,"type":"t:eth","peer":"e2","unit":[{"id":1,"vlan":10},{"id":2,"vlan":20}]},
   {"name":"e2","mtu":9000,"type":"t:loop"},
   {"name":"e3","mtu":1500,"type":"o:o-eth"}],
 "t:pair":[{"a":"x","b":1,"v":"x1"},{"a":"x","b":2,"v":"x2"},{"a":"y","b":1,"v":"y1"}],
 "t:ref":{"to":"e1","many":["e2","e3"]}
}`

var (
	tOnce sync.Once
	tSch  *schema.Schema
	tRoot *tree.Node
	tErr  error
)

func fixture(tb testing.TB) (*schema.Schema, *tree.Node) {
	tb.Helper()
	tOnce.Do(func() {
		tSch, tErr = schema.Load([]schema.Source{{Name: "t.yang", Content: tYANG}, {Name: "o.yang", Content: oYANG}})
		if tErr != nil {
			return
		}
		var payload *tree.Node
		payload, tErr = tree.DecodeRootJSON(tSch.Root, []byte(tData), true)
		if tErr != nil {
			return
		}
		txn := tree.Begin(tree.NewRoot(tSch))
		if tErr = txn.Merge(nil, payload); tErr == nil {
			txn.SetLeaf(tree.MustResolve(tSch.Root, "sys", "state", "up"), true)
			tRoot = txn.Root()
		}
	})
	if tErr != nil {
		tb.Fatal(tErr)
	}
	return tSch, tRoot
}

// chainOf returns the chain to the data node at p (gNMI path string).
func chainOf(tb testing.TB, s *schema.Schema, root *tree.Node, p string) []*tree.Node {
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
	var chain []*tree.Node
	cur := root
	for _, el := range rp {
		if cur = cur.Child(el.Schema); cur == nil {
			tb.Fatalf("no node at %s", p)
		}
		chain = append(chain, cur)
		if el.Keys != nil {
			if cur = cur.Entry(tree.KeyString(el.Keys)); cur == nil {
				tb.Fatalf("no entry at %s", p)
			}
			chain = append(chain, cur)
		}
	}
	return chain
}

// schemaOf returns the schema node of a data path (keys ignored).
func schemaOf(tb testing.TB, s *schema.Schema, p string) *schema.Node {
	tb.Helper()
	var names []string
	for _, el := range strings.Split(strings.Trim(p, "/"), "/") {
		if i := strings.IndexByte(el, '['); i >= 0 {
			el = el[:i]
		}
		if el != "" {
			names = append(names, el)
		}
	}
	n := s.Find(strings.Join(names, "/"))
	if n == nil {
		tb.Fatalf("no schema node %s", p)
	}
	return n
}

// scope returns a statement of module mod, for prefix resolution.
func scope(tb testing.TB, s *schema.Schema, mod string) yang.Node {
	tb.Helper()
	n := s.Find("/sys").Entry.Node
	m := yang.RootNode(n).Modules.Modules[mod]
	if m == nil {
		tb.Fatalf("no module %s", mod)
	}
	return m
}

func format(r Result) string {
	switch r.Type {
	case "node-set":
		return "nodes(" + strings.Join(r.Nodes, " ") + ")"
	case "string":
		return `"` + r.String + `"`
	case "number":
		return formatNumber(r.Number)
	}
	if r.Bool {
		return "true"
	}
	return "false"
}

type ecase struct {
	ctx   string // data path of the context node
	index int    // leaf-list value
	dummy bool
	mod   string // module of the scope, default t
	expr  string
	want  string
}

func runEval(t *testing.T, cases []ecase) {
	s, root := fixture(t)
	for _, tc := range cases {
		ctx := tc.ctx
		if ctx == "" {
			ctx = "/sys"
		}
		mod := tc.mod
		if mod == "" {
			mod = "t"
		}
		var cs *schema.Node
		if ctx == "/" {
			cs = s.Root
		} else {
			cs = schemaOf(t, s, ctx)
		}
		e, err := Compile(tc.expr, Options{Context: cs, Scope: scope(t, s, mod)})
		if err != nil {
			t.Errorf("%s at %s: compile: %v", tc.expr, ctx, err)
			continue
		}
		r, err := e.Eval(Input{Root: root, Chain: chainOf(t, s, root, ctx), Index: tc.index, Dummy: tc.dummy})
		if err != nil {
			t.Errorf("%s at %s: eval: %v", tc.expr, ctx, err)
			continue
		}
		if got := format(r); got != tc.want {
			t.Errorf("%s at %s: got %s, want %s", tc.expr, ctx, got, tc.want)
		}
		b, err := e.Bool(Input{Root: root, Chain: chainOf(t, s, root, ctx), Index: tc.index, Dummy: tc.dummy})
		if err != nil {
			t.Errorf("%s at %s: bool: %v", tc.expr, ctx, err)
		} else if want := wantBool(r); b != want {
			t.Errorf("%s at %s: Bool %v, want %v", tc.expr, ctx, b, want)
		}
	}
}

func wantBool(r Result) bool {
	switch r.Type {
	case "node-set":
		return len(r.Nodes) > 0
	case "string":
		return r.String != ""
	case "number":
		return r.Number != 0 && !math.IsNaN(r.Number)
	}
	return r.Bool
}

func TestPathsAndPredicates(t *testing.T) {
	runEval(t, []ecase{
		{expr: "name", want: "nodes(/sys/name)"},
		{expr: ".", want: "nodes(/sys)"},
		{expr: "./name", want: "nodes(/sys/name)"},
		{expr: "child::name", want: "nodes(/sys/name)"},
		{expr: "self::node()", want: "nodes(/sys)"},
		{expr: "parent::node()", want: "nodes(/)"},
		{expr: "..", want: "nodes(/)"},
		{expr: "/", want: "nodes(/)"},
		{expr: "dns", want: "nodes(/sys/dns[.=a] /sys/dns[.=b])"},
		{expr: "count(*)", want: "10"}, // config children only; dns counts twice
		{expr: "count(state)", want: "0"},
		{expr: "count(state/up)", want: "0"},
		{expr: "count(/*)", want: "8"},
		{expr: "count(/iface)", want: "3"},
		{expr: "count(/iface/unit)", want: "2"},
		{expr: "count(/iface[mtu = 1500])", want: "2"},
		{expr: "/iface[name = 'e2']/mtu", want: "nodes(/iface[name=e2]/mtu)"},
		{expr: "/iface[name = 'nope']", want: "nodes()"},
		{expr: "/iface[name = 'e1']/unit[id = 2]/vlan = 20", want: "true"},
		{expr: "/iface[name = 'e1']/unit[id = 2.5]", want: "nodes()"},
		{expr: "/iface[name = 'e1']/unit[id = '02']", want: "nodes()"},
		{expr: "/iface[name = 'e1']/unit[vlan = 20]/id", want: "nodes(/iface[name=e1]/unit[id=2]/id)"},
		{expr: "/iface[name = /ref/many]/mtu", want: "nodes(/iface[name=e2]/mtu /iface[name=e3]/mtu)"},
		{expr: "/iface[name = 'e1'][mtu = 9000]", want: "nodes()"},
		{expr: "/iface[mtu = 9000 or name = 'e3']/name", want: "nodes(/iface[name=e2]/name /iface[name=e3]/name)"},
		{expr: "count(/pair[a = 'x'])", want: "2"},
		{expr: "/pair[a = 'x' and b = 2]/v", want: "nodes(/pair[a=x][b=2]/v)"},
		{expr: "/pair[b = 1 and a = 'y']/v = 'y1'", want: "true"},
		{expr: "/pair[a = 'x' and b = '1']/v", want: "nodes(/pair[a=x][b=1]/v)"},
		{expr: "count(/iface | /pair)", want: "6"},
		{expr: "count(/iface | /iface)", want: "3"},
		{expr: "count(/iface/name/..)", want: "3"},
		{expr: "count(/iface/unit/../..)", want: "1"},
		{expr: "(/iface)[name = 'e3']/mtu", want: "nodes(/iface[name=e3]/mtu)"},
		{expr: "current()/name", want: "nodes(/sys/name)"},
		{ctx: "/iface[name=e1]", expr: "../iface[name = current()/peer]/mtu", want: "nodes(/iface[name=e2]/mtu)"},
		{ctx: "/iface[name=e1]", expr: "../iface[mtu = current()/mtu]/name", want: "nodes(/iface[name=e1]/name /iface[name=e3]/name)"},
		{ctx: "/iface[name=e1]", expr: "unit[vlan = 20]/id", want: "nodes(/iface[name=e1]/unit[id=2]/id)"},
		{ctx: "/iface[name=e1]/unit[id=1]", expr: "../../iface[name = 'e2']/name", want: "nodes(/iface[name=e2]/name)"},
		{ctx: "/iface[name=e1]/unit[id=1]", expr: "../name", want: "nodes(/iface[name=e1]/name)"},
		{ctx: "/", expr: "sys/mtu", want: "nodes(/sys/mtu)"},
		{ctx: "/sys/dns", index: 1, expr: ". = 'b'", want: "true"},
		{ctx: "/sys/dns", index: 0, expr: ". = 'b'", want: "false"},
		{ctx: "/sys/dns", index: 0, expr: "count(../dns)", want: "2"},
		// when semantics: the context node has no value or children.
		{ctx: "/sys/name", dummy: true, expr: ". = 'core'", want: "false"},
		{ctx: "/sys/name", dummy: true, expr: "../mtu = 1500", want: "true"},
		{ctx: "/sys", dummy: true, expr: "count(*)", want: "0"},
		{ctx: "/sys/name", expr: ". = 'core'", want: "true"},
		// deref
		{expr: "deref(/ref/to)/../mtu", want: "nodes(/iface[name=e1]/mtu)"},
		{expr: "deref(/ref/many)", want: "nodes(/iface[name=e2]/name)"},
		{ctx: "/iface[name=e1]/peer", expr: "deref(.)/../mtu = 9000", want: "true"},
		{ctx: "/iface[name=e1]", expr: "deref(peer)/../mtu", want: "nodes(/iface[name=e2]/mtu)"},
		// prefixes
		{expr: "t:name", want: "nodes(/sys/name)"},
		{expr: "/t:sys/t:mtu", want: "nodes(/sys/mtu)"},
		{mod: "o", expr: "/tt:sys/o:extra", want: "nodes(/sys/extra)"},
		{mod: "o", expr: "/tt:sys/extra = 'x'", want: "true"},
		{mod: "o", expr: "count(/tt:iface[tt:type = 'o-eth'])", want: "1"},
		{mod: "o", expr: "derived-from(/tt:sys/tt:kind, 'tt:eth')", want: "true"},
		{mod: "o", expr: "count(/tt:iface[derived-from(tt:type, 'tt:eth')])", want: "1"},
		{mod: "o", expr: "count(/tt:iface[derived-from-or-self(tt:type, 'tt:eth')])", want: "2"},
	})
}

func TestOperatorsAndFunctions(t *testing.T) {
	runEval(t, []ecase{
		// comparisons with node-sets
		{expr: "name = 'core'", want: "true"},
		{expr: "name != 'core'", want: "false"},
		{expr: "mtu > 1000", want: "true"},
		{expr: "mtu < 1000", want: "false"},
		{expr: "mtu >= 1500", want: "true"},
		{expr: "mtu <= 1499", want: "false"},
		{expr: "1000 < mtu", want: "true"},
		{expr: "'1500' = mtu", want: "true"},
		{expr: "ratio = 2.5", want: "true"},
		{expr: "string(ratio)", want: `"2.5"`},
		{expr: "on = 'false'", want: "true"},
		{expr: "boolean(on)", want: "true"},
		{expr: "on = false()", want: "false"},
		{expr: "state/up = false()", want: "true"},
		{expr: "dns = 'b'", want: "true"},
		{expr: "dns != 'a'", want: "true"},
		{expr: "not(dns = 'c')", want: "true"},
		{expr: "string(dns)", want: `"a"`},
		{expr: "/iface/name = /pair/a", want: "false"},
		{expr: "/iface/mtu = /sys/mtu", want: "true"},
		{expr: "/iface/mtu != /iface/mtu", want: "true"},
		{expr: "/iface/mtu < 2000", want: "true"},
		{expr: "/iface/mtu > 9000", want: "false"},
		{expr: "/iface/mtu > /sys/mtu", want: "true"},
		{expr: "count(/iface[name = 'zz']) = 0", want: "true"},
		{expr: "/iface[name = 'zz']/mtu = 'x'", want: "false"},
		{expr: "/iface[name = 'zz']/mtu != 'x'", want: "false"},
		// atoms
		{expr: "1 = 1.0", want: "true"},
		{expr: "'1' = 1", want: "true"},
		{expr: "'a' = 'a'", want: "true"},
		{expr: "'a' != 'b'", want: "true"},
		{expr: "true() = 'x'", want: "true"},
		{expr: "false() = ''", want: "true"},
		{expr: "'2' < '10'", want: "true"},
		{expr: "true() > false()", want: "true"},
		{expr: "false() or not(false())", want: "true"},
		{expr: "true() and false()", want: "false"},
		{expr: "1 or 0", want: "true"},
		// arithmetic
		{expr: "mtu + 1", want: "1501"},
		{expr: "mtu - 1", want: "1499"},
		{expr: "mtu*2 - 1", want: "2999"},
		{expr: "mtu div 2", want: "750"},
		{expr: "mtu mod 7", want: "2"},
		{expr: "-mtu", want: "-1500"},
		{expr: "- - 2", want: "2"},
		{expr: "-5 mod 3", want: "-2"},
		{expr: "7 div 2", want: "3.5"},
		{expr: ".5 + 1", want: "1.5"},
		{expr: "string(1 div 0)", want: `"Infinity"`},
		{expr: "string(-1 div 0)", want: `"-Infinity"`},
		{expr: "string(0 div 0)", want: `"NaN"`},
		{expr: "string(-0)", want: `"0"`},
		{expr: "name + 1", want: "NaN"},
		{expr: "1 + 2 * 3", want: "7"},
		{expr: "(1 + 2) * 3", want: "9"},
		{expr: "1 - 2 - 3", want: "-4"},
		{expr: "1 < 2 = true()", want: "true"},
		// string functions
		{expr: "concat(name, '-', mtu)", want: `"core-1500"`},
		{expr: "concat('a', 'b', 'c', 1)", want: `"abc1"`},
		{expr: "contains(name, 'or')", want: "true"},
		{expr: "contains(name, 'x')", want: "false"},
		{expr: "starts-with(name, 'co')", want: "true"},
		{expr: "starts-with(name, 're')", want: "false"},
		{expr: "string-length(name)", want: "4"},
		{expr: "string-length('héllo')", want: "5"},
		{ctx: "/sys/name", expr: "string-length()", want: "4"},
		{ctx: "/sys/name", expr: "string()", want: `"core"`},
		{ctx: "/sys/mtu", expr: "number() + 1", want: "1501"},
		{expr: "normalize-space('  a   b ')", want: `"a b"`},
		{ctx: "/sys/name", expr: "normalize-space()", want: `"core"`},
		{expr: "substring('12345', 2, 3)", want: `"234"`},
		{expr: "substring('12345', 2)", want: `"2345"`},
		{expr: "substring('12345', 1.5, 2.6)", want: `"234"`},
		{expr: "substring('12345', 0, 3)", want: `"12"`},
		{expr: "substring('12345', 0 div 0, 3)", want: `""`},
		{expr: "substring-before('a-b', '-')", want: `"a"`},
		{expr: "substring-after('a-b', '-')", want: `"b"`},
		{expr: "substring-after('a-b', 'x')", want: `""`},
		{expr: "translate('bar', 'abc', 'ABC')", want: `"BAr"`},
		{expr: "translate('--aaa--', 'a-', 'A')", want: `"AAA"`},
		{expr: "string(name)", want: `"core"`},
		{expr: "string(state/up)", want: `""`},
		{expr: "string(true())", want: `"true"`},
		{expr: "string(12.50)", want: `"12.5"`},
		{expr: "string(/iface[name='e2'])", want: `"e29000t:loop"`},
		{expr: "string(gone)", want: `""`},
		// number functions
		{expr: "number('12')", want: "12"},
		{expr: "number(' -1.5 ')", want: "-1.5"},
		{expr: "number('x')", want: "NaN"},
		{expr: "number('1e3')", want: "NaN"},
		{expr: "number(true())", want: "1"},
		{expr: "number(mtu)", want: "1500"},
		{expr: "sum(/iface/mtu)", want: "12000"},
		{expr: "sum(/iface/name)", want: "NaN"},
		{expr: "floor(2.5)", want: "2"},
		{expr: "floor(-2.5)", want: "-3"},
		{expr: "ceiling(2.1)", want: "3"},
		{expr: "round(2.5)", want: "3"},
		{expr: "round(-2.5)", want: "-2"},
		{expr: "round(2.4)", want: "2"},
		{expr: "count(dns)", want: "2"},
		// boolean functions
		{expr: "boolean('')", want: "false"},
		{expr: "boolean('x')", want: "true"},
		{expr: "boolean(0)", want: "false"},
		{expr: "boolean(0 div 0)", want: "false"},
		{expr: "boolean(state/up)", want: "false"},
		{expr: "not(name)", want: "false"},
		{expr: "true()", want: "true"},
		{expr: "false()", want: "false"},
		// YANG functions
		{expr: "re-match(name, 'c.*e')", want: "true"},
		{expr: "re-match(name, 'c')", want: "false"},
		{expr: `re-match('a1', '[a-z]\d')`, want: "true"},
		{expr: `re-match('1.2.3.4', '\d+(\.\d+){3}')`, want: "true"},
		{expr: `re-match(concat('a', 'b'), concat('a', '.'))`, want: "true"},
		{expr: "mode = 'on'", want: "true"},
		{expr: "enum-value(mode)", want: "7"},
		{expr: "enum-value(name)", want: "NaN"},
		{expr: "enum-value(state/up)", want: "NaN"},
		{expr: "bit-is-set(flags, 'b')", want: "true"},
		{expr: "bit-is-set(flags, 'c')", want: "false"},
		{expr: "derived-from(kind, 't:eth')", want: "true"},
		{expr: "derived-from(kind, 'eth')", want: "true"},
		{expr: "derived-from(kind, 't:base-if')", want: "true"},
		{expr: "derived-from(kind, 't:fast-eth')", want: "false"},
		{expr: "derived-from-or-self(kind, 't:fast-eth')", want: "true"},
		{expr: "derived-from(kind, 't:loop')", want: "false"},
		{expr: "derived-from(name, 't:eth')", want: "false"},
		{expr: "count(/iface[derived-from-or-self(type, 't:eth')])", want: "2"},
		{expr: "kind = 't:fast-eth'", want: "true"},
		{expr: "kind = 'fast-eth'", want: "true"},
		{expr: "kind != 't:fast-eth'", want: "false"},
		{expr: "/iface[name='e3']/type = 'o:o-eth'", want: "true"},
	})
}

func TestCompileErrors(t *testing.T) {
	s, _ := fixture(t)
	sys := s.Find("/sys")
	tests := []struct {
		expr string
		off  int
		msg  string
	}{
		{"nope", 0, `no data node "nope" under /sys`},
		{"name/x", 5, `no data node "x" under /sys/name (a leaf)`},
		{"../../x", 3, "'..' climbs above the root"},
		{"/iface/nme", 7, `no data node "nme" under /iface`},
		{"//name", 0, "'//'"},
		{"name//x", 4, "'//'"},
		{"ancestor::sys", 0, "the ancestor axis is not supported"},
		{"following-sibling::x", 0, "axis is not supported"},
		{"$x = 1", 0, "variables are not supported"},
		{"@x", 0, "attribute axis"},
		{"text()", 0, "node test text() is not supported"},
		{"t:*", 0, `name test "t:*" is not supported`},
		{"position() = 1", 0, "function position() is not supported"},
		{"last()", 0, "last() is not supported"},
		{"name[1]", 5, "positional predicates are not supported"},
		{"foo(1)", 0, "function foo() is not supported"},
		{"count()", 0, "count() takes 1 arguments, not 0"},
		{"concat('a')", 0, "takes at least 2 arguments"},
		{"substring('a')", 0, "takes 2 or 3 arguments"},
		{"count('a')", 6, "argument 1 of count() must be a node-set, not a string"},
		{"x:name", 0, `unknown prefix "x"`},
		{"derived-from(kind, 't:nope')", 19, `no identity "nope" in module t`},
		{"derived-from(kind, 'zz:eth')", 19, `unknown prefix "zz"`},
		{"derived-from(kind, name)", 19, "must be a string literal"},
		{`re-match(name, '\p{IsNoSuchBlock}')`, 15, "cannot be used"},
		{"deref(name)", 6, "not a leafref"},
		{"name = ", 7, "unexpected end of expression"},
		{"'abc", 0, "unterminated string literal"},
		{"1 +", 3, "unexpected end of expression"},
		{"name mtu", 5, `expected an operator, found "mtu"`},
		{"(name", 5, `expected ")"`},
		{"name]", 4, `unexpected "]"`},
		{"'a'/b", 0, "a path cannot continue from a string"},
		{"'a'[1]", 0, "predicates apply to node-sets"},
		{"1 | name", 2, "operands of '|' must be node-sets"},
		{"name !! 1", 5, "unexpected '!'"},
		{"a:b:c", 3, "unexpected ':'"},
		{"", 0, "unexpected end of expression"},
		{"..[name]", 2, `unexpected "["`},
		{strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), 0, "nested more than"},
	}
	for _, tc := range tests {
		_, err := Compile(tc.expr, Options{Context: sys, Scope: sys.Entry.Node})
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%q: got %v, want an *Error", tc.expr, err)
			continue
		}
		if !strings.Contains(ce.Msg, tc.msg) || (tc.off != ce.Offset && !strings.Contains(tc.msg, "nested")) {
			t.Errorf("%q: got offset %d %q, want %d %q", tc.expr, ce.Offset, ce.Msg, tc.off, tc.msg)
		}
		if ce.Location == "" || !strings.HasPrefix(ce.Location, "t.yang:") {
			t.Errorf("%q: location %q, want t.yang:line:col", tc.expr, ce.Location)
		}
		if !strings.Contains(err.Error(), ce.Location) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.expr)) {
			t.Errorf("%q: error text %q lacks the location or expression", tc.expr, err)
		}
	}
}

// TestReadsAndUp checks the read sets and scopes the validator relies on.
func TestReadsAndUp(t *testing.T) {
	s, _ := fixture(t)
	tests := []struct {
		ctx, expr string
		up        int
		reads     string
		ext       string
	}{
		{"/sys", "mtu > 100", 0, "/sys/mtu", ""},
		{"/sys", "count(dns) < 3", 0, "/sys/dns", ""},
		{"/sys", "string(.) != ''", 0, "/sys /sys/dns /sys/extra /sys/flags /sys/gone /sys/kind /sys/mode /sys/mtu /sys/name /sys/on /sys/ratio", ""},
		{"/iface", "../sys/mtu = mtu", 1, "/iface/mtu /sys /sys/mtu", "/sys /sys/mtu"},
		{"/iface/unit", "../../iface[name = current()/../peer]", 2, "/iface /iface/name /iface/peer", "/iface /iface/name /iface/peer"},
		{"/iface/unit", "vlan < 100", 0, "/iface/unit/vlan", ""},
		{"/iface", "/sys/mtu >= mtu", -1, "/iface/mtu /sys /sys/mtu", "/sys /sys/mtu"},
		{"/iface", ". = /iface[name = 'x']", -1, "/iface /iface/mtu /iface/name /iface/peer /iface/type /iface/unit /iface/unit/id /iface/unit/vlan", "/iface /iface/mtu /iface/name /iface/peer /iface/type /iface/unit /iface/unit/id /iface/unit/vlan"},
		{"/iface", "count(/iface) < 10", -1, "/iface", "/iface"},
		{"/iface", "deref(peer)/../mtu = mtu", -1, "/iface /iface/mtu /iface/name /iface/peer", "/iface /iface/mtu /iface/name"},
		{"/iface", "unit[id = current()/mtu]", 0, "/iface/mtu /iface/unit /iface/unit/id", ""},
		{"/iface", "string() != ''", 0, "/iface/mtu /iface/name /iface/peer /iface/type /iface/unit /iface/unit/id /iface/unit/vlan", ""},
	}
	names := func(ns []*schema.Node) string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Path)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range tests {
		cs := schemaOf(t, s, tc.ctx)
		e, err := Compile(tc.expr, Options{Context: cs, Scope: cs.Entry.Node})
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if reads, ext := names(e.Reads()), names(e.External()); e.Up() != tc.up || reads != tc.reads || ext != tc.ext {
			t.Errorf("%s: up %d reads %q external %q, want %d %q %q", tc.expr, e.Up(), reads, ext, tc.up, tc.reads, tc.ext)
		}
	}
}

// TestMissing evaluates a when for a node that does not exist.
func TestMissing(t *testing.T) {
	s, root := fixture(t)
	gone := s.Find("/sys/gone")
	for _, tc := range []struct{ expr, want string }{
		{".", "nodes(/sys/gone)"},
		{"string(.)", `""`},
		{"count(*)", "0"},
		{"../name = 'core'", "true"},
		{"count(../dns)", "2"},
		{"current()/../mtu + 1", "1501"},
		{"enum-value(.)", "NaN"},
		{"derived-from(., 't:eth')", "false"},
	} {
		e, err := Compile(tc.expr, Options{Context: gone, Scope: gone.Entry.Node})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Eval(Input{Root: root, Chain: chainOf(t, s, root, "/sys"), Missing: gone})
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := format(r); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.expr, got, tc.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	s, root := fixture(t)
	sys := s.Find("/sys")
	e, err := Compile("name", Options{Context: sys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Bool(Input{}); err == nil {
		t.Error("no root accepted")
	}
	if _, err := e.Bool(Input{Root: root, Chain: chainOf(t, s, root, "/iface[name=e1]")}); err == nil {
		t.Error("context of another schema node accepted")
	}
	dns, _ := Compile(".", Options{Context: s.Find("/sys/dns")})
	if _, err := dns.Bool(Input{Root: root, Chain: chainOf(t, s, root, "/sys/dns"), Index: 5}); err == nil {
		t.Error("leaf-list index out of range accepted")
	}
	gone := s.Find("/sys/gone")
	if _, err := e.Bool(Input{Root: root, Chain: chainOf(t, s, root, "/iface[name=e1]"), Missing: gone}); err == nil {
		t.Error("missing node under the wrong parent accepted")
	}
	if _, err := e.Bool(Input{Root: root, Chain: chainOf(t, s, root, "/sys"), Missing: gone}); err == nil {
		t.Error("missing node of another schema node than the context accepted")
	}
	if _, err := e.Bool(Input{Root: root, Chain: []*tree.Node{nil}}); err == nil {
		t.Error("nil chain node accepted")
	}
	if _, err := Compile("name", Options{}); err == nil {
		t.Error("no context accepted")
	}
	if _, err := Compile("t:name", Options{Context: sys}); err == nil {
		t.Error("prefix without a scope accepted")
	}
}

// TestBudget checks that a quadratic expression on a large list stops
// with ErrTooExpensive instead of running for minutes.
func TestBudget(t *testing.T) {
	s, _ := fixture(t)
	var b strings.Builder
	b.WriteString(`{"t:iface":[`)
	const n = 5000
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"i` + strings.Repeat("x", i%7) + formatNumber(float64(i)) + `","mtu":` + formatNumber(float64(1000+i%500)) + `}`)
	}
	b.WriteString(`]}`)
	payload, err := tree.DecodeRootJSON(s.Root, []byte(b.String()), true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(s))
	if err := txn.Merge(nil, payload); err != nil {
		t.Fatal(err)
	}
	root := txn.Root()
	quad, err := Compile("count(/iface[mtu = /iface/mtu]) > 0", Options{Context: s.Root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := quad.Bool(Input{Root: root}); !errors.Is(err, ErrTooExpensive) {
		t.Fatalf("got %v, want ErrTooExpensive", err)
	}
	// A keyed predicate is a lookup, not a scan.
	one, err := Compile("count(/iface[name = 'i0']) = 1", Options{Context: s.Root})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := one.Bool(Input{Root: root}); err != nil || !ok {
		t.Fatalf("keyed lookup: %v %v", ok, err)
	}
}
