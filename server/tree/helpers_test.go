package tree

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/yang"
)

// testYANG is a small generic module exercising every node kind: defaults,
// a non-presence container with defaults, a presence container, a choice
// with a shorthand case, state (config false) data, single- and multi-key
// lists, and a second module augmenting it (for RFC 7951 qualification).
const testYANG = `module t {
  yang-version 1.1;
  namespace "urn:t";
  prefix t;

  container top {
    leaf name { type string; }
    leaf mtu { type uint16; default "1500"; }
    leaf count64 { type int64; }
    leaf ratio { type decimal64 { fraction-digits 2; } }
    leaf-list tags { type string; }
    container inner {
      leaf level { type int8; default "3"; }
      leaf note { type string; }
    }
    container pres {
      presence "enables pres";
      leaf x { type string; }
    }
    choice transport {
      case tcp {
        leaf tcp-port { type uint16; }
        container tcp-opts {
          leaf nodelay { type boolean; }
        }
      }
      case udp {
        leaf udp-port { type uint16; }
      }
      leaf raw { type empty; }
    }
    container state {
      config false;
      leaf counter { type uint64; }
      leaf status { type string; default "ok"; }
      leaf-list history { type string; }
    }
    list item {
      key "id";
      leaf id { type uint32; }
      leaf val { type string; }
      leaf weight { type decimal64 { fraction-digits 2; } default "1.5"; }
      choice mode {
        leaf m1 { type string; }
        case m2 {
          leaf m2 { type string; }
          leaf m2b { type string; }
        }
      }
      container stats {
        config false;
        leaf hits { type uint64; }
      }
      list sub {
        key "a b";
        leaf a { type string; }
        leaf b { type int32; }
        leaf c { type string; }
      }
    }
  }
  list big {
    key "k";
    leaf k { type uint32; }
    leaf v { type string; }
  }
  list names {
    key "n";
    leaf n { type string; }
    leaf v { type string; default "d"; }
  }
  list pair {
    key "z a";
    leaf z { type string; }
    leaf a { type string; }
    leaf v { type string; }
  }
}`

const testAugYANG = `module u {
  yang-version 1.1;
  namespace "urn:u";
  prefix u;
  import t { prefix t; }
  augment "/t:top" {
    container ext {
      leaf e { type string; }
    }
    leaf flag { type boolean; }
  }
  augment "/t:top/t:item" {
    leaf color { type string; }
  }
}`

var (
	testOnce   sync.Once
	testSch    *schema.Schema
	testErr    error
	nrOnce     sync.Once
	nrSch      *schema.Schema
	nrErr      error
	scenOnce   sync.Once
	scenFiles  map[string][]byte
	scenGlobEr error
)

// tsch is the generic test schema (modules t and u).
func tsch(tb testing.TB) *schema.Schema {
	tb.Helper()
	testOnce.Do(func() {
		testSch, testErr = schema.Load([]schema.Source{{Name: "t.yang", Content: testYANG}, {Name: "u.yang", Content: testAugYANG}})
	})
	if testErr != nil {
		tb.Fatalf("load test schema: %v", testErr)
	}
	return testSch
}

// nrsch is the real NetReady schema.
func nrsch(tb testing.TB) *schema.Schema {
	tb.Helper()
	nrOnce.Do(func() { nrSch, nrErr = schema.LoadFS(yang.Files) })
	if nrErr != nil {
		tb.Fatalf("load NetReady schema: %v", nrErr)
	}
	return nrSch
}

// scenarios returns testdata/scenarios/*.json by base name.
func scenarios(tb testing.TB) map[string][]byte {
	tb.Helper()
	scenOnce.Do(func() {
		files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "*.json"))
		if err != nil {
			scenGlobEr = err
			return
		}
		scenFiles = map[string][]byte{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				scenGlobEr = err
				return
			}
			scenFiles[filepath.Base(f)] = b
		}
	})
	if scenGlobEr != nil {
		tb.Fatal(scenGlobEr)
	}
	if len(scenFiles) < 5 {
		tb.Fatalf("found %d scenario files, want at least 5", len(scenFiles))
	}
	return scenFiles
}

