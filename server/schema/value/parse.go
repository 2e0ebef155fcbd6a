package value

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/strictjson"
)

// maxTypeDepth bounds recursion through nested unions, so a malformed
// (cyclic) type yields an error instead of exhausting the stack.
const maxTypeDepth = 32

// inKind is the wire shape of an input value, independent of its YANG type.
type inKind uint8

const (
	inText      inKind = iota // a string: text form, JSON string, gNMI string_val/ascii_val
	inNumber                  // a JSON number literal
	inBool                    // a JSON boolean or gNMI bool_val
	inNull                    // JSON null
	inEmptyList               // JSON [null], the RFC 7951 empty value
	inInt                     // gNMI int_val
	inUint                    // gNMI uint_val
	inFloat                   // gNMI float_val/double_val; s holds the shortest exact decimal
	inDecimal                 // gNMI decimal_val; s holds its decimal text
	inBytes                   // gNMI bytes_val
)

// input is one scalar to parse. Only the fields for kind are set.
type input struct {
	kind inKind
	s    string
	b    bool
	i    int64
	u    uint64
	raw  []byte
}

// mode says where an input came from, which decides what is acceptable.
type mode struct {
	// json: the input is a JSON value, so its JSON type (string, number,
	// ...) is meaningful: a JSON string is never an empty leaf, and a union
	// member is chosen by JSON type first (RFC 7951 6.10).
	json bool
	// ietf: RFC 7951 encoding (64-bit numbers and decimal64 as strings).
	ietf bool
	// strict: accept only the JSON type the encoding itself produces:
	// always for JSON_IETF (RFC 7951), and for the first pass over union
	// members in plain JSON.
	strict bool
	// probe: the errors are discarded (the first pass over union members),
	// so strict refusals need not say more than errStrictJSONType.
	probe bool
}

// ParseJSON parses a leaf value decoded by encoding/json with
// Decoder.UseNumber: a string, json.Number, bool, nil, or []any{nil} (the
// RFC 7951 form of empty). ietf selects RFC 7951 (int64, uint64 and
// decimal64 as JSON strings, identityref as "module:name"); otherwise the
// openconfig internal JSON (all numbers as JSON numbers).
//
// JSON_IETF is strict: each type takes only the JSON type RFC 7951 gives
// it (a string for int64, uint64 and decimal64, a number for the other
// integers, true or false for a boolean, [null] for empty), so a client
// cannot store something other than what it meant by sending the wrong
// kind. Plain JSON stays lenient where unambiguous, for clients that mix
// the two encodings (gnmic's default is JSON): numbers are accepted as
// JSON numbers or as strings holding a number, and an empty leaf may be
// null or true; for unions the strict reading is tried on all members
// first, so a lenient match never hides an exact one. Both take a JSON
// number with a zero fraction or an exponent for an integer whose value is
// integral, and neither takes a string for a boolean. float64 and int
// inputs (from a decoder without UseNumber) are accepted as numbers.
func ParseJSON(t *yang.YangType, v any, ietf bool) (Value, error) {
	in, err := jsonInput(v)
	if err != nil {
		return nil, err
	}
	return parse(t, &in, mode{json: true, ietf: ietf, strict: ietf}, 0)
}

// ParseString parses the text form of a value, as found in gNMI path keys
// ([vlan=100]) and string_val: the YANG lexical representation (RFC 7950
// section 9). Integers may carry a sign and leading zeros but no fraction or
// exponent; binary is base64; empty is "".
func ParseString(t *yang.YangType, s string) (Value, error) {
	in := input{kind: inText, s: s}
	return parse(t, &in, mode{}, 0)
}

// ParseTyped parses a scalar gnmi.TypedValue: string_val and ascii_val (text
// form, as ParseString), int_val, uint_val, bool_val (also true for an empty
// leaf), float_val and double_val (for decimal64 and integers only when the
// value is exact), decimal_val (deprecated but still sent), bytes_val, and
// json_val / json_ietf_val holding one JSON scalar. leaflist_val is refused:
// the caller splits leaf-lists and parses each element.
func ParseTyped(t *yang.YangType, tv *gnmi.TypedValue) (Value, error) {
	in, jsonMode, err := typedInput(tv)
	if err != nil {
		return nil, err
	}
	if jsonMode != nil {
		if in, err = decodeJSONScalar(in.raw); err != nil {
			return nil, err
		}
		return parse(t, &in, mode{json: true, ietf: *jsonMode, strict: *jsonMode}, 0)
	}
	return parse(t, &in, mode{}, 0)
}

