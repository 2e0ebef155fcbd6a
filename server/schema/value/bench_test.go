package value

import (
	"encoding/json"
	"testing"
)

// BenchmarkParseJSONString is the common Set path: a pattern-checked string
// leaf (the IPv4 address typedef).
func BenchmarkParseJSONString(b *testing.B) {
	yt := typ(b, "ip4")
	v := any("192.168.100.200")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(yt, v, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJSONUnion picks the second member of union{ipv4; ipv6}.
func BenchmarkParseJSONUnion(b *testing.B) {
	yt := typ(b, "ipaddr")
	v := any("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(yt, v, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSONInt(b *testing.B) {
	yt := typ(b, "vlan")
	v := any(json.Number("1234"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(yt, v, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseStringKey(b *testing.B) {
	yt := typ(b, "n8")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseString(yt, "eth-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSONIdentity(b *testing.B) {
	yt := typ(b, "idr")
	v := any("vt-ids:ethernet")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(yt, v, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendJSON is the Get path, per value kind.
func BenchmarkAppendJSON(b *testing.B) {
	for _, c := range []struct {
		name string
		leaf string
		v    Value
		ietf bool
	}{
		{"string", "anystr", "GigabitEthernet0/0/1 uplink to core", true},
		{"string-escapes", "anystr", "line 1\nline \"2\"\ttab", true},
		{"uint16", "vlan", uint64(100), true},
		{"int64-ietf", "i64", int64(-1234567890123), true},
		{"decimal", "dec", Decimal{12345, 2}, true},
		{"identity-internal", "idr", "vt-ids:ethernet", false},
		{"union-int-ietf", "un64", int64(5), true},
		{"empty", "emp", Empty{}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			yt := typ(b, c.leaf)
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendJSON(buf[:0], yt, c.v, c.ietf)
			}
		})
	}
}

func BenchmarkTypedDecimal(b *testing.B) {
	yt := typ(b, "dec")
	b.ReportAllocs()
	for b.Loop() {
		_ = Typed(yt, Decimal{12345, 2})
	}
}
