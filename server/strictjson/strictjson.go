// Package strictjson parses the JSON of gNMI payloads strictly, where
// encoding/json is lenient in ways that store something other than what
// the client sent: invalid UTF-8 and lone UTF-16 surrogates in strings are
// errors (encoding/json replaces them with U+FFFD), so is an object member
// given twice (encoding/json keeps the last), and nesting is bounded.
// Errors say where, as a JSON Pointer (RFC 6901).
//
// Parse returns what encoding/json with UseNumber returns for the same
// text: map[string]any, []any, string, json.Number, bool and nil.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of arrays and objects: far above any YANG
// model's depth, far below what would strain the stack.
const MaxDepth = 256

// Error is a syntax or strictness error at a place in the document.
type Error struct {
	Pointer string // JSON Pointer of the value at fault ("" for the whole document)
	Offset  int    // byte offset in the input
	Msg     string
}

func (e *Error) Error() string {
	if e.Pointer == "" {
		return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset)
	}
	return fmt.Sprintf("at %s: %s (at byte %d)", e.Pointer, e.Msg, e.Offset)
}

// Parse parses data holding exactly one JSON value, with optional white
// space around it.
func Parse(data []byte) (any, error) {
	p := &parser{data: data}
	p.space()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.data) {
		return nil, p.fail("trailing data after the value")
	}
	return v, nil
}

// parser is a recursive-descent parser over data. path holds the member
// names and array indices leading to the current value, for errors only.
type parser struct {
	data []byte
	i    int
	path []step // where the parser is, for an error's pointer
	// names interns member names: a bulk payload repeats a few names
	// 100,000s of times, and one string each would be that much garbage.
	names map[string]string
	// seen holds, per depth, the member names of the object Validate is
	// checking for duplicates there (reused from object to object).
	seen []map[string]struct{}
}

// step is one element of the parser's path: a member name, or an array
// index when member is false. (A []any would box every step on the heap.)
type step struct {
	name   string
	index  int
	member bool
}

func (p *parser) fail(format string, args ...any) *Error {
	return &Error{Pointer: p.pointer(), Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

// pointer renders path as a JSON Pointer, escaping "~" and "/".
func (p *parser) pointer() string {
	var b strings.Builder
	for _, s := range p.path {
		b.WriteByte('/')
		if s.member {
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s.name))
		} else {
			b.WriteString(strconv.Itoa(s.index))
		}
	}
	return b.String()
}

func (p *parser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	if p.i >= len(p.data) {
		return nil, p.fail("unexpected end of input")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.fail("invalid character %s looking for a value", quoteByte(c))
	}
}

func (p *parser) literal(word string) error {
	if !bytes.HasPrefix(p.data[p.i:], []byte(word)) {
		return p.fail("invalid literal (expected %s)", word)
	}
	p.i += len(word)
	return nil
}

// enter counts a level of nesting, refusing one past MaxDepth.
func (p *parser) enter() error {
	if len(p.path) >= MaxDepth {
		return p.fail("nested more than %d levels deep", MaxDepth)
	}
	return nil
}

func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // {
	obj := map[string]any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return obj, nil
	}
	for {
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.fail("expected a member name")
		}
		name, err := p.memberName()
		if err != nil {
			return nil, err
		}
		p.path = append(p.path, step{name: name, member: true})
		if _, dup := obj[name]; dup {
			return nil, p.fail("member given more than once")
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, p.fail("expected ':' after the member name")
		}
		p.i++
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		obj[name] = v
		p.path = p.path[:len(p.path)-1]
		if done, err := p.next('}'); done || err != nil {
			return obj, err
		}
	}
}

func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // [
	arr := []any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return arr, nil
	}
	for {
		p.path = append(p.path, step{index: len(arr)})
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.path = p.path[:len(p.path)-1]
		if done, err := p.next(']'); done || err != nil {
			return arr, err
		}
	}
}

