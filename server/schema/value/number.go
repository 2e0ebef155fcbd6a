package value

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/openconfig/goyang/pkg/yang"
)

// numErr classifies why a numeric literal was refused, so callers can word
// the error for the type at hand.
type numErr uint8

const (
	numOK        numErr = iota
	numSyntax           // not a number in the accepted syntax
	numPrecision        // more fraction digits than the type allows (value not exact)
	numOverflow         // magnitude does not fit in 64 bits
)

// numSyntaxOpts selects which parts of the number syntax are accepted: the
// text form of YANG integers has neither fraction nor exponent, decimal64
// text has a fraction, JSON numbers may have both.
type numSyntaxOpts struct {
	frac bool
	exp  bool
}

var (
	intText = numSyntaxOpts{}
	decText = numSyntaxOpts{frac: true}
	anyNum  = numSyntaxOpts{frac: true, exp: true}
)

// maxExp bounds exponents so huge ones cannot overflow the arithmetic; any
// non-zero value with such an exponent overflows (or is inexact) anyway.
const maxExp = 1 << 20

// parseNumber parses a decimal literal ([+-]digits[.digits][e[+-]digits])
// and returns its value scaled by 10^scale as a sign and magnitude, exactly:
// a value that would need more than scale fraction digits is numPrecision,
// never rounded. "-0" yields neg=false.
func parseNumber(s string, scale uint8, o numSyntaxOpts) (neg bool, mag uint64, e numErr) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	if intPart == "" {
		return false, 0, numSyntax
	}
	var frac string
	if i < len(s) && s[i] == '.' && o.frac {
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fracStart:i]
		if frac == "" {
			return false, 0, numSyntax
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') && o.exp {
		var ok bool
		if exp, i, ok = parseExponent(s, i+1); !ok {
			return false, 0, numSyntax
		}
	}
	if i != len(s) {
		return false, 0, numSyntax
	}
	mag, e = digitsValue(intPart, frac, exp-len(frac)+int(scale))
	if mag == 0 {
		neg = false
	}
	return neg, mag, e
}

