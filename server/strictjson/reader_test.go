package strictjson

import (
	"reflect"
	"strings"
	"testing"
)

// readAll rebuilds the value at r's offset through Members, Elements and
// Value, the way the tree decoder walks a payload.
func readAll(r *Reader) any {
	switch r.Peek() {
	case Object:
		obj := map[string]any{}
		for _, m := range r.Members(nil) {
			r.Seek(m.At)
			obj[m.Name] = readAll(r)
		}
		return obj
	case Array:
		arr := []any{}
		for _, at := range r.Elements(nil) {
			r.Seek(at)
			arr = append(arr, readAll(r))
		}
		return arr
	}
	return r.Value()
}

// agree checks that Validate and NewReader refuse what Parse refuses with
// the same error, and that what a Reader reads of an accepted document is
// what Parse returns.
func agree(t *testing.T, data []byte) {
	t.Helper()
	want, perr := Parse(data)
	verr := Validate(data)
	r, rerr := NewReader(data)
	if perr == nil {
		if verr != nil || rerr != nil {
			t.Fatalf("%q: Parse accepts, Validate says %v, NewReader %v", data, verr, rerr)
		}
		if got := readAll(r); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Reader reads %#v, Parse %#v", data, got, want)
		}
		return
	}
	if verr == nil || rerr == nil || verr.Error() != perr.Error() || rerr.Error() != perr.Error() {
		t.Fatalf("%q: Parse: %v; Validate: %v; NewReader: %v", data, perr, verr, rerr)
	}
}

func TestValidateAgreesWithParse(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, ` {"a": [1, -2.5e+3, 0, 0.1E-2, true, false, null, "x"]} `,
		`"\u00e9\ud83d\ude00 \"\\\/\b\f\n\r\t"`, `{"a\"}":"]}\\","b":[{"c":"{"}]}`,
		`{"a":{"b":{"c":[[],{}]}}}`, `{"a":1,"A":2}`, `{"a":1,"b":{"a":1}}`,
		`[{"a":1},{"a":2}]`, `{"a":{"x":1},"b":{"x":1,"x":2}}`, `{"a\u0062":1,"ab":2}`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		"{\"a\":{\"b\":\"x\xffy\"}}", `{"a":["ok","\ud800"]}`, `{"a":1,"b":{"c":1,"c":2}}`,
		``, `{"a":1,}`, `[1,]`, `{"a" 1}`, `[1 2]`, `01`, `1.`, `1e`, `-`, `tru`, `"a`,
		"\"a\tb\"", `"\x"`, `"\u12G4"`, `{} {}`, `{}]`, "\xef\xbb\xbf{}", `{"a":[1,2,{"b":nul}]}`,
	} {
		agree(t, []byte(in))
	}
}

// FuzzValidate: Validate and a Reader agree with Parse on every input.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,-2.5e+3,true,null,"x\u00e9"]}`, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`,
		`"\ud83d\ude00"`, `[[[[]]]]`, `{"netready-tenants:tenants":{"tenant":[{"name":"blue"}]}}`,
		`-0.0e-0`, ` 1 `, `{"a":{"b":{}}}`, `"\\\/\b\f\n\r\t"`, `{"a":{"x":1},"b":{"x":1,"x":2}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, data) })
}

// TestValidateAllocatesNothingPerObject: checking a bulk payload costs
// its distinct member names and one set per depth, not a map per object.
func TestValidateAllocatesNothingPerObject(t *testing.T) {
	const n = 1000
	var b strings.Builder
	b.WriteString(`{"port":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"p1","mtu":1500}`)
	}
	b.WriteString(`]}`)
	doc := []byte(b.String())
	if allocs := testing.AllocsPerRun(5, func() { _ = Validate(doc) }); allocs > 20 {
		t.Errorf("validating %d objects allocates %.0f times, want at most 20", n, allocs)
	}
}
