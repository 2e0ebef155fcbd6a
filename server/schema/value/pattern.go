package value

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/openconfig/goyang/pkg/yang"
)

// InvertMatchPrefix marks, in YangType.Pattern, a pattern declared with
// "modifier invert-match" (RFC 7950 9.4.6): the value must NOT match it.
// goyang drops the modifier; RepairPatterns records it with this prefix,
// which cannot clash with a real pattern because YANG text cannot contain
// NUL.
const InvertMatchPrefix = "\x00invert-match\x00"

// posixKey prefixes cache keys of openconfig posix-pattern expressions, which
// are Go/POSIX syntax and must not go through the XSD translation.
const posixKey = "\x00posix\x00"

// compiled is one cache entry. A pattern that cannot be translated or
// compiled is cached with its error, so every value checked against it fails
// with the same explanation instead of being silently accepted.
type compiled struct {
	re  *regexp.Regexp
	err error
}

// patternCache maps a pattern string (XSD, or posixKey+POSIX) to *compiled.
// Entries are immutable once stored; compiling the same pattern twice under a
// race is harmless.
var patternCache sync.Map

// compilePattern returns the cached compilation of an XSD pattern.
func compilePattern(key string) *compiled {
	if c, ok := patternCache.Load(key); ok {
		return c.(*compiled)
	}
	c := &compiled{}
	var src string
	if p, ok := strings.CutPrefix(key, posixKey); ok {
		src = p
	} else {
		src, c.err = translateXSD(key)
	}
	if c.err == nil {
		c.re, c.err = regexp.Compile(`^(?:` + src + `)$`)
	}
	actual, _ := patternCache.LoadOrStore(key, c)
	return actual.(*compiled)
}

