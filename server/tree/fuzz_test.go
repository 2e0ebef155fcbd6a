package tree

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/schema"
)

// FuzzDecodeRootJSON feeds arbitrary bytes to the JSON_IETF root decoder
// against the NetReady schema. It must never panic; an accepted payload
// must encode (Config) to valid JSON that decodes again to a tree encoding
// identically, in both JSON flavours.
func FuzzDecodeRootJSON(f *testing.F) {
	sch := nrsch(f)
	for _, name := range scenarioNames(f) {
		f.Add(scenarios(f)[name])
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"netready-tenants:tenants":{}}`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a"}]}}`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a","ports":{"port":[{"name":"p","mtu":9000}]}}]}}`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a","netready-l3vpn:vpns":{"vpn":[{"name":"v","anycast":{"enabled":true}}]}}]}}`,
		`{"netready-infrastructure:backends":{"backend":[{"name":"b","driver":"d","timeout":1,"option":[{"name":"o","value":"\u00e9"}]}]}}`,
		`{"netready-infrastructure:hosts":{"host":[{"name":"h","backend":"b","netready-georedundancy:site":"s"}]}}`,
		`{"netready-georedundancy:connections":{"connection":[{"name":"c","local":{"site":"a","address":"2001:db8::1"},"segmentation-id":1}]}}`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a","interfaces":{"interface":[{"name":"i","type":"vlan","parent":"x","port":"y"}]}}]}}`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a"},{"name":"a"}]}}`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a","status":{}}]}}`,
		`{"tenants":{"tenant":[{"netready-tenants:name":"a","name":"a"}]}}`,
		`{"netready-tenants:tenants":{"tenant":[{"name":"a","netready-l3vpn:vpns":{"vpn":[{"name":"v","route-distinguisher":["1:1","1:1"]}]}}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := DecodeRootJSON(sch.Root, data, true)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || (te.Kind != KindInvalid && te.Kind != KindNotFound) {
				t.Fatalf("error %v: want an InvalidArgument or NotFound *tree.Error", err)
			}
			return
		}
		for _, ietf := range []bool{true, false} {
			out, _ := AppendJSON(nil, root, ietf, Config)
			if !json.Valid(out) {
				t.Fatalf("ietf=%v: invalid JSON output %q", ietf, out)
			}
			again, err := DecodeRootJSON(sch.Root, out, ietf)
			if err != nil {
				t.Fatalf("ietf=%v: output %s does not decode: %v", ietf, out, err)
			}
			if out2, _ := AppendJSON(nil, again, ietf, Config); string(out2) != string(out) {
				t.Fatalf("ietf=%v: re-encoding differs:\n%s\n%s", ietf, out, out2)
			}
		}
		// The decoded tree also survives the store's row form.
		txn := Begin(NewRoot(sch))
		if err := txn.Replace(nil, root); err != nil {
			t.Fatal(err)
		}
		committed := txn.Root()
		rebuilt := Begin(NewRoot(sch))
		for _, r := range AllRows(committed) {
			if err := rebuilt.LoadRow(r.Key, r.New); err != nil {
				t.Fatalf("LoadRow(%s, %s): %v", r.Key, r.New, err)
			}
		}
		// Empty non-presence containers and empty lists have no row, so
		// compare without them.
		if a, b := pruneEmpty(t, enc(committed, true, All)), pruneEmpty(t, enc(rebuilt.Root(), true, All)); a != b {
			t.Fatalf("rows round trip:\n%s\n%s", a, b)
		}
	})
}

// pruneEmpty drops empty objects and arrays below the top of a JSON
// document and returns it re-encoded.
func pruneEmpty(t *testing.T, doc string) string {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", doc, err)
	}
	var prune func(any) (any, bool)
	prune = func(v any) (any, bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if pc, keep := prune(c); keep {
					v[k] = pc
				} else {
					delete(v, k)
				}
			}
			return v, len(v) > 0
		case []any:
			var out []any
			for _, c := range v {
				if pc, keep := prune(c); keep {
					out = append(out, pc)
				}
			}
			return out, len(out) > 0
		}
		return v, true
	}
	v, _ = prune(v)
	b, _ := json.Marshal(v)
	return string(b)
}

