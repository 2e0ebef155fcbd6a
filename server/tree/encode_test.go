package tree

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// stateTree is baseTop with state set below top and below item 1.
func stateTree(t *testing.T) *Node {
	sch := tsch(t)
	txn := Begin(load(t, sch, baseTop))
	setState(t, txn, path(t, sch, "/top/state/counter"), uint64(5))
	setState(t, txn, path(t, sch, "/top/item[id=1]/stats/hits"), uint64(11))
	if err := applyOp(txn, sch, op{"merge", "/top", `{"u:ext":{"e":"q"},"u:flag":true,"count64":"-1","ratio":"0.5","item":[{"id":1,"u:color":"red"}]}`}); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

func TestAppendJSON(t *testing.T) {
	root := stateTree(t)
	tests := []struct {
		name string
		ietf bool
		f    Filter
		want string
	}{
		{"JSON_IETF all", true, All,
			`{"t:big":[{"k":1,"v":"x"}],"t:top":{"count64":"-1","u:ext":{"e":"q"},"u:flag":true,"inner":{"level":7,"note":"n"},"item":[{"id":1,"u:color":"red","stats":{"hits":"11"},"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","ratio":"0.5","state":{"counter":"5","status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`},
		{"JSON all (no module names, 64-bit numbers unquoted)", false, All,
			`{"big":[{"k":1,"v":"x"}],"top":{"count64":-1,"ext":{"e":"q"},"flag":true,"inner":{"level":7,"note":"n"},"item":[{"id":1,"color":"red","stats":{"hits":11},"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":1.5},{"id":2,"val":"two","weight":3.25}],"mtu":9000,"name":"a","ratio":0.5,"state":{"counter":5,"status":"ok"},"tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`},
		{"JSON_IETF config", true, Config,
			`{"t:big":[{"k":1,"v":"x"}],"t:top":{"count64":"-1","u:ext":{"e":"q"},"u:flag":true,"inner":{"level":7,"note":"n"},"item":[{"id":1,"u:color":"red","sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"},{"id":2,"val":"two","weight":"3.25"}],"mtu":9000,"name":"a","ratio":"0.5","tags":["x","y"],"tcp-opts":{"nodelay":true},"tcp-port":80}}`},
		{"JSON_IETF state: state with the keys locating it", true, State,
			`{"t:top":{"item":[{"id":1,"stats":{"hits":"11"}}],"state":{"counter":"5","status":"ok"}}}`},
		{"JSON state", false, State,
			`{"top":{"item":[{"id":1,"stats":{"hits":11}}],"state":{"counter":5,"status":"ok"}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := AppendJSON([]byte("prefix:"), root, tc.ietf, tc.f)
			if !ok || !strings.HasPrefix(string(b), "prefix:") {
				t.Fatalf("ok=%v, output %s", ok, b)
			}
			got := strings.TrimPrefix(string(b), "prefix:")
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatal("invalid JSON")
			}
		})
	}
}

func TestAppendJSONSubtrees(t *testing.T) {
	sch := tsch(t)
	root := stateTree(t)
	tests := []struct {
		path string
		ietf bool
		f    Filter
		want string
		ok   bool
	}{
		{"/top/item[id=1]", true, All, `{"id":1,"u:color":"red","stats":{"hits":"11"},"sub":[{"a":"s","b":1,"c":"c1"}],"val":"one","weight":"1.5"}`, true},
		{"/top/item[id=1]", true, State, `{"id":1,"stats":{"hits":"11"}}`, true},
		{"/top/item[id=2]", true, State, `{}`, false},
		{"/top/item", true, State, `[{"id":1,"stats":{"hits":"11"}}]`, true},
		{"/top/inner", true, State, `{}`, false},
		{"/top/state", true, Config, `{}`, false},
		{"/top/state", true, State, `{"counter":"5","status":"ok"}`, true},
		{"/top/state/counter", true, All, `"5"`, true},
		{"/top/state/counter", false, All, `5`, true},
		{"/top/u:ext", true, All, `{"e":"q"}`, true},
		{"/top/count64", true, Config, `"-1"`, true},
		{"/top/ratio", false, Config, `0.5`, true},
		{"/top/tags", true, Config, `["x","y"]`, true},
		{"/big", true, Config, `[{"k":1,"v":"x"}]`, true},
	}
	for _, tc := range tests {
		n := Lookup(root, path(t, sch, tc.path))
		if n == nil {
			t.Fatalf("%s: missing", tc.path)
		}
		b, ok := AppendJSON(nil, n, tc.ietf, tc.f)
		if string(b) != tc.want || ok != tc.ok {
			t.Errorf("%s ietf=%v filter=%d: got %s %v, want %s %v", tc.path, tc.ietf, tc.f, b, ok, tc.want, tc.ok)
		}
	}
}

// TestJSONIETFQualification checks RFC 7951 member names on the real
// modules: every top-level member is qualified, augments from another
// module are qualified, and nothing else is.
func TestJSONIETFQualification(t *testing.T) {
	sch := nrsch(t)
	for _, name := range scenarioNames(t) {
		t.Run(name, func(t *testing.T) {
			root := load(t, sch, string(scenarios(t)[name]))
			b, _ := AppendJSON(nil, root, true, All)
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			var walk func(v any, parentModule string, top bool, where string)
			walk = func(v any, parentModule string, top bool, where string) {
				switch v := v.(type) {
				case []any:
					for _, e := range v {
						walk(e, parentModule, false, where)
					}
				case map[string]any:
					for k, c := range v {
						mod, local, qualified := strings.Cut(k, ":")
						if !qualified {
							local, mod = mod, parentModule
						}
						switch {
						case top && !qualified:
							t.Errorf("%s: top-level member %q is not qualified", where, k)
						case !top && qualified && mod == parentModule:
							t.Errorf("%s: member %q is qualified with its parent's module", where, k)
						}
						walk(c, mod, false, where+"/"+local)
					}
				}
			}
			walk(doc, "", true, "")
			// The members RFC 7951 requires qualified do appear.
			for _, want := range []string{`"netready-infrastructure:backends":`, `"netready-infrastructure:hosts":`} {
				if !strings.Contains(string(b), want) {
					t.Errorf("missing %s", want)
				}
			}
			for _, bad := range []string{`"netready-tenants:ports"`, `"netready-types:status"`, `"netready-infrastructure:status"`, `"netready-l3vpn:bindings"`, `"netready-tenants:name"`} {
				if strings.Contains(string(b), bad) {
					t.Errorf("unexpected %s", bad)
				}
			}
			// The scenario files are JSON_IETF: encoding must not change any
			// member name, only add defaults and state.
			var in map[string]any
			if err := json.Unmarshal(scenarios(t)[name], &in); err != nil {
				t.Fatal(err)
			}
			names := func(m map[string]any) []string {
				var out []string
				var rec func(any, string)
				rec = func(v any, p string) {
					switch v := v.(type) {
					case []any:
						for _, e := range v {
							rec(e, p+"[]")
						}
					case map[string]any:
						for k, c := range v {
							out = append(out, p+"/"+k)
							rec(c, p+"/"+k)
						}
					}
				}
				rec(m, "")
				return out
			}
			have := map[string]bool{}
			for _, n := range names(doc) {
				have[n] = true
			}
			for _, n := range names(in) {
				if !have[n] {
					t.Errorf("member %s of the scenario is not in the encoding", n)
				}
			}
		})
	}
	// Augmented members, checked exactly.
	root := load(t, sch, string(scenarios(t)["georedundancy.json"]))
	host := Lookup(root, path(t, sch, "/hosts/host[name=host-a]"))
	if b, _ := AppendJSON(nil, host, true, Config); string(b) != `{"name":"host-a","address":"192.0.2.1","backend":"vendor-a","description":"Host A (compute node of vendor A)","netready-georedundancy:site":"dc-b"}` {
		t.Errorf("host: %s", b)
	}
	root = load(t, sch, string(scenarios(t)["service-binding.json"]))
	tenant := Lookup(root, path(t, sch, "/tenants/tenant[name=acme]"))
	b, _ := AppendJSON(nil, tenant, true, Config)
	for _, want := range []string{`"netready-l2network:l2-networks":{`, `"netready-l3vpn:vpns":{`, `"interfaces":{`, `"ports":{`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("tenant encoding lacks %s: %s", want, b)
		}
	}
}

func TestAppendJSONReDecodes(t *testing.T) {
	sch := nrsch(t)
	for _, name := range scenarioNames(t) {
		root := load(t, sch, string(scenarios(t)[name]))
		for _, ietf := range []bool{true, false} {
			b, _ := AppendJSON(nil, root, ietf, Config)
			again, err := DecodeRootJSON(sch.Root, b, ietf)
			if err != nil {
				t.Fatalf("%s ietf=%v: re-decode: %v", name, ietf, err)
			}
			if b2, _ := AppendJSON(nil, again, ietf, Config); string(b2) != string(b) {
				t.Fatalf("%s ietf=%v: re-encoding differs:\n%s\n%s", name, ietf, b, b2)
			}
		}
	}
}

func TestLeaves(t *testing.T) {
	sch := tsch(t)
	root := stateTree(t)
	collect := func(start string, f Filter) []string {
		var chain []*Node
		if start == "/" {
			chain = []*Node{root}
		} else {
			chain = validChain(t, root, path(t, sch, start))
		}
		var out []string
		err := Leaves(chain, f, func(c []*Node) error {
			n := c[len(c)-1]
			s := "/" + n.Schema().Name
			if len(c) > 1 && c[0] != root {
				s = ChainString(c)
			}
			out = append(out, s)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := collect("/top/item[id=1]", All), []string{"/top/item[id=1]/id", "/top/item[id=1]/color", "/top/item[id=1]/stats/hits", "/top/item[id=1]/sub[a=s][b=1]/a", "/top/item[id=1]/sub[a=s][b=1]/b", "/top/item[id=1]/sub[a=s][b=1]/c", "/top/item[id=1]/val", "/top/item[id=1]/weight"}; !reflect.DeepEqual(got, want) {
		t.Errorf("All:\n got  %q\n want %q", got, want)
	}
	if got, want := collect("/top/item[id=1]", State), []string{"/top/item[id=1]/stats/hits"}; !reflect.DeepEqual(got, want) {
		t.Errorf("State: got %q, want %q", got, want)
	}
	if got, want := collect("/top/item[id=1]", Config), []string{"/top/item[id=1]/id", "/top/item[id=1]/color", "/top/item[id=1]/sub[a=s][b=1]/a", "/top/item[id=1]/sub[a=s][b=1]/b", "/top/item[id=1]/sub[a=s][b=1]/c", "/top/item[id=1]/val", "/top/item[id=1]/weight"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Config: got %q, want %q", got, want)
	}
	if got, want := collect("/top/state", State), []string{"/top/state/counter", "/top/state/status"}; !reflect.DeepEqual(got, want) {
		t.Errorf("state container: got %q, want %q", got, want)
	}
	if got := collect("/top/state", Config); got != nil {
		t.Errorf("state container, Config: got %q", got)
	}
}

// validChain returns the chain (a list followed by its entry) to p.
func validChain(t *testing.T, root *Node, p Path) []*Node {
	var chain []*Node
	cur := root
	for _, el := range p {
		cur = cur.Child(el.Schema)
		if cur == nil {
			t.Fatalf("no %s", PathString(p))
		}
		chain = append(chain, cur)
		if el.Keys != nil {
			cur = cur.Entry(KeyString(el.Keys))
			if cur == nil {
				t.Fatalf("no entry %s", PathString(p))
			}
			chain = append(chain, cur)
		}
	}
	return chain
}

func TestHasConfig(t *testing.T) {
	sch := tsch(t)
	root := stateTree(t)
	empty := NewRoot(sch)
	tests := []struct {
		root *Node
		path string
		want bool
	}{
		{root, "/top", true},
		{root, "/top/item", true},
		{root, "/top/item[id=2]", true},
		{root, "/top/name", true},
		{root, "/top/inner", true},
		{root, "/top/state", false},
		{root, "/top/state/counter", false},
		{root, "/top/item[id=1]/stats", false},
		{root, "/top/tags", true},
		{empty, "/top", false},
		{empty, "/top/mtu", false},
		{empty, "/top/inner", false},
		{apply(t, sch, empty, op{"merge", "/top/pres", `{}`}), "/top", true},
		{apply(t, sch, empty, op{"merge", "/top/pres", `{}`}), "/top/pres", true},
		{apply(t, sch, root, op{"delete", "/top/item[id=1]/sub[a=s][b=1]", ""}), "/top/item[id=1]/sub", false},
		{apply(t, sch, empty, op{"merge", "/top/tags", `[]`}), "/top/tags", false},
	}
	for _, tc := range tests {
		n := Lookup(tc.root, path(t, sch, tc.path))
		if n == nil {
			t.Fatalf("%s missing", tc.path)
		}
		if got := n.HasConfig(); got != tc.want {
			t.Errorf("%s: HasConfig = %v, want %v", tc.path, got, tc.want)
		}
	}
}
