package tree

import (
	"errors"
	"slices"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// agreePaths are the places FuzzDecodersAgree decodes a payload for: the
// root, containers, whole lists, entries named by the path, leaves (a key
// among them) and a leaf-list.
var agreePaths = []string{
	"/",
	"/tenants",
	"/tenants/tenant",
	"/tenants/tenant[name=a]",
	"/tenants/tenant[name=a]/ports",
	"/tenants/tenant[name=a]/ports/port",
	"/tenants/tenant[name=a]/ports/port[name=p]",
	"/tenants/tenant[name=a]/ports/port[name=p]/mtu",
	"/tenants/tenant[name=a]/ports/port[name=p]/name",
	"/tenants/tenant[name=a]/vpns/vpn[name=v]",
	"/tenants/tenant[name=a]/vpns/vpn[name=v]/route-distinguisher",
	"/backends/backend[name=b]",
	"/connections/connection[name=c]",
}

// sameNode reports whether a and b are the same tree: schema nodes, keys,
// values, defaults, children and entries.
func sameNode(a, b *Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.schema != b.schema || a.key != b.key || a.dflt != b.dflt || a.isEntry() != b.isEntry() ||
		!value.Equal(a.val, b.val) && (a.val != nil || b.val != nil) ||
		len(a.kids) != len(b.kids) || a.Len() != b.Len() || len(a.Values()) != len(b.Values()) {
		return false
	}
	for i, v := range a.Values() {
		if !value.Equal(v, b.Values()[i]) {
			return false
		}
	}
	for i := range a.kids {
		if !sameNode(a.kids[i], b.kids[i]) {
			return false
		}
	}
	same := true
	a.Entries(func(e *Node) bool {
		same = sameNode(e, b.Entry(e.key))
		return same
	})
	return same
}

// FuzzDecodersAgree: the decoder that reads a payload straight into nodes
// and the one that decoded strictjson's maps (mapdecode_test.go) give the
// same tree, or errors of the same kind at the same path, for any payload
// at any of agreePaths, in both JSON flavours. The map decoder visits an
// object's members in random order, so where an object holds several
// errors the new decoder's must be one the old one can give.
func FuzzDecodersAgree(f *testing.F) {
	for _, name := range scenarioNames(f) {
		f.Add(scenarios(f)[name], uint8(0), true)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `1500`, `"1500"`, `"p"`, `["1:1","2:2"]`, `["1:1","1:1"]`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a","ports":{"port":[{"name":"p","mtu":9000},{"name":"q","mtu":"x"}]}}]}}`,
		`{"tenant":[{"name":"a"},{"name":"a"}]}`, `{"port":[{"name":"p","mtu":1500,"nope":1,"admin-state":"down"}]}`,
		`{"port":[{"mtu":1500}]}`, `{"port":[{"name":"p","netready-tenants:name":"p"}]}`,
		`[{"name":"p","mtu":1500},{"name":"q","description":"\u00e9"}]`, `{"name":"p","mtu":1500}`,
		`{"name":"other","mtu":1500}`, `{"netready-tenants:name":"p","mtu":1}`, `{"mtu":1,"mtu":2}`,
		`{"name":"a","status":{}}`, `{"name":"v","anycast":{"enabled":true},"route-distinguisher":["1:1"]}`,
		`{"name":"b","driver":"d","timeout":1,"option":[{"name":"o","value":"x"}]}`,
		`{"name":"c","local":{"site":"a","address":"2001:db8::1"},"segmentation-id":1}`,
		`{"port":[{"name":"p","mtu":1500}]} x`, `{"port":[{"name":"p","mtu":1500,"x":{"y":1,"y":2}}]}`,
		`{"port":[{"name":"p","@mtu":{"a":1},"mtu":1}]}`, `{"port":[{"name":"` + strings.Repeat("x", MaxKeyValueLen+1) + `"}]}`,
	} {
		for i := range agreePaths {
			f.Add([]byte(s), uint8(i), i%2 == 0)
		}
	}
	sch := nrsch(f)
	paths := make([]Path, len(agreePaths))
	for i, s := range agreePaths {
		if s != "/" {
			paths[i] = path(f, sch, s)
		}
	}
	bases := []*Node{NewRoot(sch), load(f, sch, agreeBase)}
	f.Fuzz(func(t *testing.T, data []byte, at uint8, ietf bool) {
		i := int(at) % len(paths)
		decode := func(old bool) (*Node, error) {
			switch {
			case i == 0 && old:
				return mapDecodeRootJSON(sch.Root, data, ietf)
			case i == 0:
				return DecodeRootJSON(sch.Root, data, ietf)
			case old:
				return mapDecodeJSON(paths[i], data, ietf)
			}
			return DecodeJSON(paths[i], data, ietf)
		}
		got, err := decode(false)
		want, oldErr := decode(true)
		bare, bareErr := decodeForMerge(sch, paths[i], data, ietf)
		if (bareErr == nil) != (err == nil) || err != nil && bareErr.Error() != err.Error() {
			t.Fatalf("at %s: DecodeJSON: %v; for a merge: %v", agreePaths[i], err, bareErr)
		}
		switch {
		case err == nil && oldErr == nil:
			if !sameNode(got, want) {
				t.Fatalf("at %s: trees differ:\n%s\n%s", agreePaths[i], enc(got, true, All), enc(want, true, All))
			}
			for _, base := range bases {
				mergesAgree(t, base, paths[i], got, bare)
			}
			return
		case err == nil || oldErr == nil:
			t.Fatalf("at %s: new decoder: %v; old: %v", agreePaths[i], err, oldErr)
		}
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("at %s: %v is not a *tree.Error", agreePaths[i], err)
		}
		for try := 0; try < 64; try++ {
			var oe *Error
			if !errors.As(oldErr, &oe) {
				t.Fatalf("at %s: old decoder's %v is not a *tree.Error", agreePaths[i], oldErr)
			}
			if oe.Kind == te.Kind && oe.Path == te.Path {
				return
			}
			_, oldErr = decode(true)
		}
		t.Fatalf("at %s: new decoder: %v (%v at %s); old decoder never: last %v", agreePaths[i], err, te.Kind, te.Path, oldErr)
	})
}

