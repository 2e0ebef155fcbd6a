package xpath

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse compiles arbitrary expressions against the test schema and
// evaluates those that compile: nothing may panic, hang, or report an
// error offset outside the expression.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name = 'core'", "../iface[name = current()/peer]/mtu", "count(/iface[mtu > 1000]) < 3",
		"derived-from(kind, 't:eth')", "re-match(name, '[a-z]+\\d*')", "-(1 + 2) * 3 div 4 mod 5",
		"/pair[a = 'x' and b = 2]/v | /iface/name", "deref(/ref/to)/../mtu", "concat(a, 'b', 1)",
		"substring('abc', 0 div 0)", "not(dns != dns)", "child::name/parent::node()/self::node()",
		"'unterminated", "((((", "a:b:c", "1 = = 2", "*[*]", "translate(., 'a', 'b')", "..//x",
	} {
		f.Add(s)
	}
	s, root := fixture(f)
	ctxs := []string{"/sys", "/iface[name=e1]", "/iface[name=e1]/unit[id=2]", "/sys/dns"}
	f.Fuzz(func(t *testing.T, src string) {
		for _, ctx := range ctxs {
			cs := schemaOf(t, s, ctx)
			e, err := Compile(src, Options{Context: cs, Scope: cs.Entry.Node})
			if err != nil {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("%q: error %v is not an *Error", src, err)
				}
				if ce.Offset < 0 || ce.Offset > len(src) {
					t.Fatalf("%q: offset %d outside the expression", src, ce.Offset)
				}
				continue
			}
			start := time.Now()
			_, err = e.Eval(Input{Root: root, Chain: chainOf(t, s, root, ctx)})
			if err != nil && !errors.Is(err, ErrTooExpensive) {
				t.Fatalf("%q at %s: %v", src, ctx, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("%q at %s: took %v", src, ctx, d)
			}
		}
	})
}