// parseExponent parses [+-]digits starting at s[i], saturating at maxExp.
func parseExponent(s string, i int) (exp, next int, ok bool) {
	expNeg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		expNeg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		if exp < maxExp {
			exp = exp*10 + int(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, i, false
	}
	if expNeg {
		exp = -exp
	}
	return exp, i, true
}

// digitsValue returns the digit string intPart+frac multiplied by 10^shift,
// exactly, as a uint64.
func digitsValue(intPart, frac string, shift int) (uint64, numErr) {
	n := len(intPart) + len(frac)
	digit := func(k int) byte {
		if k < len(intPart) {
			return intPart[k] - '0'
		}
		return frac[k-len(intPart)] - '0'
	}
	first := 0
	for first < n && digit(first) == 0 {
		first++
	}
	if first == n {
		return 0, numOK // zero, whatever the exponent
	}
	last := n // digits [first, last) are significant
	if shift < 0 {
		drop := -shift
		if drop >= last-first {
			return 0, numPrecision
		}
		for k := last - drop; k < last; k++ {
			if digit(k) != 0 {
				return 0, numPrecision
			}
		}
		last -= drop
		shift = 0
	}
	var mag uint64
	for k := first; k < last; k++ {
		hi, lo := bits.Mul64(mag, 10)
		lo, carry := bits.Add64(lo, uint64(digit(k)), 0)
		if hi != 0 || carry != 0 {
			return 0, numOverflow
		}
		mag = lo
	}
	for ; shift > 0; shift-- {
		hi, lo := bits.Mul64(mag, 10)
		if hi != 0 {
			return 0, numOverflow
		}
		mag = lo
	}
	return mag, numOK
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// signedMag splits an int64 into sign and magnitude without overflowing on
// math.MinInt64.
func signedMag(v int64) (neg bool, mag uint64) {
	if v < 0 {
		return true, -uint64(v)
	}
	return false, uint64(v)
}

// toInt64 converts a sign and magnitude to int64, reporting overflow.
func toInt64(neg bool, mag uint64) (int64, bool) {
	if neg {
		if mag > 1<<63 {
			return 0, false
		}
		return int64(-mag), true // -mag wraps to the two's complement value
	}
	if mag > math.MaxInt64 {
		return 0, false
	}
	return int64(mag), true
}

// builtinRange returns the value space of an integer kind, used when a type
// carries no Range and as a guard against malformed ones.
func builtinRange(k yang.TypeKind) yang.YangRange {
	switch k {
	case yang.Yint8:
		return yang.Int8Range
	case yang.Yint16:
		return yang.Int16Range
	case yang.Yint32:
		return yang.Int32Range
	case yang.Yint64:
		return yang.Int64Range
	case yang.Yuint8:
		return yang.Uint8Range
	case yang.Yuint16:
		return yang.Uint16Range
	case yang.Yuint32:
		return yang.Uint32Range
	case yang.Yuint64:
		return yang.Uint64Range
	}
	return nil
}

// inRange reports whether ±mag × 10^-scale lies in one of the intervals of r.
// An empty r allows everything (the caller checks built-in bounds).
func inRange(r yang.YangRange, neg bool, mag uint64, scale uint8) bool {
	if len(r) == 0 {
		return true
	}
	for _, iv := range r {
		if cmpNumber(neg, mag, scale, iv.Min) >= 0 && cmpNumber(neg, mag, scale, iv.Max) <= 0 {
			return true
		}
	}
	return false
}

// cmpNumber compares ±mag × 10^-scale with the goyang Number n, exactly,
// whatever the two scales: both are brought to the larger scale in 128 bits.
func cmpNumber(neg bool, mag uint64, scale uint8, n yang.Number) int {
	nNeg := n.Negative && n.Value != 0
	neg = neg && mag != 0
	switch {
	case neg && !nNeg:
		return -1
	case !neg && nNeg:
		return 1
	}
	c := cmpScaled(mag, scale, n.Value, n.FractionDigits)
	if neg {
		return -c
	}
	return c
}

// cmpScaled compares the non-negative a×10^-as with b×10^-bs.
func cmpScaled(a uint64, as uint8, b uint64, bs uint8) int {
	aHi, aLo := uint64(0), a
	bHi, bLo := uint64(0), b
	switch {
	case as < bs:
		aHi, aLo = mulPow10(a, bs-as)
	case bs < as:
		bHi, bLo = mulPow10(b, as-bs)
	}
	switch {
	case aHi != bHi:
		return cmpUint(aHi, bHi)
	default:
		return cmpUint(aLo, bLo)
	}
}

// mulPow10 returns v × 10^e as a 128-bit (hi, lo) pair, saturating when the
// product cannot fit (only possible with scales no goyang type produces).
func mulPow10(v uint64, e uint8) (hi, lo uint64) {
	if e > 19 {
		if v == 0 {
			return 0, 0
		}
		return math.MaxUint64, math.MaxUint64
	}
	return bits.Mul64(v, pow10[e])
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pow10 holds 10^0 .. 10^19, every power of ten that fits in a uint64.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// appendDecimal appends the RFC 7950 canonical form of d: no "+", no leading
// zeros, at least one digit on both sides of the point, no trailing zeros
// after the first fraction digit.
func appendDecimal(dst []byte, d Decimal) []byte {
	neg, mag := signedMag(d.Digits)
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], mag, 10)
	scale := int(d.Scale)
	if neg {
		dst = append(dst, '-')
	}
	if len(digits) > scale {
		dst = append(dst, digits[:len(digits)-scale]...)
		digits = digits[len(digits)-scale:]
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, '.')
	// The fraction is digits left-padded with zeros to scale places.
	pad := scale - len(digits)
	end := len(digits)
	for end > 0 && digits[end-1] == '0' {
		end--
	}
	if end == 0 {
		return append(dst, '0') // fraction is zero: "x.0"
	}
	for ; pad > 0; pad-- {
		dst = append(dst, '0')
	}
	return append(dst, digits[:end]...)
}
