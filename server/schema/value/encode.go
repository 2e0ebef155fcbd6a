package value

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/goyang/pkg/yang"
)

// AppendJSON appends the JSON encoding of v, a value of type t, to dst.
//
// With ietf (RFC 7951): int64, uint64 and decimal64 are JSON strings,
// identityref is "module:name". Without (openconfig internal JSON): all
// numbers are JSON numbers and identityref is the bare identity name. In
// both: empty is [null], binary is base64, other strings are escaped so the
// output is valid JSON for any input (invalid UTF-8 becomes U+FFFD).
//
// For a union the encoding follows the first member type that accepts v, as
// ParseJSON would have chosen it. If t does not describe v (nil or another
// kind), v is encoded from its Go type, quoting 64-bit-capable integers in
// ietf mode since that is what a lenient reader accepts either way.
func AppendJSON(dst []byte, t *yang.YangType, v Value, ietf bool) []byte {
	switch v := v.(type) {
	case string:
		if !ietf {
			v = internalIdentityName(t, v)
		}
		return appendJSONString(dst, v)
	case int64:
		neg, mag := signedMag(v)
		if ietf && quoteInt(t, neg, mag, false, 0) {
			return append(strconv.AppendInt(append(dst, '"'), v, 10), '"')
		}
		return strconv.AppendInt(dst, v, 10)
	case uint64:
		if ietf && quoteInt(t, false, v, true, 0) {
			return append(strconv.AppendUint(append(dst, '"'), v, 10), '"')
		}
		return strconv.AppendUint(dst, v, 10)
	case Decimal:
		if ietf {
			dst = append(dst, '"')
			return append(appendDecimal(dst, v), '"')
		}
		return appendDecimal(dst, v)
	case bool:
		return strconv.AppendBool(dst, v)
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, '"')
	case Empty:
		return append(dst, "[null]"...)
	case nil:
		return append(dst, "null"...)
	default:
		return appendJSONString(dst, String(v))
	}
}

// internalIdentityName returns the openconfig internal JSON form of v: the
// bare identity name if v is an identityref under t and the name is
// unambiguous among the identities derived from the base (so it parses
// back to the same identity), else v unchanged.
func internalIdentityName(t *yang.YangType, v string) string {
	mt := identityMember(t, v, 0)
	if mt == nil {
		return v
	}
	_, name, ok := strings.Cut(v, ":")
	if !ok || identityCount(mt.IdentityBase, name) > 1 {
		return v
	}
	return name
}

// identityMember returns the identityref type v is encoded under: t itself,
// or the first union member accepting v. Unions are searched only when they
// contain an identityref member, so string unions cost nothing here.
func identityMember(t *yang.YangType, v string, depth int) *yang.YangType {
	if t == nil || depth > maxTypeDepth {
		return nil
	}
	switch t.Kind {
	case yang.Yidentityref:
		return t
	case yang.Yunion:
		if !hasKind(t, yang.Yidentityref, depth) {
			return nil
		}
		if mt := firstStringMember(t, v, depth); mt != nil && mt.Kind == yang.Yidentityref {
			return mt
		}
	}
	return nil
}

// hasKind reports whether a union has a member of kind k, at any depth.
func hasKind(t *yang.YangType, k yang.TypeKind, depth int) bool {
	if depth > maxTypeDepth {
		return false
	}
	for _, mt := range t.Type {
		if mt == nil {
			continue
		}
		if mt.Kind == k || mt.Kind == yang.Yunion && hasKind(mt, k, depth+1) {
			return true
		}
	}
	return false
}

// isStringKind reports whether values of kind k are Go strings.
func isStringKind(k yang.TypeKind) bool {
	switch k {
	case yang.Ystring, yang.Yenum, yang.Ybits, yang.Yidentityref, yang.Yleafref, yang.YinstanceIdentifier:
		return true
	}
	return false
}

// firstStringMember returns the first (flattened) member of union t with a
// string-valued kind that accepts v.
func firstStringMember(t *yang.YangType, v string, depth int) *yang.YangType {
	if depth > maxTypeDepth {
		return nil
	}
	for _, mt := range t.Type {
		switch {
		case mt == nil:
		case mt.Kind == yang.Yunion:
			if m := firstStringMember(mt, v, depth+1); m != nil {
				return m
			}
		case isStringKind(mt.Kind):
			in := input{kind: inText, s: v}
			if _, err := parse(mt, &in, mode{}, depth+1); err == nil {
				return mt
			}
		}
	}
	return nil
}