func scenarioNames(tb testing.TB) []string {
	var names []string
	for n := range scenarios(tb) {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// elems parses a gNMI path string.
func elems(tb testing.TB, s string) []*gpb.PathElem {
	tb.Helper()
	gp, err := ygot.StringToStructuredPath(s)
	if err != nil {
		tb.Fatalf("parse path %q: %v", s, err)
	}
	return gp.GetElem()
}

// path resolves a concrete path string against sch.
func path(tb testing.TB, sch *schema.Schema, s string) Path {
	tb.Helper()
	p, err := Resolve(sch.Root, elems(tb, s))
	if err != nil {
		tb.Fatalf("resolve %q: %v", s, err)
	}
	return p
}

// load builds a committed tree from a JSON_IETF root payload ("" for empty).
func load(tb testing.TB, sch *schema.Schema, js string) *Node {
	tb.Helper()
	root := NewRoot(sch)
	if js == "" {
		return root
	}
	payload, err := DecodeRootJSON(sch.Root, []byte(js), true)
	if err != nil {
		tb.Fatalf("decode root: %v", err)
	}
	txn := Begin(root)
	if err := txn.Replace(nil, payload); err != nil {
		tb.Fatalf("replace root: %v", err)
	}
	return txn.Root()
}

// enc encodes n as JSON_IETF (ietf true) or JSON.
func enc(n *Node, ietf bool, f Filter) string {
	b, _ := AppendJSON(nil, n, ietf, f)
	return string(b)
}

// ietfAll is the JSON_IETF encoding of everything.
func ietfAll(n *Node) string { return enc(n, true, All) }

// decodeAt decodes a JSON_IETF payload for the node at p.
func decodeAt(tb testing.TB, p Path, js string) *Node {
	tb.Helper()
	n, err := DecodeJSON(p, []byte(js), true)
	if err != nil {
		tb.Fatalf("decode %s: %v", PathString(p), err)
	}
	return n
}

// op is one edit of a transaction, for table-driven tests.
type op struct {
	kind    string // merge, replace, delete
	path    string
	payload string // JSON_IETF; for path "/" a root payload
}

func apply(tb testing.TB, sch *schema.Schema, root *Node, ops ...op) *Node {
	tb.Helper()
	txn := Begin(root)
	for _, o := range ops {
		if err := applyOp(txn, sch, o); err != nil {
			tb.Fatalf("%s %s: %v", o.kind, o.path, err)
		}
	}
	return txn.Root()
}

func applyOp(txn *Txn, sch *schema.Schema, o op) error {
	var p Path
	if o.path != "/" {
		gp, err := ygot.StringToStructuredPath(o.path)
		if err != nil {
			return err
		}
		if p, err = Resolve(sch.Root, gp.GetElem()); err != nil {
			return err
		}
	}
	if o.kind == "delete" {
		txn.Delete(p)
		return nil
	}
	var payload *Node
	var err error
	if len(p) == 0 {
		payload, err = DecodeRootJSON(sch.Root, []byte(o.payload), true)
	} else {
		payload, err = DecodeJSON(p, []byte(o.payload), true)
	}
	if err != nil {
		return err
	}
	switch o.kind {
	case "merge":
		return txn.Merge(p, payload)
	case "replace":
		return txn.Replace(p, payload)
	}
	return errors.New("unknown op " + o.kind)
}

// setState sets a config false leaf inside a transaction, as the server's
// southbound side would; payload decoding refuses state.
func setState(tb testing.TB, txn *Txn, p Path, v value.Value) {
	tb.Helper()
	s := p[len(p)-1].Schema
	if s.Config || s.Kind != schema.Leaf {
		tb.Fatalf("setState: %s is not a state leaf", s.Path)
	}
	chain := txn.walk(p[:len(p)-1], true)
	txn.setKid(chain[len(chain)-1], &Node{schema: s, owner: txn.own, val: v})
}

// wantTreeError checks err is a *Error with the given code and path.
func wantTreeError(tb testing.TB, err error, code Kind, path string) *Error {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %s at %s", code, path)
	}
	var te *Error
	if !errors.As(err, &te) {
		tb.Fatalf("error %v (%T) is not a *tree.Error", err, err)
	}
	if te.Kind != code || te.Path != path {
		tb.Fatalf("error %q: got code %s path %q, want %s %q", te.Error(), te.Kind, te.Path, code, path)
	}
	return te
}

// canonJSON re-encodes a JSON document with sorted members, for comparing
// documents regardless of member order.
func canonJSON(tb testing.TB, b []byte) string {
	tb.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("invalid JSON %s: %v", b, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}

// diffLog records Diff's callbacks as "+path" (added), "-path" (removed)
// and "~path" (changed), in callback order.
func diffLog(old, cur *Node) []string {
	var out []string
	Diff(old, cur, func(chain []*Node, o, n *Node) bool {
		mark := "~"
		switch {
		case o == nil:
			mark = "+"
		case n == nil:
			mark = "-"
		}
		out = append(out, mark+ChainString(chain))
		return true
	})
	return out
}

// schemaOf returns a schema whose root is root's schema node.
func schemaOf(root *Node) *schema.Schema { return &schema.Schema{Root: root.Schema()} }