// checkPatterns checks s against every pattern of t. goyang accumulates the
// patterns of all typedef levels into t.Pattern (see RepairPatterns for a
// goyang bug that can corrupt the list), and RFC 7950 requires all of them to
// match. openconfig posix-pattern expressions are used only when the type has
// no standard pattern, since openconfig publishes both forms of the same
// expression.
func checkPatterns(t *yang.YangType, s string) error {
	if len(t.Pattern) > 0 {
		for _, p := range t.Pattern {
			if err := matchPattern(p, s); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range t.POSIXPattern {
		c := compilePattern(posixKey + p)
		if c.err != nil {
			return fmt.Errorf("posix-pattern %q cannot be used: %v", p, c.err)
		}
		if !c.re.MatchString(s) {
			return &patternError{value: s, pattern: p}
		}
	}
	return nil
}

// matchPattern checks s against one entry of YangType.Pattern.
func matchPattern(p, s string) error {
	key, invert := strings.CutPrefix(p, InvertMatchPrefix)
	c := compilePattern(key)
	switch {
	case c.err != nil:
		return fmt.Errorf("pattern %q is not supported: %v", key, c.err)
	case c.re.MatchString(s) == invert:
		return &patternError{value: s, pattern: key, invert: invert}
	}
	return nil
}

// patternError is a pattern mismatch. It is formatted only when printed:
// union members are tried in turn and most of their errors are discarded,
// and quoting a long pattern (an IPv6 address pattern is ~1 KB) would
// dominate the cost of parsing.
type patternError struct {
	value, pattern string
	invert         bool
}

func (e *patternError) Error() string {
	if e.invert {
		return fmt.Sprintf("%s matches the invert-match pattern %q", quote(e.value), e.pattern)
	}
	return fmt.Sprintf("%s does not match pattern %q", quote(e.value), e.pattern)
}

// translateXSD rewrites an XML Schema regular expression (the language of
// YANG patterns, RFC 7950 9.4.5) into Go regexp syntax with the same
// meaning. The differences handled are: ^ and $ are ordinary characters in
// XSD; "." excludes \r as well as \n; \d, \w, \s, \i, \c have XSD (mostly
// Unicode) definitions; character class subtraction [a-z-[aeiou]]; a few
// \p{IsBlock} escapes. Anything else Go cannot express (back-references,
// unknown blocks, repeat counts above 1000) is an error.
func translateXSD(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		switch c {
		case '\\':
			esc, n, err := xsdEscape(p[i:], false)
			if err != nil {
				return "", err
			}
			b.WriteString(esc)
			i += n
		case '[':
			cls, n, err := xsdClass(p[i:], 0)
			if err != nil {
				return "", err
			}
			b.WriteString(cls)
			i += n
		case '.':
			b.WriteString(`[^\n\r]`)
			i++
		case '^', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
			i++
		case '(':
			if i+1 < len(p) && p[i+1] == '?' {
				return "", fmt.Errorf("'(?' is not XSD syntax")
			}
			b.WriteString("(?:") // no captures needed; cheaper to match
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// xsdEscape translates the escape at the start of s ("\x...") and returns the
// Go text and the number of bytes consumed. In a class (inClass) the result
// is class-body text without brackets.
func xsdEscape(s string, inClass bool) (string, int, error) {
	if len(s) < 2 {
		return "", 0, fmt.Errorf("trailing backslash")
	}
	r, size := utf8.DecodeRuneInString(s[1:])
	n := 1 + size
	if lit, ok := singleCharEscape(r); ok {
		return goLiteral(lit), n, nil
	}
	switch r {
	case 'p', 'P':
		return xsdProperty(s, r == 'P', inClass)
	}
	set, ok := multiCharEscapes[r]
	if !ok {
		return "", 0, fmt.Errorf("unsupported escape \\%c", r)
	}
	if inClass {
		return set.body, n, nil
	}
	return "[" + set.body + "]", n, nil
}

// singleCharEscape maps XSD single-character escapes (and, leniently, any
// escaped ASCII punctuation, which authors often write, e.g. \$ or \/) to
// the character they stand for.
func singleCharEscape(r rune) (rune, bool) {
	switch r {
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	if r < utf8.RuneSelf && unicode.IsPunct(r) || r < utf8.RuneSelf && unicode.IsSymbol(r) {
		return r, true
	}
	return 0, false
}

// classBody is Go character-class body text (without brackets).
type classBody struct{ body string }

// multiCharEscapes are the XSD multi-character escapes as Go class bodies.
// Negated forms are precomputed as explicit ranges so they can be combined
// with other items inside a class.
var multiCharEscapes = map[rune]classBody{
	'd': {`\p{Nd}`},
	'D': {`\P{Nd}`},
	's': {`\x20\t\n\r`},
	'S': {mustComplement(`\x20\t\n\r`)},
	// \w is everything except punctuation, separators and "other" (XSD F.1.1).
	'w': {`\p{L}\p{M}\p{N}\p{S}`},
	'W': {`\p{P}\p{Z}\p{C}`},
	// \i and \c approximate XML 1.0 name characters with Unicode categories.
	'i': {`_:\p{L}\p{Nl}`},
	'I': {mustComplement(`_:\p{L}\p{Nl}`)},
	'c': {`\-._:\x{B7}\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}\p{Lm}`},
	'C': {mustComplement(`\-._:\x{B7}\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}\p{Lm}`)},
}

// xsdBlocks maps the XSD block escapes (\p{IsBlock}) that appear in practice
// to their code point ranges.
var xsdBlocks = map[string]string{
	"BasicLatin":           `\x00-\x7F`,
	"Latin-1Supplement":    `\x{80}-\x{FF}`,
	"LatinExtended-A":      `\x{100}-\x{17F}`,
	"LatinExtended-B":      `\x{180}-\x{24F}`,
	"GreekandCoptic":       `\x{370}-\x{3FF}`,
	"Cyrillic":             `\x{400}-\x{4FF}`,
	"GeneralPunctuation":   `\x{2000}-\x{206F}`,
	"CJKUnifiedIdeographs": `\x{4E00}-\x{9FFF}`,
}

// xsdProperty translates \p{X} or \P{X} at the start of s.
func xsdProperty(s string, negated, inClass bool) (string, int, error) {
	if len(s) < 3 || s[2] != '{' {
		return "", 0, fmt.Errorf("malformed \\p escape")
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", 0, fmt.Errorf("unterminated \\p{")
	}
	name := s[3:end]
	var body string
	if block, ok := strings.CutPrefix(name, "Is"); ok {
		rng, known := xsdBlocks[block]
		if !known {
			return "", 0, fmt.Errorf("unsupported block escape \\p{%s}", name)
		}
		body = rng
		if negated {
			body = mustComplement(body)
		}
	} else {
		if _, known := unicode.Categories[name]; !known {
			return "", 0, fmt.Errorf("unsupported category \\p{%s}", name)
		}
		body = `\p{` + name + `}`
		if negated {
			body = `\P{` + name + `}`
		}
	}
	if inClass {
		return body, end + 1, nil
	}
	return "[" + body + "]", end + 1, nil
}

// xsdClass translates the character class expression at the start of s
// ("[...]", possibly with a subtraction "-[...]") and returns Go text
// "[...]" and the bytes consumed.
func xsdClass(s string, depth int) (string, int, error) {
	if depth > 8 {
		return "", 0, fmt.Errorf("character class subtraction nested too deeply")
	}
	i := 1
	negated := false
	if i < len(s) && s[i] == '^' {
		negated = true
		i++
	}
	var body strings.Builder
	items := 0
	for {
		if i >= len(s) {
			return "", 0, fmt.Errorf("unterminated character class")
		}
		switch {
		case s[i] == ']':
			if items == 0 {
				return "", 0, fmt.Errorf("empty character class")
			}
			return wrapClass(body.String(), negated), i + 1, nil
		case s[i] == '-' && i+1 < len(s) && s[i+1] == '[':
			if items == 0 {
				return "", 0, fmt.Errorf("subtraction from an empty character class")
			}
			sub, n, err := xsdClass(s[i+1:], depth+1)
			if err != nil {
				return "", 0, err
			}
			i += 1 + n
			if i >= len(s) || s[i] != ']' {
				return "", 0, fmt.Errorf("character class subtraction must end the class")
			}
			cls, err := subtractClass(wrapClass(body.String(), negated), sub)
			return cls, i + 1, err
		case s[i] == '[':
			return "", 0, fmt.Errorf("unescaped '[' in character class")
		}
		text, n, err := xsdClassItem(s[i:])
		if err != nil {
			return "", 0, err
		}
		body.WriteString(text)
		i += n
		items++
	}
}

func wrapClass(body string, negated bool) string {
	if negated {
		return "[^" + body + "]"
	}
	return "[" + body + "]"
}

// xsdClassItem translates one class item: a character, a range "a-z", or an
// escape, returning class-body text.
func xsdClassItem(s string) (string, int, error) {
	lo, n, isChar, text, err := xsdClassAtom(s)
	if err != nil || !isChar {
		return text, n, err
	}
	// A '-' followed by a character (not '[' or ']') makes a range.
	if n+1 < len(s) && s[n] == '-' && s[n+1] != '[' && s[n+1] != ']' {
		hi, m, hiIsChar, _, err := xsdClassAtom(s[n+1:])
		if err != nil {
			return "", 0, err
		}
		if !hiIsChar {
			return "", 0, fmt.Errorf("range ends in a multi-character escape")
		}
		if hi < lo {
			return "", 0, fmt.Errorf("range %q-%q out of order", lo, hi)
		}
		return goLiteral(lo) + "-" + goLiteral(hi), n + 1 + m, nil
	}
	return goLiteral(lo), n, nil
}

// xsdClassAtom reads a single character (possibly escaped) or a
// multi-character escape at the start of s.
func xsdClassAtom(s string) (r rune, n int, isChar bool, text string, err error) {
	if s[0] != '\\' {
		r, n = utf8.DecodeRuneInString(s)
		return r, n, true, "", nil
	}
	if len(s) >= 2 {
		if lit, ok := singleCharEscape(rune(s[1])); ok {
			return lit, 2, true, "", nil
		}
	}
	text, n, err = xsdEscape(s, true)
	return 0, n, false, text, err
}

// goLiteral writes r so that it is a literal in any Go regexp context.
func goLiteral(r rune) string {
	if r < utf8.RuneSelf && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
		return string(r)
	}
	return fmt.Sprintf(`\x{%X}`, r)
}

// classRanges returns the rune ranges (lo, hi pairs) matched by a Go
// character class.
func classRanges(cls string) ([]rune, error) {
	re, err := syntax.Parse(cls, syntax.Perl)
	if err != nil {
		return nil, err
	}
	switch re.Op {
	case syntax.OpCharClass:
		return re.Rune, nil
	case syntax.OpLiteral:
		if len(re.Rune) == 1 {
			return []rune{re.Rune[0], re.Rune[0]}, nil
		}
	case syntax.OpAnyChar:
		return []rune{0, unicode.MaxRune}, nil
	case syntax.OpAnyCharNotNL:
		return []rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune}, nil
	case syntax.OpNoMatch:
		return nil, nil
	}
	return nil, fmt.Errorf("%s is not a character class", cls)
}

// subtractClass returns a Go class matching the characters of a but not b.
func subtractClass(a, b string) (string, error) {
	ra, err := classRanges(a)
	if err != nil {
		return "", err
	}
	rb, err := classRanges(b)
	if err != nil {
		return "", err
	}
	return rangesClass(subtractRanges(ra, rb)), nil
}

// subtractRanges removes the sorted ranges b from the sorted ranges a.
func subtractRanges(a, b []rune) []rune {
	var out []rune
	for i := 0; i+1 < len(a); i += 2 {
		lo, hi := a[i], a[i+1]
		for j := 0; j+1 < len(b) && lo <= hi; j += 2 {
			blo, bhi := b[j], b[j+1]
			if bhi < lo || blo > hi {
				continue
			}
			if blo > lo {
				out = append(out, lo, blo-1)
			}
			lo = bhi + 1
		}
		if lo <= hi {
			out = append(out, lo, hi)
		}
	}
	return out
}

// rangesClass renders rune ranges as a Go class; no ranges match nothing.
func rangesClass(r []rune) string {
	if len(r) == 0 {
		return `[^\x00-\x{10FFFF}]`
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i+1 < len(r); i += 2 {
		b.WriteString(goLiteral(r[i]))
		if r[i+1] != r[i] {
			b.WriteByte('-')
			b.WriteString(goLiteral(r[i+1]))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// mustComplement returns the class body matching every character not in
// body. It is used on constant inputs at init time only.
func mustComplement(body string) string {
	r, err := classRanges("[^" + body + "]")
	if err != nil {
		panic("value: bad built-in class " + body + ": " + err.Error())
	}
	cls := rangesClass(r)
	return cls[1 : len(cls)-1]
}
