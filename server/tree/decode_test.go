package tree

import (
	"fmt"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/server/schema/value"
)

func TestDecodeErrors(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		name string
		at   string // path the payload is for; "/" for the root
		data string
		ietf bool
		code codes.Code
		path string
		msg  string
	}{
		// Strict JSON_IETF: qualified top-level names, RFC 7951 JSON types.
		{"unqualified top-level member", "/", `{"t:top":{},"big":[]}`, true, codes.InvalidArgument, "/big", `takes its module's name in JSON_IETF (RFC 7951 section 4): "t:big"`},
		{"int64 as a JSON number", "/top", `{"count64":5}`, true, codes.InvalidArgument, "/top/count64", "int64 takes a JSON string in JSON_IETF"},
		{"decimal64 as a JSON number", "/top/ratio", `1.5`, true, codes.InvalidArgument, "/top/ratio", "decimal64 takes a JSON string in JSON_IETF"},
		{"uint16 as a JSON string", "/top", `{"mtu":"9000"}`, true, codes.InvalidArgument, "/top/mtu", "uint16 takes a JSON number"},
		{"boolean as a JSON string", "/top/tcp-opts", `{"nodelay":"true"}`, false, codes.InvalidArgument, "/top/tcp-opts/nodelay", "a boolean takes JSON true or false"},
		{"empty as null", "/top", `{"raw":null}`, true, codes.InvalidArgument, "/top/raw", "[null]"},
		// Strict JSON text.
		{"duplicate member", "/top", `{"name":"a","mtu":1,"name":"b"}`, false, codes.InvalidArgument, "/top", `invalid JSON: at /name: member given more than once`},
		{"duplicate member deep", "/", `{"t:top":{"item":[{"id":1,"val":"a","val":"b"}]}}`, true, codes.InvalidArgument, "/", `at /t:top/item/0/val: member given more than once`},
		{"invalid UTF-8 in a string", "/top", "{\"name\":\"a\xffb\"}", true, codes.InvalidArgument, "/top", "at /name: invalid UTF-8 in a string"},
		{"lone surrogate", "/top/tags", `["ok","\udc00"]`, true, codes.InvalidArgument, "/top/tags", "at /1: \\u escape of a lone UTF-16 surrogate"},
		// Unknown members.
		{"unknown top-level member", "/", `{"t:nope":{}}`, true, codes.NotFound, "/nope", "no such element"},
		{"top-level member of another module", "/", `{"u:top":{}}`, true, codes.NotFound, "/top", "no such element"},
		{"unknown member in a container", "/", `{"t:top":{"nope":1}}`, true, codes.NotFound, "/top/nope", "no such element in the schema under /top"},
		{"unknown member in an entry", "/top", `{"item":[{"id":1,"nope":true}]}`, true, codes.NotFound, "/top/item[id=1]/nope", "no such element"},
		{"augment qualified with the wrong module", "/top", `{"t:ext":{}}`, true, codes.NotFound, "/top/ext", "no such element"},
		{"unknown member at an entry path", "/top/item[id=1]", `{"zz":1}`, true, codes.NotFound, "/top/item[id=1]/zz", "no such element"},
		// Wrong JSON kinds.
		{"root is not an object", "/", `[1]`, true, codes.InvalidArgument, "/", "the root takes a JSON object, got an array"},
		{"container given an array", "/", `{"t:top":[]}`, true, codes.InvalidArgument, "/top", "a container takes a JSON object, got an array"},
		{"container at its path given a string", "/top", `"x"`, true, codes.InvalidArgument, "/top", "a container takes a JSON object, got a string"},
		{"list given an object", "/top", `{"item":{"id":1}}`, true, codes.InvalidArgument, "/top/item", "a list takes a JSON array, got an object"},
		{"list at its path given an object", "/top/item", `{"id":1}`, true, codes.InvalidArgument, "/top/item", "a list takes a JSON array, got an object"},
		{"list entry given a number", "/top", `{"item":[{"id":1},7]}`, true, codes.InvalidArgument, "/top/item[1]", "a list entry takes a JSON object, got a number"},
		{"entry at its path given null", "/top/item[id=1]", `null`, true, codes.InvalidArgument, "/top/item[id=1]", "a list entry takes a JSON object, got null"},
		{"leaf-list given a string", "/top", `{"tags":"a"}`, true, codes.InvalidArgument, "/top/tags", "a leaf-list takes a JSON array, got a string"},
		{"leaf given an object", "/top", `{"name":{}}`, true, codes.InvalidArgument, "/top/name", ""},
		{"leaf given a boolean", "/top", `{"mtu":true}`, true, codes.InvalidArgument, "/top/mtu", ""},
		// Bad values.
		{"value out of range", "/top", `{"mtu":70000}`, true, codes.InvalidArgument, "/top/mtu", "70000"},
		{"negative unsigned", "/top/mtu", `-1`, true, codes.InvalidArgument, "/top/mtu", ""},
		{"too many fraction digits", "/top", `{"ratio":"1.234"}`, true, codes.InvalidArgument, "/top/ratio", ""},
		{"bad leaf-list member", "/top", `{"tags":["a",1]}`, true, codes.InvalidArgument, "/top/tags", ""},
		{"bad key value", "/top", `{"item":[{"id":-1}]}`, true, codes.InvalidArgument, "/top/item[0]/id", ""},
		{"bad key value of a later entry", "/top", `{"item":[{"id":1},{"id":"x"}]}`, true, codes.InvalidArgument, "/top/item[1]/id", ""},
		{"bad value below a new entry", "/top", `{"item":[{"id":3,"weight":"x"}]}`, true, codes.InvalidArgument, "/top/item[id=3]/weight", ""},
		{"empty given a string", "/top", `{"raw":"x"}`, true, codes.InvalidArgument, "/top/raw", ""},
		// Keys.
		{"entry missing its key", "/top", `{"item":[{"val":"x"}]}`, true, codes.InvalidArgument, "/top/item[0]", "list entry is missing key id"},
		{"entry missing one of two keys", "/top/item[id=1]", `{"sub":[{"a":"x"}]}`, true, codes.InvalidArgument, "/top/item[id=1]/sub[0]", "list entry is missing key b"},
		{"key in body differs from path", "/top/item[id=1]", `{"id":2}`, true, codes.InvalidArgument, "/top/item[id=1]/id", "key id is 2 in the body but 1 in the path"},
		{"second key in body differs from path", "/top/item[id=1]/sub[a=x][b=2]", `{"a":"x","b":3}`, true, codes.InvalidArgument, "/top/item[id=1]/sub[a=x][b=2]/b", "key b is 3 in the body but 2 in the path"},
		{"qualified key in body differs from path", "/top/item[id=1]", `{"t:id":5}`, true, codes.InvalidArgument, "/top/item[id=1]/id", "key id is 5"},
		{"key leaf at its own path differs from the entry", "/top/item[id=1]/id", `2`, true, codes.InvalidArgument, "/top/item[id=1]/id", "key id is 2 in the body but 1 in the path"},
		{"key value over the size bound", "/", `{"t:names":[{"n":"` + strings.Repeat("x", MaxKeyValueLen+1) + `"}]}`, true, codes.InvalidArgument, "/names[0]/n", "key value is 1025 bytes long"},
		{"key value at the size bound", "/", `{"t:names":[{"n":"` + strings.Repeat("x", MaxKeyValueLen) + `"},{"n":1}]}`, true, codes.InvalidArgument, "/names[1]/n", "expected a string"},
		// Duplicates.
		{"duplicate list entries", "/top", `{"item":[{"id":1},{"id":2},{"id":1,"val":"x"}]}`, true, codes.InvalidArgument, "/top/item[id=1]", "duplicate list entry"},
		{"duplicate multi-key entries", "/top/item[id=1]", `{"sub":[{"a":"x","b":1},{"b":1,"a":"x"}]}`, true, codes.InvalidArgument, "/top/item[id=1]/sub[a=x][b=1]", "duplicate list entry"},
		{"duplicate entries equal after canonicalization", "/top/item", `[{"id":1},{"id":1.0}]`, false, codes.InvalidArgument, "/top/item[id=1]", "duplicate list entry"},
		{"duplicate leaf-list values", "/top", `{"tags":["a","b","a"]}`, true, codes.InvalidArgument, "/top/tags", "duplicate leaf-list value a"},
		{"duplicate leaf-list at its path", "/top/tags", `["a","a"]`, true, codes.InvalidArgument, "/top/tags", "duplicate leaf-list value a"},
		{"member given qualified and unqualified", "/top", `{"name":"a","t:name":"b"}`, true, codes.InvalidArgument, "/top/name", "more than once"},
		{"augment member given twice", "/top", `{"u:flag":true,"flag":false}`, true, codes.InvalidArgument, "/top/flag", "more than once"},
		{"top-level member given twice", "/", `{"t:top":{},"top":{}}`, false, codes.InvalidArgument, "/top", "more than once"},
		// Config false.
		{"config false container", "/", `{"t:top":{"state":{}}}`, true, codes.InvalidArgument, "/top/state", "read-only (config false)"},
		{"config false container in an entry", "/top", `{"item":[{"id":1,"stats":{"hits":"1"}}]}`, true, codes.InvalidArgument, "/top/item[id=1]/stats", "read-only"},
		{"config false path", "/top/state", `{}`, true, codes.InvalidArgument, "/top/state", "read-only"},
		{"config false leaf path", "/top/state/counter", `"1"`, true, codes.InvalidArgument, "/top/state/counter", "read-only"},
		// Choice.
		{"two cases of one choice", "/top", `{"raw":[null],"udp-port":1}`, true, codes.InvalidArgument, "", "choice transport: cases"},
		// Syntax.
		{"invalid JSON", "/top", `{"name":`, true, codes.InvalidArgument, "/top", "invalid JSON"},
		{"invalid root JSON", "/", `{`, true, codes.InvalidArgument, "/", "invalid JSON"},
		{"trailing data", "/top", `{} {}`, true, codes.InvalidArgument, "/top", "trailing data"},
		{"trailing bracket", "/top", `{}]`, true, codes.InvalidArgument, "/top", "trailing data"},
		{"trailing data after a root", "/", `{"t:big":[]} x`, true, codes.InvalidArgument, "/", "trailing data"},
		{"trailing brace after a root", "/", `{}}`, true, codes.InvalidArgument, "/", "trailing data"},
		{"empty payload", "/top", ``, true, codes.InvalidArgument, "/top", "invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.at == "/" {
				_, err = DecodeRootJSON(sch.Root, []byte(tc.data), tc.ietf)
			} else {
				_, err = DecodeJSON(path(t, sch, tc.at), []byte(tc.data), tc.ietf)
			}
			if err == nil {
				t.Fatal("no error")
			}
			te, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v is a %T", err, err)
			}
			if te.Code != tc.code || (tc.path != "" && te.Path != tc.path) || !strings.Contains(te.Msg, tc.msg) {
				t.Fatalf("got %s %q %q, want %s %q containing %q", te.Code, te.Path, te.Msg, tc.code, tc.path, tc.msg)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	sch := tsch(t)
	tests := []struct {
		name string
		at   string
		data string
		ietf bool
		want string // JSON_IETF encoding (All) of the decoded node
	}{
		{"metadata members are ignored", "/top", `{"@name":{"x":1},"name":"a"}`, true, `{"inner":{"level":3},"mtu":1500,"name":"a","state":{"status":"ok"}}`},
		{"unqualified top-level names are accepted in JSON", "/", `{"big":[{"k":1}]}`, false, `{"t:big":[{"k":1}],"t:top":{"inner":{"level":3},"mtu":1500,"state":{"status":"ok"}}}`},
		{"qualified names below the top are accepted", "/top", `{"t:name":"a","u:flag":true}`, true, `{"u:flag":true,"inner":{"level":3},"mtu":1500,"name":"a","state":{"status":"ok"}}`},
		{"JSON numbers for 64-bit values", "/top", `{"count64":5,"ratio":1.5}`, false, `{"count64":"5","inner":{"level":3},"mtu":1500,"ratio":"1.5","state":{"status":"ok"}}`},
		{"key repeated in the body", "/top/item[id=1]", `{"id":1,"val":"v"}`, true, `{"id":1,"val":"v","weight":"1.5"}`},
		{"key from the path only", "/top/item[id=1]/sub[a=x][b=-3]", `{"c":"z"}`, true, `{"a":"x","b":-3,"c":"z"}`},
		{"key leaf at its path equal to the entry", "/top/item[id=1]/id", `1`, true, `1`},
		{"whole list", "/top/item", `[{"id":2},{"id":1}]`, true, `[{"id":1,"weight":"1.5"},{"id":2,"weight":"1.5"}]`},
		{"empty list", "/top/item", `[]`, true, `[]`},
		{"empty leaf-list", "/top/tags", `[]`, true, `[]`},
		{"empty leaf", "/top/raw", `[null]`, true, `[null]`},
		{"leading and trailing whitespace", "/top/name", " \n\t\"a\"\r\n ", true, `"a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n *Node
			var err error
			if tc.at == "/" {
				n, err = DecodeRootJSON(sch.Root, []byte(tc.data), tc.ietf)
			} else {
				n, err = DecodeJSON(path(t, sch, tc.at), []byte(tc.data), tc.ietf)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ietfAll(n); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestDecodeAliasDeterministic decodes a payload naming one node twice
// (qualified and not) many times: the result must never depend on map
// iteration order.
func TestDecodeAliasDeterministic(t *testing.T) {
	sch := tsch(t)
	for i := 0; i < 50; i++ {
		n, err := DecodeJSON(path(t, sch, "/top"), []byte(`{"name":"a","t:name":"b"}`), true)
		if err == nil {
			t.Fatalf("accepted, name = %v", n.ChildByName("name").Value())
		}
	}
}

func TestDecodeTyped(t *testing.T) {
	sch := tsch(t)
	str := func(s string) *gpb.TypedValue { return &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: s}} }
	uintv := func(u uint64) *gpb.TypedValue { return &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: u}} }
	list := func(vs ...*gpb.TypedValue) *gpb.TypedValue {
		return &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{Element: vs}}}
	}
	tests := []struct {
		name string
		at   string
		tv   *gpb.TypedValue
		want string // JSON_IETF, or "" for an error
		code codes.Code
		path string
	}{
		{"uint for a leaf", "/top/mtu", uintv(9000), `9000`, 0, ""},
		{"string for a leaf", "/top/name", str("a"), `"a"`, 0, ""},
		{"decimal for a leaf", "/top/ratio", &gpb.TypedValue{Value: &gpb.TypedValue_DecimalVal{DecimalVal: &gpb.Decimal64{Digits: 125, Precision: 2}}}, `"1.25"`, 0, ""},
		{"leaflist_val", "/top/tags", list(str("a"), str("b")), `["a","b"]`, 0, ""},
		{"JSON_IETF for a container", "/top/inner", &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(`{"note":"x"}`)}}, `{"level":3,"note":"x"}`, 0, ""},
		{"JSON for an entry", "/top/item[id=4]", &gpb.TypedValue{Value: &gpb.TypedValue_JsonVal{JsonVal: []byte(`{"weight":2}`)}}, `{"id":4,"weight":"2.0"}`, 0, ""},
		{"out of range", "/top/mtu", uintv(70000), "", codes.InvalidArgument, "/top/mtu"},
		{"wrong type", "/top/mtu", str("x"), "", codes.InvalidArgument, "/top/mtu"},
		{"scalar for a container", "/top/inner", str("x"), "", codes.InvalidArgument, "/top/inner"},
		{"scalar for a list", "/top/item", str("x"), "", codes.InvalidArgument, "/top/item"},
		{"scalar for a leaf-list", "/top/tags", str("x"), "", codes.InvalidArgument, "/top/tags"},
		{"duplicate leaflist_val", "/top/tags", list(str("a"), str("a")), "", codes.InvalidArgument, "/top/tags"},
		{"bad leaflist_val member", "/top/tags", list(str("a"), uintv(1)), "", codes.InvalidArgument, "/top/tags"},
		{"missing value", "/top/name", &gpb.TypedValue{}, "", codes.InvalidArgument, "/top/name"},
		{"config false leaf", "/top/state/counter", uintv(1), "", codes.InvalidArgument, "/top/state/counter"},
		{"config false leaf-list", "/top/state/history", list(str("a")), "", codes.InvalidArgument, "/top/state/history"},
		{"key leaf differing from the entry", "/top/item[id=1]/id", uintv(2), "", codes.InvalidArgument, "/top/item[id=1]/id"},
		{"scalar for the root", "/", str("x"), "", codes.InvalidArgument, "/"},
		{"JSON for the root", "/", &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(`{}`)}}, "", codes.Internal, "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Path
			if tc.at != "/" {
				p = path(t, sch, tc.at)
			}
			n, err := DecodeTyped(p, tc.tv)
			if tc.want == "" {
				wantTreeError(t, err, tc.code, tc.path)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ietfAll(n); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestDecodedValues checks the values the decoder stores, per type.
func TestDecodedValues(t *testing.T) {
	sch := tsch(t)
	n, err := DecodeJSON(path(t, sch, "/top"), []byte(`{"count64":"-5","ratio":"2.5","mtu":1,"raw":[null],"tags":["b","a"]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		leaf string
		want value.Value
	}{
		{"count64", int64(-5)},
		{"ratio", value.Decimal{Digits: 250, Scale: 2}},
		{"mtu", uint64(1)},
		{"raw", value.Empty{}},
	}
	for _, c := range checks {
		k := n.ChildByName(c.leaf)
		if k == nil || k.IsDefault() || !value.Equal(k.Value(), c.want) {
			t.Errorf("%s = %#v, want %#v", c.leaf, k, c.want)
		}
	}
	if vals := n.ChildByName("tags").Values(); len(vals) != 2 || vals[0] != "b" || vals[1] != "a" {
		t.Errorf("tags = %v, want [b a] in payload order", vals)
	}
	if lv := n.ChildByName("inner").ChildByName("level"); !lv.IsDefault() || lv.Value() != int64(3) {
		t.Errorf("inner/level = %v default %v", lv.Value(), lv.IsDefault())
	}
}

// TestDecodeLeafListOverMaxElements: a leaf-list payload longer than the
// model allows is refused before its values are parsed (the values here
// would not even parse), as validation would refuse the result.
func TestDecodeLeafListOverMaxElements(t *testing.T) {
	sch := nrsch(t)
	const at = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/route-distinguisher"
	js := "[" + strings.Repeat(`"bad",`, 1024) + `"bad"]`
	_, err := DecodeJSON(path(t, sch, at), []byte(js), true)
	te := wantTreeError(t, err, codes.FailedPrecondition, at)
	if !strings.Contains(te.Msg, "has 1025 elements, at most 1024 allowed (max-elements)") {
		t.Fatalf("message %q", te.Msg)
	}
	elems := make([]*gpb.TypedValue, 1025)
	for i := range elems {
		elems[i] = &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: "bad"}}
	}
	_, err = DecodeTyped(path(t, sch, at), &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{Element: elems}}})
	wantTreeError(t, err, codes.FailedPrecondition, at)
}

// BenchmarkDecodeLeafList decodes a leaf-list of n distinct values (no
// max-elements): the cost per value must not grow with n (the duplicate
// check compared every pair: 20k values took seconds).
func BenchmarkDecodeLeafList(b *testing.B) {
	p := path(b, tsch(b), "/top/tags")
	for _, n := range []int{20_000, 100_000} {
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			var js strings.Builder
			js.WriteByte('[')
			for i := 0; i < n; i++ {
				if i > 0 {
					js.WriteByte(',')
				}
				fmt.Fprintf(&js, `"tag-%d"`, i)
			}
			js.WriteByte(']')
			data := []byte(js.String())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := DecodeJSON(p, data, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
		})
	}
}