// next consumes the "," before another element or the closing bracket,
// reporting whether the closing bracket came.
func (p *parser) next(closing byte) (bool, error) {
	p.space()
	if p.i >= len(p.data) {
		return false, p.fail("unexpected end of input")
	}
	switch p.data[p.i] {
	case closing:
		p.i++
		return true, nil
	case ',':
		p.i++
		p.space()
		return false, nil
	}
	return false, p.fail("invalid character %s after a value (expected ',' or '%c')", quoteByte(p.data[p.i]), closing)
}

// str parses a string. Text without escapes is sliced out whole.
// memberName reads a member name, interned in p.names.
func (p *parser) memberName() (string, error) {
	raw, s, err := p.strRaw()
	if raw == nil {
		return s, err // escaped (or bad): rare, not interned
	}
	if s, ok := p.names[string(raw)]; ok { // no allocation for the lookup
		return s, nil
	}
	if p.names == nil {
		p.names = map[string]string{}
	}
	s = string(raw)
	p.names[s] = s
	return s, nil
}

func (p *parser) str() (string, error) {
	raw, s, err := p.strRaw()
	if raw != nil {
		return string(raw), nil
	}
	return s, err
}

// strRaw reads a string: its bytes in the input when it holds no escape
// (non-nil, even when empty), else the decoded string.
func (p *parser) strRaw() ([]byte, string, error) {
	p.i++ // "
	start := p.i
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			raw := p.data[start:p.i]
			p.i++
			return raw, "", nil
		case c == '\\':
			s, err := p.escaped(start)
			return nil, s, err
		case c < 0x20:
			return nil, "", p.fail("control character %s in a string", quoteByte(c))
		case c < utf8.RuneSelf:
			p.i++
		default:
			if err := p.rune(); err != nil {
				return nil, "", err
			}
		}
	}
	return nil, "", p.fail("unterminated string")
}

// rune consumes one multi-byte UTF-8 character, refusing invalid UTF-8.
func (p *parser) rune() error {
	r, size := utf8.DecodeRune(p.data[p.i:])
	if r == utf8.RuneError && size <= 1 {
		return p.fail("invalid UTF-8 in a string")
	}
	p.i += size
	return nil
}

// escaped finishes a string that holds escapes, from its start.
func (p *parser) escaped(start int) (string, error) {
	b := append([]byte(nil), p.data[start:p.i]...)
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			b = utf8.AppendRune(b, r)
		case c < 0x20:
			return "", p.fail("control character %s in a string", quoteByte(c))
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			from := p.i
			if err := p.rune(); err != nil {
				return "", err
			}
			b = append(b, p.data[from:p.i]...)
		}
	}
	return "", p.fail("unterminated string")
}

// escape decodes one escape sequence; a surrogate must be a whole pair.
func (p *parser) escape() (rune, error) {
	if p.i+1 >= len(p.data) {
		return 0, p.fail("unterminated string")
	}
	c := p.data[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := p.hex4()
		if err != nil || !utf16.IsSurrogate(r) {
			return r, err
		}
		if r < 0xdc00 && p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
			p.i += 2
			lo, err := p.hex4()
			if err != nil {
				return 0, err
			}
			if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
				return pair, nil
			}
		}
		return 0, p.fail("\\u escape of a lone UTF-16 surrogate")
	}
	p.i--
	return 0, p.fail("invalid escape %s in a string", quoteByte(c))
}

func (p *parser) hex4() (rune, error) {
	if p.i+4 > len(p.data) {
		return 0, p.fail("truncated \\u escape")
	}
	var r rune
	for _, c := range p.data[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, p.fail("invalid \\u escape")
		}
	}
	p.i += 4
	return r, nil
}

// number parses a number as json.Number.
func (p *parser) number() (any, error) {
	start := p.i
	if err := p.numberText(); err != nil {
		return nil, err
	}
	return json.Number(p.data[start:p.i]), nil
}

// numberText consumes the JSON number grammar:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) numberText() error {
	if p.data[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.data) && p.data[p.i] == '0':
		p.i++
	case p.digits() == 0:
		return p.fail("invalid number")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return p.fail("invalid number: no digits after the decimal point")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return p.fail("invalid number: no digits in the exponent")
		}
	}
	return nil
}

func (p *parser) digits() int {
	n := 0
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