// quoteInt decides whether an integer is a JSON string in RFC 7951: it is
// for int64 and uint64. In a union the first integer member (of the value's
// signedness) whose range holds the value decides; when t says nothing
// useful the integer is quoted, which never loses precision.
func quoteInt(t *yang.YangType, neg bool, mag uint64, unsigned bool, depth int) bool {
	switch {
	case t == nil || depth > maxTypeDepth:
		return true
	case t.Kind == yang.Yunion:
		for _, mt := range t.Type {
			if mt == nil {
				continue
			}
			if mt.Kind == yang.Yunion {
				if hasIntMember(mt, neg, mag, unsigned, depth+1) {
					return quoteInt(mt, neg, mag, unsigned, depth+1)
				}
				continue
			}
			if intMemberAccepts(mt, neg, mag, unsigned) {
				return is64(mt.Kind)
			}
		}
		return true
	case builtinRange(t.Kind) != nil:
		return is64(t.Kind)
	}
	return true
}

// hasIntMember reports whether a union has an integer member accepting the
// value.
func hasIntMember(t *yang.YangType, neg bool, mag uint64, unsigned bool, depth int) bool {
	if depth > maxTypeDepth {
		return false
	}
	for _, mt := range t.Type {
		if mt == nil {
			continue
		}
		if intMemberAccepts(mt, neg, mag, unsigned) ||
			mt.Kind == yang.Yunion && hasIntMember(mt, neg, mag, unsigned, depth+1) {
			return true
		}
	}
	return false
}

// intMemberAccepts reports whether integer type t holds the value: same
// signedness (the Go type of the value) and within bounds and range.
func intMemberAccepts(t *yang.YangType, neg bool, mag uint64, unsigned bool) bool {
	bounds := builtinRange(t.Kind)
	return bounds != nil && isUnsigned(t.Kind) == unsigned &&
		inRange(bounds, neg, mag, 0) && inRange(t.Range, neg, mag, 0)
}

// jsonSafe marks the ASCII bytes that need no escaping in a JSON string.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\'
	}
	return safe
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Runs of safe bytes are copied
// in one append; invalid UTF-8 becomes \ufffd, and U+2028/U+2029 are escaped
// (as encoding/json does) so the output is also safe to embed in JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscapedASCII escapes a quote, backslash or control character.
func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// Typed returns the gNMI TypedValue of v for PROTO encoding:
//
//	int64            int_val
//	uint64           uint_val
//	bool             bool_val
//	string           string_val (strings, enums, bits, identityref as "module:name")
//	Decimal          double_val when the double reads back as exactly the
//	                 same decimal (ParseTyped(double_val) round-trips);
//	                 otherwise string_val with the canonical text, never a
//	                 rounded number
//	[]byte           bytes_val
//	Empty            bool_val true, as ygot and gNMI clients encode empty
//
// decimal_val is not produced: it is deprecated in gNMI 0.8+. t is accepted
// for symmetry with AppendJSON; the Go type of v alone determines the
// encoding today.
func Typed(t *yang.YangType, v Value) *gnmi.TypedValue {
	switch v := v.(type) {
	case string:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_StringVal{StringVal: v}}
	case int64:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_IntVal{IntVal: v}}
	case uint64:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_UintVal{UintVal: v}}
	case bool:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_BoolVal{BoolVal: v}}
	case Decimal:
		if f, ok := exactFloat(v); ok {
			return &gnmi.TypedValue{Value: &gnmi.TypedValue_DoubleVal{DoubleVal: f}}
		}
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_StringVal{StringVal: v.String()}}
	case []byte:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_BytesVal{BytesVal: v}}
	case Empty:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_BoolVal{BoolVal: true}}
	default:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_StringVal{StringVal: String(v)}}
	}
}

// exactFloat returns the float64 nearest to d and whether its shortest
// decimal form is exactly d, i.e. whether a client reading the double (and
// ParseTyped) recovers d without loss. 0.1 qualifies; 0.1234567890123456789
// does not.
func exactFloat(d Decimal) (float64, bool) {
	if d.Scale > 18 {
		return 0, false
	}
	var buf [32]byte
	f, err := strconv.ParseFloat(string(appendDecimal(buf[:0], d)), 64)
	if err != nil {
		return 0, false
	}
	short := strconv.AppendFloat(buf[:0], f, 'g', -1, 64)
	neg, mag, e := parseNumber(string(short), d.Scale, anyNum)
	if e != numOK {
		return 0, false
	}
	digits, fits := toInt64(neg, mag)
	return f, fits && digits == d.Digits
}