var errTooMany = errors.New("too many matches")

// FuzzPath parses arbitrary gNMI path strings and runs them through
// Resolve, CheckPattern and Match against a scenario tree: no panic, and
// the three must agree with each other.
func FuzzPath(f *testing.F) {
	sch := nrsch(f)
	root := load(f, sch, string(scenarios(f)["service-binding.json"]))
	for _, s := range []string{
		"/", "/tenants", "/netready-tenants:tenants/tenant[name=acme]",
		"/tenants/tenant[name=acme]/interfaces/interface[name=vnf-vlan100]/segmentation-id",
		"/tenants/tenant[name=acme]/vpns/vpn[name=data]/bindings/binding[interface=vnf-vlan200]/ip-address",
		"/tenants/tenant[name=*]/ports/port/mtu", "/tenants/tenant/ports/port[name=spare]",
		"/tenants/tenant[name=acme]/netready-l3vpn:vpns/vpn[name=data]/subnet[prefix=10.20.0.0/24]",
		"/tenants/tenant[name=acme]/ports/port[name=vnf-nic0]/status/sync-state",
		"/tenants/tenant[name=acme]/ports/port[name=vnf-nic0]/status/backend[name=x]",
		"/.../name", "/*/*", "/*", "/...", "/.../.../*", "/tenants/.../binding[interface=*]",
		"/hosts/host[name=host-a]/site", "/backends/backend[name=vendor-a]/timeout",
		"/tenants/tenant[name=acme]/l2-networks/l2-network[name=mgmt]/provider/segmentation-id",
		"/tenants/tenant[name=a\\]b]/x", "/tenants/tenant[name=]", "/tenants/tenant[nope=1]",
		"/tenants/tenant[netready-tenants:name=acme]", "/tenants[name=x]", "/*[name=acme]",
		"/connections/connection[name=x]/local/site", "/sites/site[name=dc-b]/identifiers",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		gp, err := ygot.StringToStructuredPath(s)
		if err != nil {
			return
		}
		els := gp.GetElem()
		p, rerr := Resolve(sch.Root, els)
		perr := CheckPattern(sch.Root, els)
		if rerr == nil && perr != nil {
			t.Fatalf("Resolve accepts %q but CheckPattern says %v", s, perr)
		}
		for _, e := range []error{rerr, perr} {
			var te *Error
			if e != nil && (!errors.As(e, &te) || (te.Kind != KindInvalid && te.Kind != KindNotFound)) {
				t.Fatalf("error %v: want an InvalidArgument or NotFound *tree.Error", e)
			}
		}
		var matched []string
		merr := Match(root, els, func(chain []*Node) error {
			if len(matched) >= 10000 {
				return errTooMany
			}
			matched = append(matched, ChainString(chain))
			return nil
		})
		if perr != nil || rerr != nil {
			return
		}
		if merr != nil {
			t.Fatalf("Match(%q): %v on a resolvable path", s, merr)
		}
		// A resolved path round-trips through its canonical text.
		ps := PathString(p)
		if p2, err := rowPath(sch.Root, ps); err != nil || PathString(p2) != ps {
			t.Fatalf("canonical %q parses back as %v %v", ps, p2, err)
		}
		// Match of a concrete path agrees with Lookup.
		if len(p) > 0 && p[len(p)-1].Schema.Kind == schema.List && p[len(p)-1].Keys == nil {
			return // a whole list: Match reports its entries
		}
		n := Lookup(root, p)
		switch {
		case n == nil && len(matched) != 0:
			t.Fatalf("Match(%q) = %q but Lookup finds nothing", s, matched)
		case n != nil && (len(matched) != 1 || matched[0] != ps):
			t.Fatalf("Match(%q) = %q, want exactly %s", s, matched, ps)
		}
	})
}
