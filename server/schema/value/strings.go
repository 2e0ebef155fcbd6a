package value

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/openconfig/goyang/pkg/yang"
)

// checkString validates a value of a string type: legal characters, length
// in characters, and patterns.
func checkString(t *yang.YangType, s string) error {
	n, bad := countChars(s)
	if bad >= 0 {
		return fmt.Errorf("%s contains a character not allowed in a YANG string at byte %d", quote(s), bad)
	}
	if !inRange(t.Length, false, uint64(n), 0) {
		return fmt.Errorf("length %d of %s out of range %s", n, quote(s), t.Length)
	}
	return checkPatterns(t, s)
}

// countChars returns the number of characters of s (YANG lengths count
// characters, not bytes) and the offset of the first byte that is not a
// legal YANG character (RFC 7950 9.4: the XML 1.0 Char production: tab, CR,
// LF and Unicode except other C0 controls, surrogates, U+FFFE and U+FFFF),
// or -1. Invalid UTF-8 is illegal too.
func countChars(s string) (n, bad int) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return n, i
			}
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			return n, i
		}
		n++
		i += size
	}
	return n, -1
}

// checkEnum validates an enumeration name.
func checkEnum(t *yang.YangType, s string) error {
	if t.Enum == nil || !t.Enum.IsDefined(s) {
		return fmt.Errorf("%s is not one of %s", quote(s), enumNames(t.Enum))
	}
	return nil
}

