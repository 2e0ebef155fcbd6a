package value

import (
	"bytes"
	"encoding/json"
	"sort"
	"testing"
)

// textAmbiguous lists the test leaves where a value chosen by its JSON type
// (a JSON string "5" for union{uint8; string}) has the same text form as a
// value of an earlier member, so String/ParseString and string_val cannot
// round-trip it. That is inherent to the text encoding, not a bug.
var textAmbiguous = map[string]bool{"un": true, "unb": true}

// fuzzLeaves returns the test leaf names in a stable order.
func fuzzLeaves(tb testing.TB) []string {
	names := make([]string, 0, len(types(tb)))
	for n := range types(tb) {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkAccepted verifies the encoding invariants of an accepted value.
func checkAccepted(t *testing.T, leaf string, v Value, textRoundTrip bool) {
	yt := typ(t, leaf)
	for _, ietf := range []bool{false, true} {
		enc := AppendJSON(nil, yt, v, ietf)
		if !json.Valid(enc) {
			t.Fatalf("%s: AppendJSON(%#v, ietf=%v) = %q: invalid JSON", leaf, v, ietf, enc)
		}
		dec := json.NewDecoder(bytes.NewReader(enc))
		dec.UseNumber()
		var raw any
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("%s: decoding %q: %v", leaf, enc, err)
		}
		got, err := ParseJSON(yt, raw, ietf)
		if err != nil || !Equal(got, v) {
			t.Fatalf("%s: ParseJSON(AppendJSON(%#v) = %s, ietf=%v) = %#v, %v", leaf, v, enc, ietf, got, err)
		}
	}
	if !textRoundTrip {
		return
	}
	if got, err := ParseString(yt, String(v)); err != nil || !Equal(got, v) {
		t.Fatalf("%s: ParseString(String(%#v) = %q) = %#v, %v", leaf, v, String(v), got, err)
	}
	if got, err := ParseTyped(yt, Typed(yt, v)); err != nil || !Equal(got, v) {
		t.Fatalf("%s: ParseTyped(Typed(%#v)) = %#v, %v", leaf, v, got, err)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, c := range jsonOK {
		f.Add([]byte(c.in), c.mode == ietfOnly)
	}
	for _, c := range jsonBad {
		f.Add([]byte(c.in), false)
	}
	for _, s := range []string{`"\ud800"`, `"\u2028x"`, `1e-7`, `-0`, `"-0.0"`, `123456789012345678901234567890`, `"vt:tunnel"`} {
		f.Add([]byte(s), true)
	}
	leaves := fuzzLeaves(f)
	f.Fuzz(func(t *testing.T, data []byte, ietf bool) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var raw any
		if err := dec.Decode(&raw); err != nil {
			return
		}
		for _, leaf := range leaves {
			v, err := ParseJSON(typ(t, leaf), raw, ietf)
			if err != nil {
				if v != nil {
					t.Fatalf("%s: error %v with non-nil value %#v", leaf, err, v)
				}
				continue
			}
			checkAccepted(t, leaf, v, !textAmbiguous[leaf])
		}
	})
}

func FuzzParseString(f *testing.F) {
	for _, c := range textOK {
		f.Add(c.in)
	}
	for _, c := range textBad {
		f.Add(c.in)
	}
	leaves := fuzzLeaves(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, leaf := range leaves {
			v, err := ParseString(typ(t, leaf), s)
			if err != nil {
				if v != nil {
					t.Fatalf("%s: error %v with non-nil value %#v", leaf, err, v)
				}
				continue
			}
			checkAccepted(t, leaf, v, true)
		}
	})
}

// FuzzTranslateXSD checks that no pattern text makes the translator or the
// cache panic.
func FuzzTranslateXSD(f *testing.F) {
	for _, p := range []string{`[a-z-[aeiou]]`, `\p{IsBasicLatin}`, `[\i-[:]][\c-[:]]*`, `a{1,3}`, `(a|b)*\d`, `[^\S\d]`} {
		f.Add(p, "abc")
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		_ = matchPattern(p, s)
		patternCache.Delete(p) // keep the cache from growing without bound during fuzzing
	})
}
