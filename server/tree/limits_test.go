package tree

import (
	"errors"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/server/schema"
)

func TestCheckPathSize(t *testing.T) {
	big := strings.Repeat("x", 8<<20)
	many := make([]*gpb.PathElem, MaxPathElems+1)
	for i := range many {
		many[i] = &gpb.PathElem{Name: "a"}
	}
	manyKeys := map[string]string{}
	for i := 0; i <= MaxKeys; i++ {
		manyKeys[string(rune('a'+i))] = "v"
	}
	keys := func(n int, v string) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[string(rune('a'+i))] = v
		}
		return m
	}
	for _, c := range []struct {
		name  string
		elems []*gpb.PathElem
		path  string // expected error path ("" for none)
		msg   string
	}{
		{"ordinary", elems(t, "/tenants/tenant[name=blue]/vpns/vpn[name=v]/route-distinguisher"), "", ""},
		{"at the bounds", []*gpb.PathElem{{Name: strings.Repeat("n", MaxNameLen), Key: map[string]string{"k": strings.Repeat("v", MaxKeyValueLen)}}}, "", ""},
		{"too many elements", many, "/a/a", "65 elements"},
		{"long name", []*gpb.PathElem{{Name: "tenants"}, {Name: big}}, "/tenants/" + Clip(big, 64), "element name is 8388608 bytes"},
		{"too many keys", []*gpb.PathElem{{Name: "l", Key: manyKeys}}, "/l[a=v]", "17 keys"},
		{"long key name", []*gpb.PathElem{{Name: "l", Key: map[string]string{big: "v"}}}, "/l[xxx", "key name is 8388608 bytes"},
		{"long key value", []*gpb.PathElem{{Name: "tenants"}, {Name: "tenant", Key: map[string]string{"name": big}}}, "/tenants/tenant[name=xxx", "value of key name is 8388608 bytes"},
		{"long path", []*gpb.PathElem{{Name: "l", Key: keys(MaxKeys, strings.Repeat("v", MaxKeyValueLen))}}, "/l[a=vvv", "over 8192 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPathSize(c.elems)
			if c.path == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Code != codes.InvalidArgument {
				t.Fatalf("got %v, want a tree.Error with InvalidArgument", err)
			}
			if !strings.HasPrefix(te.Path, c.path) || !strings.Contains(te.Msg, c.msg) {
				t.Fatalf("error %q, want path %q... and %q", te, c.path, c.msg)
			}
			if len(te.Error()) > 4096 {
				t.Fatalf("message of %d bytes: the oversized input is echoed", len(te.Error()))
			}
		})
	}
}

// TestBoundsAboveModels keeps the size bounds far above what the built-in
// models need, so no legitimate path is ever refused by them.
func TestBoundsAboveModels(t *testing.T) {
	depth, name := 0, 0
	var walk func(n *schema.Node, d int)
	walk = func(n *schema.Node, d int) {
		depth = max(depth, d)
		name = max(name, len(n.Module)+1+len(n.Name))
		if n.Kind == schema.List {
			depth = max(depth, d+1) // a key in a path makes no element, but be generous
		}
		for _, c := range n.Children {
			walk(c, d+1)
		}
	}
	for _, c := range nrsch(t).Root.Children {
		walk(c, 1)
	}
	if depth*4 > MaxPathElems || name*4 > MaxNameLen {
		t.Fatalf("the models have paths of %d elements and names of %d bytes: MaxPathElems %d and MaxNameLen %d leave too little room", depth, name, MaxPathElems, MaxNameLen)
	}
	t.Logf("deepest path %d elements, longest qualified name %d bytes", depth, name)
}
