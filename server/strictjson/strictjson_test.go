package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// stdParse is encoding/json's reading of data, with UseNumber.
func stdParse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() || len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func TestParseAsEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, ` {"a": [1, -2.5e+3, 0, 0.1E-2, true, false, null, "x"]} `,
		`"\u00e9\ud83d\ude00 \"\\\/\b\f\n\r\t"`, `"é😀"`, `{"a":{"b":{"c":[[],{}]}}}`,
		`-0`, `123456789012345678901234567890`, `{"a":1,"A":2}`, `"\u0000"`,
	} {
		want, err := stdParse([]byte(in))
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", in, err)
		}
		got, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %#v, want %#v", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in, ptr, msg string
	}{
		// What encoding/json accepts but strict parsing must not.
		{"{\"a\":{\"b\":\"x\xffy\"}}", "/a/b", "invalid UTF-8"},
		{"{\"a\xff\":1}", "", "invalid UTF-8"},
		{`{"a":["ok","\ud800"]}`, "/a/1", "lone UTF-16 surrogate"},
		{`"\udc00\ud800"`, "", "lone UTF-16 surrogate"},
		{`"\ud800\u0041"`, "", "lone UTF-16 surrogate"},
		{`{"a":1,"b":{"c":1,"c":2}}`, "/b/c", "member given more than once"},
		{`{"x/y~":{"z":1,"z":1}}`, "/x~1y~0/z", "more than once"},
		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "/0/0", "nested more than 256"},
		// Syntax, as encoding/json refuses it.
		{``, "", "unexpected end"},
		{`{"a":1,}`, "", "expected a member name"},
		{`[1,]`, "/1", "looking for a value"},
		{`{"a" 1}`, "/a", "expected ':'"},
		{`[1 2]`, "", "after a value"},
		{`01`, "", "trailing data"},
		{`1.`, "", "no digits after the decimal point"},
		{`1e`, "", "no digits in the exponent"},
		{`-`, "", "invalid number"},
		{`tru`, "", "expected true"},
		{`"a`, "", "unterminated"},
		{"\"a\tb\"", "", "control character"},
		{`"\x"`, "", "invalid escape"},
		{`"\u12G4"`, "", "invalid \\u escape"},
		{`{} {}`, "", "trailing data"},
		{`{}]`, "", "trailing data"},
		{"\xef\xbb\xbf{}", "", "invalid character"},
	} {
		_, err := Parse([]byte(c.in))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: got %v, want an *Error", c.in, err)
		}
		if !strings.HasPrefix(e.Pointer, c.ptr) || !strings.Contains(e.Msg, c.msg) {
			t.Fatalf("%q: got %q, want pointer %q and %q", c.in, e, c.ptr, c.msg)
		}
	}
}

// FuzzParse compares Parse with encoding/json: whatever Parse accepts,
// encoding/json reads the same way; whatever encoding/json accepts and
// Parse refuses is one of the strict refusals.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,-2.5e+3,true,null,"x\u00e9"]}`, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`,
		`"\ud83d\ude00"`, `[[[[]]]]`, `{"netready-tenants:tenants":{"tenant":[{"name":"blue"}]}}`,
		`-0.0e-0`, ` 1 `, `{"a":{"b":{}}}`, `"\\\/\b\f\n\r\t"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data)
		want, stdErr := stdParse(data)
		if err == nil {
			if stdErr != nil {
				t.Fatalf("Parse accepted what encoding/json refuses (%v)", stdErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v, encoding/json %#v", got, want)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if stdErr == nil && utf8.Valid(data) && !strings.Contains(e.Msg, "more than once") &&
			!strings.Contains(e.Msg, "surrogate") && !strings.Contains(e.Msg, "nested") {
			t.Fatalf("Parse refused valid JSON: %v", err)
		}
	})
}

// BenchmarkParse compares Parse with encoding/json on a 10,000-entry list
// payload (the shape of a bulk Set).
func BenchmarkParse(b *testing.B) {
	var doc strings.Builder
	doc.WriteString(`{"port":[`)
	for i := 0; i < 10_000; i++ {
		if i > 0 {
			doc.WriteByte(',')
		}
		doc.WriteString(`{"name":"p` + strings.Repeat("1", i%5) + `","host":"host-a","mtu":9000,"mac-address":"02:00:00:00:00:01","description":"caf\u00e9"}`)
	}
	doc.WriteString(`]}`)
	data := []byte(doc.String())
	for _, c := range []struct {
		name  string
		parse func([]byte) (any, error)
	}{{"strictjson", Parse}, {"encoding-json", stdParse}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := c.parse(data); err != nil && c.name == "encoding-json" {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMemberNamesShared: a bulk payload repeats a few member names in
// every object; they share one string each, and a valid parse allocates
// no more than the values it returns (no boxed path steps).
func TestMemberNamesShared(t *testing.T) {
	const n = 1000
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"x","port":"y"}`)
	}
	b.WriteByte(']')
	doc := []byte(b.String())
	v, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	names := map[*byte]bool{}
	for _, o := range v.([]any) {
		for k := range o.(map[string]any) {
			names[unsafe.StringData(k)] = true
		}
	}
	if len(names) != 2 {
		t.Errorf("%d objects hold %d distinct member name strings, want 2", n, len(names))
	}
	// Per object: its map and its two value strings (and a little slack
	// for the map's growth); member names and path steps cost nothing.
	if allocs := testing.AllocsPerRun(5, func() { _, _ = Parse(doc) }); allocs > 5*n {
		t.Errorf("parsing %d objects allocates %.0f times, want at most %d", n, allocs, 5*n)
	}
}
