package tree

import (
	"errors"
	"testing"
)

// TestPathKeyRoundTrip: a path key reads back as the path it was made
// of, key values with the escaped characters and a slash included, and
// names the node Lookup finds; a malformed key is corrupt data.
func TestPathKeyRoundTrip(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, `{"t:pair": [{"z": "a]b=c", "a": "x\\y/z", "v": "1"}], "t:top": {"item": [{"id": 7}]}}`)
	for _, key := range []string{`/pair[z=a\]b\=c][a=x\\y/z]`, `/top/item[id=7]/stats`, `/top/state`, `/top/item`} {
		p, err := ParsePathKey(sch.Root, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if got := PathKey(p); got != key {
			t.Errorf("%s reads back as %s", key, got)
		}
	}
	p, err := ParsePathKey(sch.Root, `/pair[z=a\]b\=c][a=x\\y/z]`)
	if err != nil {
		t.Fatal(err)
	}
	if n := Lookup(root, p); n == nil || n.Key() == "" {
		t.Errorf("the key names no entry of the tree")
	}
	for _, bad := range []string{`pair`, `/nope`, `/pair[z=a]`, `/big[k=x]`} {
		var te *Error
		if _, err := ParsePathKey(sch.Root, bad); !errors.As(err, &te) || te.Kind != KindCorrupt {
			t.Errorf("%s: %v, want a corrupt key", bad, err)
		}
	}
}

// TestDecodeStateAt: state the server publishes decodes at its own path,
// where a client's payload is refused.
func TestDecodeStateAt(t *testing.T) {
	sch := tsch(t)
	p, err := ParsePathKey(sch.Root, "/top/item[id=7]/stats")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeJSON(p, []byte(`{"hits": "3"}`), true); err == nil {
		t.Fatal("a client's payload set config false data")
	}
	n, err := DecodeStateAt(p, []byte(`{"hits": "3"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := enc(n, true, State); got != `{"hits":"3"}` {
		t.Errorf("decoded %s", got)
	}
	if _, err := DecodeStateAt(p, []byte(`{"hits": 3}`)); err == nil {
		t.Error("a uint64 as a JSON number accepted in JSON_IETF")
	}
}