// jsonInput classifies a decoded JSON value.
func jsonInput(v any) (input, error) {
	switch v := v.(type) {
	case string:
		return input{kind: inText, s: v}, nil
	case json.Number:
		return input{kind: inNumber, s: string(v)}, nil
	case bool:
		return input{kind: inBool, b: v}, nil
	case nil:
		return input{kind: inNull}, nil
	case []any:
		if len(v) == 1 && v[0] == nil {
			return input{kind: inEmptyList}, nil
		}
		return input{}, errors.New("a JSON array is only valid as [null], the value of an empty leaf")
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return input{}, fmt.Errorf("%v is not a valid number", v)
		}
		return input{kind: inNumber, s: strconv.FormatFloat(v, 'g', -1, 64)}, nil
	case int:
		return input{kind: inNumber, s: strconv.Itoa(v)}, nil
	case int64:
		return input{kind: inNumber, s: strconv.FormatInt(v, 10)}, nil
	case uint64:
		return input{kind: inNumber, s: strconv.FormatUint(v, 10)}, nil
	case map[string]any:
		return input{}, errors.New("a JSON object is not a leaf value")
	default:
		return input{}, fmt.Errorf("unsupported JSON value of Go type %T", v)
	}
}

// decodeJSONScalar decodes exactly one JSON value, strictly (strictjson).
func decodeJSONScalar(b []byte) (input, error) {
	v, err := strictjson.Parse(b)
	if err != nil {
		return input{}, fmt.Errorf("invalid JSON value: %v", err)
	}
	return jsonInput(v)
}

// typedInput classifies a gNMI TypedValue. For json_val / json_ietf_val it
// returns the raw JSON in raw and the ietf flag in jsonMode.
func typedInput(tv *gnmi.TypedValue) (in input, jsonMode *bool, err error) {
	switch v := tv.GetValue().(type) {
	case *gnmi.TypedValue_StringVal:
		return input{kind: inText, s: v.StringVal}, nil, nil
	case *gnmi.TypedValue_AsciiVal:
		return input{kind: inText, s: v.AsciiVal}, nil, nil
	case *gnmi.TypedValue_IntVal:
		return input{kind: inInt, i: v.IntVal}, nil, nil
	case *gnmi.TypedValue_UintVal:
		return input{kind: inUint, u: v.UintVal}, nil, nil
	case *gnmi.TypedValue_BoolVal:
		return input{kind: inBool, b: v.BoolVal}, nil, nil
	case *gnmi.TypedValue_BytesVal:
		return input{kind: inBytes, raw: v.BytesVal}, nil, nil
	case *gnmi.TypedValue_FloatVal:
		return floatInput(float64(v.FloatVal), 32)
	case *gnmi.TypedValue_DoubleVal:
		return floatInput(v.DoubleVal, 64)
	case *gnmi.TypedValue_DecimalVal:
		return decimalInput(v.DecimalVal)
	case *gnmi.TypedValue_JsonVal:
		f := false
		return input{raw: v.JsonVal}, &f, nil
	case *gnmi.TypedValue_JsonIetfVal:
		t := true
		return input{raw: v.JsonIetfVal}, &t, nil
	case *gnmi.TypedValue_LeaflistVal:
		return input{}, nil, errors.New("leaflist_val is not a scalar: split it and parse each element")
	case nil:
		return input{}, nil, errors.New("TypedValue has no value")
	default:
		return input{}, nil, fmt.Errorf("unsupported TypedValue %T", v)
	}
}

// floatInput turns a float into the shortest decimal that reads back as the
// same float (in its own precision): that is the value the client meant, and
// it is exact for decimal64 when it has few enough fraction digits.
func floatInput(f float64, bitSize int) (input, *bool, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return input{}, nil, fmt.Errorf("%v is not a valid number", f)
	}
	return input{kind: inFloat, s: strconv.FormatFloat(f, 'g', -1, bitSize)}, nil, nil
}

