package daemon_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/schema"
	netreadyyang "github.com/netready/netready/yang"
)

var scenarios = []string{"any-to-any", "ecmp", "hub-and-spoke", "service-binding", "georedundancy"}

func TestCapabilities(t *testing.T) {
	ts := start(t, "")
	resp, err := ts.client.Capabilities(ctx(t), &gpb.CapabilityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetGNMIVersion() != "0.10.0" {
		t.Errorf("gNMI version %q", resp.GetGNMIVersion())
	}
	got := map[string]string{}
	for _, m := range resp.GetSupportedModels() {
		if m.GetOrganization() != "NetReady" {
			t.Errorf("model %s: organization %q", m.GetName(), m.GetOrganization())
		}
		got[m.GetName()] = m.GetVersion()
	}
	for _, want := range []string{"netready-types", "netready-infrastructure", "netready-georedundancy", "netready-tenants", "netready-l3vpn", "netready-l2network"} {
		rev := "2026-11-24"
		switch want {
		case "netready-types":
			rev = "2026-12-03" // service-status-leaves
		case "netready-infrastructure":
			rev = "2026-12-03" // host addresses unique
		case "netready-l3vpn":
			rev = "2026-12-03" // route and VPN status, refusals of intent the network would ignore
		case "netready-georedundancy":
			rev = "2026-12-03" // session status as a /bgp neighbor's
		}
		if got[want] != rev {
			t.Errorf("model %s: version %q, want %s", want, got[want], rev)
		}
	}
	encs := fmt.Sprint(resp.GetSupportedEncodings())
	if encs != "[JSON JSON_IETF PROTO]" {
		t.Errorf("encodings %s", encs)
	}
}

// TestScenariosRoundTrip sets each scenario as `gnmic set --update-path /
// --update-file` would and reads the configuration back: everything set
// must come back unchanged, and anything else must be a schema default.
func TestScenariosRoundTrip(t *testing.T) {
	defaults := schemaDefaults(t)
	for _, name := range scenarios {
		t.Run(name, func(t *testing.T) {
			ts := start(t, "")
			doc := scenario(t, name)
			resp := ts.setRoot(t, doc)
			if len(resp.GetResponse()) != 1 || resp.GetResponse()[0].GetOp() != gpb.UpdateResult_UPDATE || resp.GetTimestamp() == 0 {
				t.Fatalf("set response %v", resp)
			}
			var in any
			if err := json.Unmarshal(doc, &in); err != nil {
				t.Fatal(err)
			}
			out := ts.config(t)
			if err := matchWithDefaults(in, out, defaults, "/"); err != nil {
				t.Fatalf("read back differs: %v", err)
			}
			// And it survives a restart unchanged.
			ts = ts.restart(t)
			if again := ts.config(t); !equalJSON(out, again) {
				t.Fatalf("after restart the configuration differs")
			}
		})
	}
}

// schemaDefaults maps leaf names to the default values any leaf of that
// name has in the NetReady schema, for recognizing defaults in Get output.
func schemaDefaults(t *testing.T) map[string]map[string]bool {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	var walk func(n *schema.Node)
	walk = func(n *schema.Node) {
		for _, c := range n.Children {
			if len(c.Default) > 0 {
				if out[c.Name] == nil {
					out[c.Name] = map[string]bool{}
				}
				out[c.Name][c.Default[0]] = true
			}
			walk(c)
		}
	}
	walk(sch.Root)
	return out
}

// matchWithDefaults checks that out holds everything in in, and that what
// out holds beyond it are default values.
func matchWithDefaults(in, out any, defaults map[string]map[string]bool, at string) error {
	switch iv := in.(type) {
	case map[string]any:
		ov, ok := out.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want object", at, out)
		}
		for k, v := range iv {
			if err := matchWithDefaults(v, ov[k], defaults, at+"/"+k); err != nil {
				return err
			}
		}
		for k, v := range ov {
			if _, ok := iv[k]; !ok && !onlyDefaults(k, v, defaults) {
				return fmt.Errorf("%s/%s: unexpected %v", at, k, v)
			}
		}
		return nil
	case []any:
		ov, ok := out.([]any)
		if !ok || len(ov) != len(iv) {
			return fmt.Errorf("%s: got %v, want %d elements", at, out, len(iv))
		}
		if _, objects := iv[0].(map[string]any); !objects {
			return sameSet(iv, ov, at)
		}
		for i, e := range iv {
			found := false
			for _, o := range ov {
				if matchWithDefaults(e, o, defaults, at) == nil {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%s[%d]: no matching entry in %v", at, i, ov)
			}
		}
		return nil
	}
	if fmt.Sprint(in) != fmt.Sprint(out) {
		return fmt.Errorf("%s: got %v, want %v", at, out, in)
	}
	return nil
}

func sameSet(a, b []any, at string) error {
	as, bs := fmt.Sprint(a...), fmt.Sprint(b...)
	sa, sb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		sa[i], sb[i] = fmt.Sprint(a[i]), fmt.Sprint(b[i])
	}
	sort.Strings(sa)
	sort.Strings(sb)
	if fmt.Sprint(sa) != fmt.Sprint(sb) {
		return fmt.Errorf("%s: got %s, want %s", at, bs, as)
	}
	return nil
}

func onlyDefaults(name string, v any, defaults map[string]map[string]bool) bool {
	if obj, ok := v.(map[string]any); ok {
		for k, c := range obj {
			if !onlyDefaults(k, c, defaults) {
				return false
			}
		}
		return true
	}
	return defaults[unqualify(name)][fmt.Sprint(v)]
}

func unqualify(name string) string {
	for i := range name {
		if name[i] == ':' {
			return name[i+1:]
		}
	}
	return name
}