// agreeBase is a tree holding some of what agreePaths name, for payloads
// to merge into.
const agreeBase = `{"netready-tenants:tenants":{"tenant":[{"name":"a","ports":{"port":[
{"name":"p","mtu":9000,"admin-state":"down"},{"name":"q"}]},
"netready-l3vpn:vpns":{"vpn":[{"name":"v","route-distinguisher":["1:1"]}]}}]},
"netready-infrastructure:backends":{"backend":[{"name":"b","driver":"d"}]}}`

// decodeForMerge decodes data at p (nil: the root) without defaults.
func decodeForMerge(sch *schema.Schema, p Path, data []byte, ietf bool) (*Node, error) {
	if p == nil {
		return DecodeRootJSONForMerge(sch.Root, data, ietf)
	}
	tv := &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: data}}
	if !ietf {
		tv = &gpb.TypedValue{Value: &gpb.TypedValue_JsonVal{JsonVal: data}}
	}
	return DecodeTypedForMerge(p, tv)
}

// mergesAgree checks that merging full (DecodeJSON's payload) and bare
// (the same without defaults) into base, and replacing with them, give
// the same trees.
func mergesAgree(t *testing.T, base *Node, p Path, full, bare *Node) {
	t.Helper()
	for _, replace := range []bool{false, true} {
		var roots [2]*Node
		var errs [2]error
		for k, payload := range []*Node{full, bare} {
			txn := Begin(base)
			if replace {
				errs[k] = txn.Replace(p, payload)
			} else {
				errs[k] = txn.Merge(p, payload)
			}
			roots[k] = txn.Root()
		}
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("replace=%v at %s: %v with defaults, %v without", replace, PathString(p), errs[0], errs[1])
		}
		if errs[0] == nil && !sameNode(roots[0], roots[1]) {
			t.Fatalf("replace=%v at %s: trees differ:\n%s\n%s", replace, PathString(p), ietfAll(roots[0]), ietfAll(roots[1]))
		}
		if errs[0] == nil && !sameChanges(base, roots[0], roots[1]) {
			t.Fatalf("replace=%v at %s: Diff differs:\n%q\n%q", replace, PathString(p), changeLog(base, roots[0]), changeLog(base, roots[1]))
		}
	}
}

// sameChanges reports whether Diff finds the same changes from base to a
// and to b: the same leaves changed, objects added and removed. (A merge
// with defaults also copies a container whose leaves it leaves as they
// were, where Diff then finds nothing changed below.)
func sameChanges(base, a, b *Node) bool {
	return slices.Equal(changeLog(base, a), changeLog(base, b))
}

// changeLog is diffLog without the objects Diff found changed in place.
func changeLog(old, cur *Node) []string {
	var out []string
	Diff(old, cur, func(chain []*Node, o, n *Node) bool {
		switch {
		case o == nil:
			out = append(out, "+"+ChainString(chain))
		case n == nil:
			out = append(out, "-"+ChainString(chain))
		case !n.schema.IsDir():
			out = append(out, "~"+ChainString(chain))
		}
		return true
	})
	return out
}
