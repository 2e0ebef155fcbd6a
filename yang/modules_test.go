package yang_test

import (
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
	netreadyyang "github.com/netready/netready/yang"
)

// These tests hold the modules' types and constraints to what they mean,
// through the server's own loader, value parser, decoder and validator:
// the code that enforces them on every Set. (yanglint, `make yanglint`,
// checks the modules and every scenario independently.)

func load(t *testing.T) *schema.Schema {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// scenarios returns the scenario payloads under testdata/scenarios.
func scenarios(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d scenario files, want at least 5", len(files))
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// check decodes a root document as a Set of / would and validates it as
// one transaction on an empty datastore.
func check(sch *schema.Schema, v *validate.Validator, doc []byte) error {
	p, err := tree.DecodeRootJSON(sch.Root, doc, true)
	if err != nil {
		return err
	}
	empty := tree.NewRoot(sch)
	txn := tree.Begin(empty)
	if err := txn.Replace(nil, p); err != nil {
		return err
	}
	_, err = v.Check(changeset.Compute(empty, txn.Root()), nil)
	return err
}

// TestScenarioMutationsRejected checks that the server enforces the
// modules on the scenario payloads: each edit of a valid scenario breaks
// one constraint and must be refused by the decoder (types, patterns,
// enumerations) or by validation (leafrefs), as a Set would be.
func TestScenarioMutationsRejected(t *testing.T) {
	all := scenarios(t)
	sch := load(t)
	v, err := validate.New(sch, rules.All())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, file, from, to string
	}{
		{"port leafref", "any-to-any.json", `"port": "g1-nic0"`, `"port": "no-such-port"`},
		{"host leafref", "ecmp.json", `"host": "host-b"`, `"host": "host-x"`},
		{"backend leafref", "ecmp.json", `"backend": "vendor-b"`, `"backend": "vendor-x"`},
		{"binding interface leafref", "hub-and-spoke.json", `"interface": "vfw"`, `"interface": "vfw0"`},
		{"parent interface leafref", "service-binding.json", `"parent": "vnf-trunk"`, `"parent": "nothing"`},
		{"l2 binding leafref", "service-binding.json", `"interface": "vnf-vlan100"`, `"interface": "vnf-vlan101"`},
		{"site leafref", "georedundancy.json", `"site": "dc-d"`, `"site": "dc-x"`},
		{"route target range", "any-to-any.json", `"64512:200"`, `"70000:70000"`},
		{"ipv4 octet", "ecmp.json", `"10.1.1.7"`, `"10.1.1.700"`},
		{"prefix length", "any-to-any.json", `"10.3.7.0/24"`, `"10.3.7.0/33"`},
		{"mac address", "any-to-any.json", `"52:54:00:00:01:01"`, `"52:54:00:00:01"`},
		{"name pattern", "ecmp.json", `"name": "blue"`, `"name": "-blue"`},
		{"enum value", "hub-and-spoke.json", `"role": "hub"`, `"role": "center"`},
		{"driver pattern", "georedundancy.json", `"driver": "linux-vforwarder"`, `"driver": "Linux"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			src, ok := all[tc.file]
			if !ok {
				t.Fatalf("no scenario %s", tc.file)
			}
			if !strings.Contains(string(src), tc.from) {
				t.Fatalf("%s does not contain %s", tc.file, tc.from)
			}
			if err := check(sch, v, src); err != nil {
				t.Fatalf("%s as it is: %v", tc.file, err)
			}
			err := check(sch, v, []byte(strings.Replace(string(src), tc.from, tc.to, 1)))
			if err == nil {
				t.Fatalf("%s with %s -> %s: accepted, want an error", tc.file, tc.from, tc.to)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// addressPath is a leaf of type nrt:ip-address (a union of
// nrt:ipv4-address and nrt:ipv6-address).
const addressPath = "/hosts/host/address"

// checker returns a function that reports whether the server accepts s
// as a value of the leaf at schema path p.
func checker(t *testing.T) func(p, s string) bool {
	sch := load(t)
	return func(p, s string) bool {
		t.Helper()
		n := sch.Find(p)
		if n == nil {
			t.Fatalf("no %s in the schema", p)
		}
		_, err := value.ParseString(n.ValueType(), s)
		return err == nil
	}
}

func TestAddressPatterns(t *testing.T) {
	valid := checker(t)
	tests := []struct {
		in   string
		want bool
	}{
		{"192.0.2.1", true},
		{"0.0.0.0", true},
		{"255.255.255.255", true},
		{"256.1.1.1", false},
		{"01.2.3.4", false},
		{"1.2.3", false},
		{"::", true},
		{"::1", true},
		{"1::", true},
		{"2001:db8::1", true},
		{"2001:DB8:0:0:8:800:200C:417A", true},
		{"1:2:3:4:5:6:7:8", true},
		{"1:2:3:4:5:6:7::", true},
		{"::2:3:4:5:6:7:8", true},
		{"1::3:4:5:6:7:8", true},
		{"::ffff:192.0.2.1", true},
		{"64:ff9b::192.0.2.33", true},
		{"1:2:3:4:5:6:192.0.2.1", true},
		{"1:2:3:4:5::192.0.2.1", true},
		{"1:2:3:4:5:6:7:8:9", false},
		{"1:2:3:4:5:6:7::8", false},
		{"1::2::3", false},
		{":::", false},
		{"1:2:3:4:5:6:7", false},
		{"12345::", false},
		{"fe80::1%eth0", false},
		{"1:2:3:4:5:6:7:192.0.2.1", false},
		{"::ffff:192.0.2.256", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := valid(addressPath, tc.in); got != tc.want {
			t.Errorf("ip-address %q: valid = %v, want %v", tc.in, got, tc.want)
		}
	}

	prefixes := []struct {
		in   string
		want bool
	}{
		{"10.1.1.0/24", true},
		{"0.0.0.0/0", true},
		{"10.1.1.0/32", true},
		{"10.1.1.0/33", false},
		{"10.1.1.0", false},
		{"2001:db8::/32", true},
		{"::/0", true},
		{"::ffff:10.0.0.0/104", true},
		{"2001:db8::/128", true},
		{"2001:db8::/129", false},
		{"2001:db8::/032", false},
	}
	for _, tc := range prefixes {
		if got := valid("/tenants/tenant/vpns/vpn/subnet/prefix", tc.in); got != tc.want {
			t.Errorf("ip-prefix %q: valid = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestAddressPatternsAgainstNetip compares the ip-address patterns with
// net/netip on generated addresses in several textual forms and on
// random mutations of them.
func TestAddressPatternsAgainstNetip(t *testing.T) {
	valid := checker(t)
	r := rand.New(rand.NewSource(1))
	n := 3000
	if testing.Short() {
		n = 300
	}
	const alphabet = "0123456789abcdefABCDEF:.:"
	for i := 0; i < n; i++ {
		var raw [16]byte
		for j := 0; j < len(raw); j += 2 {
			// Half the groups are zero, so that '::' shows up in many
			// places.
			if r.Intn(2) == 0 {
				raw[j], raw[j+1] = byte(r.Intn(256)), byte(r.Intn(256))
			}
		}
		a := netip.AddrFrom16(raw)
		forms := []string{a.String(), a.StringExpanded(), strings.ToUpper(a.String())}
		v4 := netip.AddrFrom4([4]byte{raw[12], raw[13], raw[14], raw[15]})
		forms = append(forms, embedV4(a.StringExpanded(), v4), v4.String())
		for _, f := range forms {
			if !valid(addressPath, f) {
				t.Errorf("pattern rejects %q (valid for net/netip)", f)
			}
			// Mutate: insert, delete or replace one character.
			m := []byte(f)
			k := r.Intn(len(m) + 1)
			c := alphabet[r.Intn(len(alphabet))]
			switch r.Intn(3) {
			case 0:
				m = append(m[:k], append([]byte{c}, m[k:]...)...)
			case 1:
				if k < len(m) {
					m = append(m[:k], m[k+1:]...)
				}
			default:
				if k < len(m) {
					m[k] = c
				}
			}
			ms := string(m)
			_, err := netip.ParseAddr(ms)
			if want := err == nil; valid(addressPath, ms) != want {
				t.Errorf("%q: pattern says valid=%v, net/netip says %v", ms, !want, want)
			}
		}
	}
}

// embedV4 replaces the last two groups of an expanded IPv6 address with
// the dotted-quad form of v4, then shortens the longest zero run.
func embedV4(expanded string, v4 netip.Addr) string {
	groups := strings.Split(expanded, ":")[:6]
	for i, g := range groups {
		groups[i] = strings.TrimLeft(g, "0")
		if groups[i] == "" {
			groups[i] = "0"
		}
	}
	s := strings.Join(groups, ":") + ":" + v4.String()
	// Shorten the first run of zero groups, if any, to "::".
	for run := 6; run >= 2; run-- {
		zeros := strings.TrimSuffix(strings.Repeat("0:", run), ":")
		switch {
		case strings.HasPrefix(s, zeros+":"):
			return "::" + strings.TrimPrefix(s, zeros+":")
		case strings.Contains(s, ":"+zeros+":"):
			return strings.Replace(s, ":"+zeros+":", "::", 1)
		}
	}
	return s
}

func TestRouteTargetPattern(t *testing.T) {
	valid := checker(t)
	tests := []struct {
		in   string
		want bool
	}{
		{"64512:100", true},
		{"0:0", true},
		{"65535:4294967295", true},
		{"4294967295:65535", true},
		{"4200000000:7", true},
		{"192.0.2.1:5", true},
		{"192.0.2.1:65535", true},
		{"65536:65536", false},
		{"4294967296:1", false},
		{"1:4294967296", false},
		{"192.0.2.1:65536", false},
		{"064512:100", false},
		{"64512", false},
		{"64512:", false},
		{"a:1", false},
	}
	for _, tc := range tests {
		if got := valid("/tenants/tenant/vpns/vpn/route-target/value", tc.in); got != tc.want {
			t.Errorf("route-target %q: valid = %v, want %v", tc.in, got, tc.want)
		}
		if got := valid("/tenants/tenant/vpns/vpn/route-distinguisher", tc.in); got != tc.want {
			t.Errorf("route-distinguisher %q: valid = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestOtherPatterns(t *testing.T) {
	valid := checker(t)
	for ts, want := range map[string]bool{
		"2026-11-24T09:30:00Z":         true,
		"2026-11-24T10:30:00.25+01:00": true,
		"2026-11-24t09:30:00z":         true,
		"2026-11-24T09:30:00":          false,
		"2026-13-24T09:30:00Z":         false,
		"2026-11-24 09:30:00Z":         false,
	} {
		if got := valid("/backends/backend/status/backend/last-attempt", ts); got != want {
			t.Errorf("date-and-time %q: valid = %v, want %v", ts, got, want)
		}
	}
	for mac, want := range map[string]bool{
		"52:54:00:12:34:56": true,
		"52:54:00:AB:cd:EF": true,
		"52-54-00-12-34-56": false,
		"52:54:00:12:34":    false,
		"52:54:00:12:34:5g": false,
	} {
		if got := valid("/tenants/tenant/ports/port/mac-address", mac); got != want {
			t.Errorf("mac-address %q: valid = %v, want %v", mac, got, want)
		}
	}
	for name, want := range map[string]bool{
		"blue":                  true,
		"vnf1-1":                true,
		"G1.a_b":                true,
		"-x":                    false,
		"a b":                   false,
		"":                      false,
		strings.Repeat("a", 64): true,
		strings.Repeat("a", 65): false,
	} {
		if got := valid("/tenants/tenant/name", name); got != want {
			t.Errorf("name %q: valid = %v, want %v", name, got, want)
		}
	}
}
