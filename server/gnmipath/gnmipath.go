// Package gnmipath converts gNMI paths to and from their string form
// ("/a/b[k=v]/c"), as openconfig/reference rpc/gnmi/gnmi-path-strings.md
// specifies, so that every path the server prints (error messages, store
// row keys, telemetry keys, southbound paths) can be read back to the same
// path. It imports only the gNMI protos, so any package may use it.
//
// The form:
//
//   - An absolute path is "/" followed by its elements joined with "/";
//     the empty path is "/".
//   - An element is its name followed by "[key=value]" for each key,
//     sorted by key name.
//   - Inside a key value only `]` and `\` are escaped, by a preceding `\`;
//     a newline is written `\n` and a carriage return `\r`. A `/`, `[` or
//     `=` in a value stays as it is: "/foo[name=[\\\]]" is the key value `[\]`.
//   - The spec leaves names unescaped, since YANG identifiers never hold
//     these characters; so that every path still reads back, `/`, `[`,
//     `]`, `=` and `\` in element and key names are escaped the same way.
//
// Parse also reads `\uXXXX` and `\UXXXXXXXX` as a Unicode character (the
// spec allows it; String keeps UTF-8 as it is) and `\` before any other
// character as that character, so strings from ygot (which also escapes
// `=`) read back too.
package gnmipath

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// escapes reports whether c is written escaped: `\n` and `\r` for newline
// and carriage return, a preceding `\` for `]` and `\`, and in names
// (inName) for `/`, `[` and `=` too.
func escapes(c byte, inName bool) bool {
	switch c {
	case '\n', '\r', ']', '\\':
		return true
	case '/', '[', '=':
		return inName
	}
	return false
}

// String returns the string form of elems ("/" for none). gNMI forbids
// empty element and key names; String writes them as nothing, so such a
// path does not read back (Parse refuses it).
func String(elems []*gpb.PathElem) string {
	if len(elems) == 0 {
		return "/"
	}
	return string(AppendString(make([]byte, 0, 16*len(elems)), elems))
}

// AppendString appends the string form of elems to dst ("/" for none).
func AppendString(dst []byte, elems []*gpb.PathElem) []byte {
	if len(elems) == 0 {
		return append(dst, '/')
	}
	for _, e := range elems {
		dst = AppendName(dst, e.GetName())
		kv := e.GetKey()
		if len(kv) == 1 {
			for k, v := range kv {
				dst = AppendKey(dst, k, v)
			}
			continue
		}
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			dst = AppendKey(dst, k, kv[k])
		}
	}
	return dst
}

// AppendName appends "/" and the escaped element name to dst: the start of
// one element, for callers that hold keys in another form than a map. Its
// keys must follow, sorted by key name.
func AppendName(dst []byte, name string) []byte {
	return appendEscaped(append(dst, '/'), name, true)
}

// AppendKey appends one escaped "[name=value]" to dst.
func AppendKey(dst []byte, name, value string) []byte {
	dst = appendEscaped(append(dst, '['), name, true)
	dst = appendEscaped(append(dst, '='), value, false)
	return append(dst, ']')
}

// appendEscaped appends s to dst, escaped as a name (inName) or a key
// value. It tests each byte with escapes rather than strings.ContainsAny,
// which built its set of characters on every call: every path the server
// prints passes here, 100,000s of times in a bulk Set.
func appendEscaped(dst []byte, s string, inName bool) []byte {
	i := 0
	for i < len(s) && !escapes(s[i], inName) {
		i++
	}
	dst = append(dst, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case escapes(c, inName):
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Parse returns the elements of the path string s ("" and "/" are the
// empty path; the leading "/" is optional). Element and key names must not
// be empty, nor a key be given twice; a key value may be empty. Elements
// without keys have a nil Key map.
func Parse(s string) ([]*gpb.PathElem, error) {
	p := parser{s: s}
	if p.peek() == '/' {
		p.i++
	}
	if p.i == len(s) {
		return nil, nil
	}
	var elems []*gpb.PathElem
	for {
		e, err := p.elem()
		if err != nil {
			return nil, fmt.Errorf("path %s: %w", s, err)
		}
		elems = append(elems, e)
		if p.i == len(s) {
			return elems, nil
		}
		p.i++ // the '/' that ended the element
	}
}

type parser struct {
	s string
	i int
}

// peek returns the byte at the read position, 0 at the end.
func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// elem reads one element up to the '/' after it or the end.
func (p *parser) elem() (*gpb.PathElem, error) {
	at := p.i
	name, err := p.text("/[]")
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("offset %d: empty element name", at)
	}
	e := &gpb.PathElem{Name: name}
	for p.peek() == '[' {
		p.i++
		at = p.i
		k, err := p.text("=]")
		if err != nil {
			return nil, err
		}
		if p.peek() != '=' {
			return nil, fmt.Errorf("offset %d: key of %s without '='", at, name)
		}
		if k == "" {
			return nil, fmt.Errorf("offset %d: empty key name in %s", at, name)
		}
		p.i++
		v, err := p.text("]")
		if err != nil {
			return nil, err
		}
		if p.peek() != ']' {
			return nil, fmt.Errorf("offset %d: key %s of %s has no closing ']'", at, k, name)
		}
		p.i++
		if _, dup := e.Key[k]; dup {
			return nil, fmt.Errorf("offset %d: key %s of %s given twice", at, k, name)
		}
		if e.Key == nil {
			e.Key = map[string]string{}
		}
		e.Key[k] = v
	}
	if c := p.peek(); c != '/' && c != 0 {
		return nil, fmt.Errorf("offset %d: unexpected %q after element %s", p.i, c, name)
	}
	return e, nil
}

// text reads unescaped text up to the first unescaped byte of stop or the
// end, leaving the position on that byte.
func (p *parser) text(stop string) (string, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '\\' && strings.IndexByte(stop, p.s[p.i]) < 0 {
		p.i++
	}
	if p.i == len(p.s) || p.s[p.i] != '\\' {
		return p.s[start:p.i], nil // no escapes: no copy
	}
	b := []byte(p.s[start:p.i])
	for p.i < len(p.s) && strings.IndexByte(stop, p.s[p.i]) < 0 {
		if p.s[p.i] != '\\' {
			b = append(b, p.s[p.i])
			p.i++
			continue
		}
		var err error
		if b, err = p.escape(b); err != nil {
			return "", err
		}
	}
	return string(b), nil
}

// escape decodes the escape sequence at the read position onto b.
func (p *parser) escape(b []byte) ([]byte, error) {
	at := p.i
	p.i++
	if p.i == len(p.s) {
		return nil, fmt.Errorf("offset %d: '\\' at the end", at)
	}
	c := p.s[p.i]
	p.i++
	switch c {
	case 'n':
		return append(b, '\n'), nil
	case 'r':
		return append(b, '\r'), nil
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.i+n > len(p.s) {
			return nil, fmt.Errorf("offset %d: \\%c needs %d hex digits", at, c, n)
		}
		r, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
		if err != nil || !utf8.ValidRune(rune(r)) {
			return nil, fmt.Errorf("offset %d: \\%c%s is not a Unicode character", at, c, p.s[p.i:p.i+n])
		}
		p.i += n
		return utf8.AppendRune(b, rune(r)), nil
	}
	return append(b, c), nil
}
