// Package value parses, validates and encodes YANG leaf values, driven by the
// goyang type (*yang.YangType) of the leaf.
//
// The data tree stores every leaf as a Value, and every conversion between a
// wire form (RFC 7951 JSON, openconfig "internal" JSON, gNMI TypedValue, the
// text form used in path keys) and a Value goes through this package, so the
// server has exactly one notion of what a valid value is and what its
// canonical form looks like. It runs for every leaf of every Set and Get, so
// the success paths avoid allocation beyond boxing the result, and compiled
// patterns are cached per pattern string.
//
// # Representation
//
// A Value holds one of these concrete Go types:
//
//	int8 .. int64      int64
//	uint8 .. uint64    uint64
//	decimal64          Decimal (Scale is the type's fraction-digits)
//	boolean            bool
//	string             string
//	enumeration        string, the enum name
//	identityref        string, "module:identity" (module defining the identity)
//	bits               string, set bit names separated by one space, in position order
//	binary             []byte
//	empty              Empty
//	union              the value of the first member type that accepts the input
//	leafref            callers resolve the target type; a bare leafref is a string
//	instance-identifier string (not validated against the data tree)
//
// # Restrictions
//
// The effective restrictions goyang resolved for the type are enforced:
// integer and decimal64 ranges (multi-interval), string length in
// characters and binary length in bytes, legal YANG string characters,
// every pattern of every typedef level (goyang accumulates them into
// YangType.Pattern; run RepairPatterns after loading to work around a goyang
// bug in that accumulation), enumeration and bit names, identities derived
// from the identityref base, and decimal64 fraction-digits (values needing
// more digits are refused, never rounded).
//
// Patterns are XSD regular expressions; they are translated to Go regexp
// syntax (see translateXSD) and compiled once per pattern string into a
// process-wide cache. A pattern Go cannot express fails every value with an
// error naming the pattern, rather than being skipped.
//
// # Canonical text
//
// String gives the canonical form of RFC 7950: integers without "+" or
// leading zeros ("-0" is "0"), decimal64 with at least one digit on each
// side of the point and no other leading or trailing zeros ("1.5", "2.0",
// "0.0"), bits in position order, identityref as "module:name". Parsing a
// canonical form gives back an Equal value. The text form of a union value
// cannot say which member it belongs to, so a value chosen by its JSON type
// (the string "5" in union{uint8; string}) reads back as the first member
// accepting the text (uint8 5); JSON encodings do not have this problem.
//
// Errors describe the value and the violated restriction (for example
// `value "4095" out of range 1..4094`); callers add the path.
//
// Functions never panic, whatever the input, including malformed types.
package value

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
)

// Value is a parsed YANG leaf value; see the package documentation for the
// concrete types it holds.
type Value any

// Decimal is a decimal64 value: Digits × 10^-Scale. Scale is always the
// fraction-digits of the type the value was parsed for, so two values of the
// same leaf compare field by field; Equal also handles different scales.
type Decimal struct {
	Digits int64
	Scale  uint8
}

// Empty is the value of a leaf of type empty: the leaf exists, and carries
// nothing.
type Empty struct{}

// String returns the canonical text form of v, the form used in list keys and
// paths. ParseString(t, String(v)) returns a value Equal to v.
//
// Numbers have no leading zeros and no "+"; decimal64 follows RFC 7950
// 9.3.2 (at least one digit on each side of the point, no other leading or
// trailing zeros: "1.5", "2.0", "0.0"); binary is padded standard base64;
// empty is "".
func String(v Value) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case Decimal:
		return string(appendDecimal(nil, v))
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case Empty, nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Equal reports whether a and b are the same value. Values of different Go
// types are never equal (an int64 5 from an int8 union member and a uint64 5
// from a uint8 member are different values); decimals compare numerically.
func Equal(a, b Value) bool {
	switch a := a.(type) {
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case Decimal:
		b, ok := b.(Decimal)
		return ok && normalizeDecimal(a) == normalizeDecimal(b)
	case string, int64, uint64, bool, Empty, nil:
		return a == b
	default:
		return false // unknown types are not comparable safely (may be slices or maps)
	}
}

// binaryKey is the map key of a binary value: a string of its bytes that
// cannot collide with a string value.
type binaryKey string

// Key returns a comparable stand-in for v, with Key(a) == Key(b) exactly
// when Equal(a, b): leaf-list duplicates are found with a map in linear
// time instead of comparing every pair. A value of an unknown type gets a
// key of its own, as Equal never finds it equal to anything.
func Key(v Value) any {
	switch v := v.(type) {
	case []byte:
		return binaryKey(v)
	case Decimal:
		return normalizeDecimal(v)
	case string, int64, uint64, bool, Empty, nil:
		return v
	default:
		return new(byte)
	}
}

// normalizeDecimal strips trailing zero digits so that 1.50 (Scale 2) and
// 1.5 (Scale 1) have one representation.
func normalizeDecimal(d Decimal) Decimal {
	for d.Scale > 0 && d.Digits%10 == 0 {
		d.Digits /= 10
		d.Scale--
	}
	return d
}

// String implements fmt.Stringer with the canonical form, so Decimals print
// readably in logs and errors.
func (d Decimal) String() string { return string(appendDecimal(nil, d)) }