// decimalInput turns a gNMI Decimal64 (digits × 10^-precision) into decimal
// text.
func decimalInput(d *gnmi.Decimal64) (input, *bool, error) {
	if d == nil {
		return input{}, nil, errors.New("decimal_val is empty")
	}
	if d.Precision > 38 {
		return input{}, nil, fmt.Errorf("decimal_val precision %d is too large", d.Precision)
	}
	return input{kind: inDecimal, s: decimalText(d.Digits, int(d.Precision))}, nil, nil
}

// decimalText renders digits × 10^-prec as plain decimal text.
func decimalText(digits int64, prec int) string {
	neg, mag := signedMag(digits)
	s := strconv.FormatUint(mag, 10)
	if prec > 0 {
		if len(s) <= prec {
			s = strings.Repeat("0", prec-len(s)+1) + s
		}
		s = s[:len(s)-prec] + "." + s[len(s)-prec:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// parse dispatches on the YANG type.
func parse(t *yang.YangType, in *input, m mode, depth int) (Value, error) {
	if t == nil {
		return nil, errors.New("no type given")
	}
	if depth > maxTypeDepth {
		return nil, errors.New("type nesting too deep")
	}
	switch t.Kind {
	case yang.Yint8, yang.Yint16, yang.Yint32, yang.Yint64,
		yang.Yuint8, yang.Yuint16, yang.Yuint32, yang.Yuint64:
		return parseInteger(t, in, m)
	case yang.Ydecimal64:
		return parseDecimal(t, in, m)
	case yang.Ybool:
		return parseBool(in, m)
	case yang.Yempty:
		return parseEmpty(in, m)
	case yang.Ystring:
		return parseText(t, in, checkString)
	case yang.Yenum:
		return parseText(t, in, checkEnum)
	case yang.Ybits:
		s, err := text(t, in)
		if err != nil {
			return nil, err
		}
		return wrapString(parseBits(t, s))
	case yang.Yidentityref:
		s, err := text(t, in)
		if err != nil {
			return nil, err
		}
		return wrapString(parseIdentity(t, s))
	case yang.Ybinary:
		return parseBinaryValue(t, in)
	case yang.Yleafref, yang.YinstanceIdentifier:
		return parseUnresolved(t, in, m)
	case yang.Yunion:
		return parseUnion(t, in, m, depth)
	default:
		return nil, fmt.Errorf("unsupported type %s (%s)", t.Name, t.Kind)
	}
}

// wrapString boxes a string result, keeping a nil Value on error.
func wrapString(s string, err error) (Value, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// text returns the string of a string-shaped input; every string-like YANG
// type is a string in JSON, text and gNMI alike.
func text(t *yang.YangType, in *input) (string, error) {
	if in.kind != inText {
		return "", fmt.Errorf("expected a string for %s, got %s", typeName(t), shape(in))
	}
	return in.s, nil
}

// parseText parses a string-valued type checked by check.
func parseText(t *yang.YangType, in *input, check func(*yang.YangType, string) error) (Value, error) {
	s, err := text(t, in)
	if err != nil {
		return nil, err
	}
	if err := check(t, s); err != nil {
		return nil, err
	}
	return s, nil
}

// is64 reports whether RFC 7951 encodes the kind as a JSON string.
func is64(k yang.TypeKind) bool { return k == yang.Yint64 || k == yang.Yuint64 }

// isUnsigned reports whether k is an unsigned integer kind.
func isUnsigned(k yang.TypeKind) bool {
	return k == yang.Yuint8 || k == yang.Yuint16 || k == yang.Yuint32 || k == yang.Yuint64
}

// numericInput extracts sign and magnitude (scaled by 10^scale) from any
// number-shaped input. quoted reports whether the JSON encoding of the type
// is a string (RFC 7951 64-bit numbers and decimal64); in strict mode only
// that JSON type is accepted. textSyntax is the syntax allowed in strings.
func numericInput(t *yang.YangType, in *input, m mode, scale uint8, textSyntax numSyntaxOpts, quoted bool) (neg bool, mag uint64, e numErr, err error) {
	switch in.kind {
	case inText:
		if m.json && m.strict && !quoted {
			return false, 0, numOK, strictErr(m, "%s is a JSON string; %s takes a JSON number", describe(in), typeName(t))
		}
		neg, mag, e = parseNumber(in.s, scale, textSyntax)
	case inNumber:
		if m.strict && quoted {
			return false, 0, numOK, strictErr(m, "%s is a JSON number; %s takes a JSON string in JSON_IETF (RFC 7951)", describe(in), typeName(t))
		}
		neg, mag, e = parseNumber(in.s, scale, anyNum)
	case inFloat, inDecimal:
		neg, mag, e = parseNumber(in.s, scale, anyNum)
	case inInt:
		neg, mag = signedMag(in.i)
		mag, e = scaleUp(mag, scale)
	case inUint:
		mag, e = scaleUp(in.u, scale)
	default:
		return false, 0, numOK, fmt.Errorf("expected a number for %s, got %s", typeName(t), shape(in))
	}
	return neg, mag, e, nil
}

// scaleUp multiplies an integer by 10^scale, reporting overflow.
func scaleUp(mag uint64, scale uint8) (uint64, numErr) {
	hi, lo := mulPow10(mag, scale)
	if hi != 0 {
		return 0, numOverflow
	}
	return lo, numOK
}

// parseInteger parses any of the eight integer kinds.
func parseInteger(t *yang.YangType, in *input, m mode) (Value, error) {
	neg, mag, e, err := numericInput(t, in, m, 0, intText, m.ietf && is64(t.Kind))
	if err != nil {
		return nil, err
	}
	switch e {
	case numSyntax:
		return nil, fmt.Errorf("%s is not a valid %s", describe(in), t.Kind)
	case numPrecision:
		return nil, fmt.Errorf("%s is not an integer", describe(in))
	}
	bounds := builtinRange(t.Kind)
	if e == numOverflow || !inRange(bounds, neg, mag, 0) || !inRange(t.Range, neg, mag, 0) {
		r := t.Range
		if len(r) == 0 {
			r = bounds
		}
		return nil, fmt.Errorf("value %s out of range %s", describe(in), r)
	}
	if isUnsigned(t.Kind) {
		return mag, nil // in bounds, so not negative
	}
	v, _ := toInt64(neg, mag) // in bounds, so it fits
	return v, nil
}

// parseDecimal parses a decimal64 value exactly at the type's scale.
func parseDecimal(t *yang.YangType, in *input, m mode) (Value, error) {
	if t.FractionDigits < 1 || t.FractionDigits > 18 {
		return nil, fmt.Errorf("decimal64 type has invalid fraction-digits %d", t.FractionDigits)
	}
	scale := uint8(t.FractionDigits)
	neg, mag, e, err := numericInput(t, in, m, scale, decText, m.ietf)
	if err != nil {
		return nil, err
	}
	switch e {
	case numSyntax:
		return nil, fmt.Errorf("%s is not a valid decimal64", describe(in))
	case numPrecision:
		return nil, fmt.Errorf("%s has more than %d fraction digits", describe(in), scale)
	}
	digits, fits := toInt64(neg, mag)
	if e == numOverflow || !fits || !inRange(t.Range, neg, mag, scale) {
		r := t.Range.String()
		if len(t.Range) == 0 {
			r = "of decimal64"
		}
		return nil, fmt.Errorf("value %s out of range %s", describe(in), r)
	}
	return Decimal{Digits: digits, Scale: scale}, nil
}

// parseBool parses true/false.
func parseBool(in *input, m mode) (Value, error) {
	switch in.kind {
	case inBool:
		return in.b, nil
	case inText:
		if m.json {
			return nil, strictErr(m, "%s is a JSON string; a boolean takes JSON true or false", describe(in))
		}
		switch in.s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%s is not a valid boolean (true or false)", describe(in))
	}
	return nil, fmt.Errorf("expected a boolean, got %s", shape(in))
}

// parseEmpty parses the value of an empty leaf: [null] in JSON, "" as text,
// true as a gNMI bool_val (what gNMI clients and ygot send).
func parseEmpty(in *input, m mode) (Value, error) {
	switch in.kind {
	case inEmptyList:
		return Empty{}, nil
	case inText:
		if !m.json && in.s == "" {
			return Empty{}, nil
		}
	case inNull:
		if !m.strict {
			return Empty{}, nil
		}
	case inBool:
		if !in.b {
			return nil, errors.New("an empty leaf cannot be false; delete it instead")
		}
		if !m.json || !m.strict {
			return Empty{}, nil
		}
	}
	return nil, fmt.Errorf("expected the value of an empty leaf ([null]), got %s", shape(in))
}

// parseBinaryValue parses base64 text or gNMI bytes.
func parseBinaryValue(t *yang.YangType, in *input) (Value, error) {
	var b []byte
	switch in.kind {
	case inBytes:
		b = in.raw
		if b == nil {
			b = []byte{} // a binary value is never nil, so Equal and String behave
		}
	case inText:
		var err error
		if b, err = parseBinary(in.s); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("expected base64 text or bytes for binary, got %s", shape(in))
	}
	if err := checkBinary(t, b); err != nil {
		return nil, err
	}
	return b, nil
}

// parseUnresolved handles leafref and instance-identifier types. Callers
// pass a leafref's resolved target type; reaching here means they did not,
// so the value is kept as the text it was given (a number or boolean given
// in JSON keeps its literal text), only checked to be a legal string.
func parseUnresolved(t *yang.YangType, in *input, m mode) (Value, error) {
	var s string
	switch {
	case in.kind == inText:
		s = in.s
	case in.kind == inNumber && !m.strict:
		s = in.s
	case in.kind == inBool && !m.strict:
		s = strconv.FormatBool(in.b)
	case in.kind == inInt:
		s = strconv.FormatInt(in.i, 10)
	case in.kind == inUint:
		s = strconv.FormatUint(in.u, 10)
	default:
		return nil, fmt.Errorf("expected a string for %s, got %s", typeName(t), shape(in))
	}
	if _, bad := countChars(s); bad >= 0 {
		return nil, fmt.Errorf("%s contains a character not allowed in a YANG string at byte %d", quote(s), bad)
	}
	return s, nil
}

// parseUnion returns the value of the first member type, in declared order,
// that accepts the input. For JSON, members are first tried strictly (the
// JSON type must be the one the member's encoding produces, RFC 7951 6.10),
// then leniently.
func parseUnion(t *yang.YangType, in *input, m mode, depth int) (Value, error) {
	if len(t.Type) == 0 {
		return nil, fmt.Errorf("union %s has no member types", t.Name)
	}
	if m.json && !m.strict {
		sm := m
		sm.strict, sm.probe = true, true
		for _, mt := range t.Type {
			if v, err := parse(mt, in, sm, depth+1); err == nil {
				return v, nil
			}
		}
	}
	var errs []string
	for _, mt := range t.Type {
		v, err := parse(mt, in, m, depth+1)
		if err == nil {
			return v, nil
		}
		errs = append(errs, typeName(mt)+": "+err.Error())
	}
	return nil, fmt.Errorf("%s matches no member type of the union (%s)", describe(in), strings.Join(errs, "; "))
}

// errStrictJSONType is a strict-mode refusal in the first pass over union
// members, whose errors are discarded, so the error is a constant.
var errStrictJSONType = errors.New("JSON type does not match the encoding of the type")

// strictErr is a strict-mode refusal: the JSON type is not the one the
// type's encoding produces. Only a refusal the client sees is formatted.
func strictErr(m mode, format string, args ...any) error {
	if m.probe {
		return errStrictJSONType
	}
	return fmt.Errorf(format, args...)
}

// typeName names a type for messages: the typedef name, or the built-in.
func typeName(t *yang.YangType) string {
	if t.Name != "" {
		return t.Name
	}
	return t.Kind.String()
}

// shape renders an input with its wire type, for type-mismatch messages.
func shape(in *input) string {
	switch in.kind {
	case inText:
		return "string " + quote(in.s)
	case inNumber:
		return "number " + quote(in.s)
	case inBool:
		return "boolean " + strconv.FormatBool(in.b)
	case inInt:
		return "int_val " + strconv.FormatInt(in.i, 10)
	case inUint:
		return "uint_val " + strconv.FormatUint(in.u, 10)
	case inFloat:
		return "floating-point " + in.s
	case inDecimal:
		return "decimal_val " + in.s
	}
	return describe(in)
}

// describe renders an input's value for an error message.
func describe(in *input) string {
	switch in.kind {
	case inText, inNumber, inFloat, inDecimal:
		return quote(in.s)
	case inBool:
		return strconv.FormatBool(in.b)
	case inNull:
		return "null"
	case inEmptyList:
		return "[null]"
	case inInt:
		return strconv.Quote(strconv.FormatInt(in.i, 10))
	case inUint:
		return strconv.Quote(strconv.FormatUint(in.u, 10))
	case inBytes:
		return fmt.Sprintf("%d bytes", len(in.raw))
	}
	return "a value"
}