// enumNames lists the names of e in value order (the declaration order
// unless values are given explicitly), for error messages.
func enumNames(e *yang.EnumType) string {
	if e == nil || len(e.ToInt) == 0 {
		return "(no enum values defined)"
	}
	type named struct {
		v    int64
		name string
	}
	names := make([]named, 0, len(e.ToInt))
	for name, v := range e.ToInt {
		names = append(names, named{v, name})
	}
	slices.SortFunc(names, func(a, b named) int {
		if a.v != b.v {
			return cmpInt64(a.v, b.v)
		}
		return strings.Compare(a.name, b.name)
	})
	list := make([]string, len(names))
	for i, n := range names {
		list[i] = n.name
	}
	return joinLimited(list)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// joinLimited joins names for an error message, eliding long lists.
func joinLimited(list []string) string {
	const max = 16
	if len(list) > max {
		return strings.Join(list[:max], ", ") + fmt.Sprintf(", ... (%d more)", len(list)-max)
	}
	return strings.Join(list, ", ")
}

// parseBits validates a bits value: bit names separated by whitespace. It
// returns the canonical form (single spaces, position order, no duplicates),
// which is s itself when s is already canonical.
func parseBits(t *yang.YangType, s string) (string, error) {
	if t.Bit == nil {
		return "", fmt.Errorf("bits type has no bits defined")
	}
	canonical := true
	prev := int64(-1)
	i := 0 // end of the previous field
	for name, start, ok := nextField(s, 0); ok; name, start, ok = nextField(s, i) {
		pos, defined := t.Bit.ToInt[name]
		if !defined {
			return "", fmt.Errorf("bit %s is not one of %s", quote(name), bitNames(t.Bit))
		}
		// Canonical: strictly increasing positions, no leading blank, one
		// space between names.
		sepOK := start == 0 || (i > 0 && start == i+1 && s[i] == ' ')
		if pos <= prev || !sepOK {
			canonical = false
		}
		prev = pos
		i = start + len(name)
	}
	if canonical && i == len(s) {
		return s, nil
	}
	return canonicalBits(t.Bit, s), nil
}

// nextField returns the next whitespace-separated field of s at or after
// offset from.
func nextField(s string, from int) (field string, start int, ok bool) {
	i := from
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return "", i, false
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], i, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// canonicalBits rebuilds a validated bits value in canonical form.
func canonicalBits(bits *yang.EnumType, s string) string {
	names := strings.Fields(s)
	slices.SortFunc(names, func(a, b string) int {
		if c := cmpInt64(bits.ToInt[a], bits.ToInt[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return strings.Join(slices.Compact(names), " ")
}

// bitNames lists the bits of b in position order, for error messages.
func bitNames(b *yang.EnumType) string {
	names := make([]string, 0, len(b.ToInt))
	for name := range b.ToInt {
		names = append(names, name)
	}
	slices.SortFunc(names, func(x, y string) int {
		if c := cmpInt64(b.ToInt[x], b.ToInt[y]); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	return joinLimited(names)
}

// parseIdentity resolves an identityref value given as "module:name",
// "prefix:name" or a bare "name" to the canonical "module:name" of an
// identity derived (directly or not) from the type's base. A bare name must
// be unambiguous among the derived identities.
func parseIdentity(t *yang.YangType, s string) (string, error) {
	base := t.IdentityBase
	if base == nil {
		return "", fmt.Errorf("identityref type has no base identity")
	}
	qual, name, qualified := strings.Cut(s, ":")
	if !qualified {
		name, qual = qual, ""
	}
	// goyang sorts Values by name (resolveIdentities), so the identities
	// called name are adjacent.
	vals := base.Values
	i := sort.Search(len(vals), func(i int) bool { return vals[i].Name >= name })
	var found *yang.Identity
	var foundModule string
	for ; i < len(vals) && vals[i].Name == name; i++ {
		mod := identityModule(vals[i])
		switch {
		case !qualified && found != nil:
			return "", fmt.Errorf("identity %s is ambiguous: defined in %s and %s", quote(s), foundModule, mod)
		case !qualified:
			found, foundModule = vals[i], mod
		case qual == mod:
			return s, nil // already canonical
		case found == nil && qual == identityPrefix(vals[i]):
			found, foundModule = vals[i], mod // a prefix is a fallback: module names win
		}
	}
	if found == nil {
		return "", fmt.Errorf("identity %s is not derived from %s", quote(s), identityModule(base)+":"+base.Name)
	}
	return foundModule + ":" + name, nil
}

// identityCount returns how many identities derived from base are called
// name (more than one only when several modules define the name).
func identityCount(base *yang.Identity, name string) int {
	if base == nil {
		return 0
	}
	vals := base.Values
	i := sort.Search(len(vals), func(i int) bool { return vals[i].Name >= name })
	n := 0
	for ; i < len(vals) && vals[i].Name == name; i++ {
		n++
	}
	return n
}

// identityModule returns the name of the module defining id; identities of a
// submodule belong to the module the submodule belongs to (RFC 7950 7.18).
func identityModule(id *yang.Identity) string {
	if id == nil || id.Parent == nil {
		return ""
	}
	m := yang.RootNode(id)
	if m == nil {
		return ""
	}
	if m.Kind() == "submodule" && m.BelongsTo != nil {
		return m.BelongsTo.Name
	}
	return m.Name
}

// identityPrefix returns the prefix of the module defining id.
func identityPrefix(id *yang.Identity) string {
	if id == nil || id.Parent == nil {
		return ""
	}
	if m := yang.RootNode(id); m != nil {
		return m.GetPrefix()
	}
	return ""
}

// parseBinary decodes base64 (RFC 7950 9.8.2). Padding is optional, since
// an unpadded value is unambiguous.
func parseBinary(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b2, nil
		}
		return nil, fmt.Errorf("%s is not valid base64: %v", quote(s), err)
	}
	return b, nil
}

// checkBinary checks the length of a binary value, in bytes.
func checkBinary(t *yang.YangType, b []byte) error {
	if !inRange(t.Length, false, uint64(len(b)), 0) {
		return fmt.Errorf("binary length %d out of range %s", len(b), t.Length)
	}
	return nil
}

// quote quotes s for an error message, shortening long values so that a
// 1 MB string does not produce a 1 MB error.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}
