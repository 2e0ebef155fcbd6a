package strictjson

// Validate checks data as Parse does, with Parse's error for the same
// text, without building the value: the tree decoder checks a payload
// first, then reads it straight into nodes (Reader), so a bulk Set's
// 1,000s of objects are never a map each.
func Validate(data []byte) error {
	p := &parser{data: data}
	return p.validate()
}

// validate checks the whole document from the start.
func (p *parser) validate() error {
	p.space()
	if err := p.skip(); err != nil {
		return err
	}
	p.space()
	if p.i < len(p.data) {
		return p.fail("trailing data after the value")
	}
	return nil
}

// skip is value without the value: the same checks in the same order, so
// the first error is the one Parse reports.
func (p *parser) skip() error {
	if p.i >= len(p.data) {
		return p.fail("unexpected end of input")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.skipObject()
	case c == '[':
		return p.skipArray()
	case c == '"':
		_, _, err := p.strRaw()
		return err
	case c == '-' || c >= '0' && c <= '9':
		return p.numberText()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.fail("invalid character %s looking for a value", quoteByte(c))
	}
}

// skipObject is object without the map. The names seen at each depth go
// in a set kept for the next object at that depth: cleared, not
// allocated again.
func (p *parser) skipObject() error {
	if err := p.enter(); err != nil {
		return err
	}
	p.i++ // {
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return nil
	}
	depth := len(p.path)
	for len(p.seen) <= depth {
		p.seen = append(p.seen, map[string]struct{}{})
	}
	seen := p.seen[depth]
	clear(seen)
	for {
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return p.fail("expected a member name")
		}
		name, err := p.memberName()
		if err != nil {
			return err
		}
		p.path = append(p.path, step{name: name, member: true})
		if _, dup := seen[name]; dup {
			return p.fail("member given more than once")
		}
		seen[name] = struct{}{}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return p.fail("expected ':' after the member name")
		}
		p.i++
		p.space()
		if err := p.skip(); err != nil {
			return err
		}
		p.path = p.path[:len(p.path)-1]
		if done, err := p.next('}'); done || err != nil {
			return err
		}
	}
}

// skipArray is array without the slice.
func (p *parser) skipArray() error {
	if err := p.enter(); err != nil {
		return err
	}
	p.i++ // [
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return nil
	}
	for n := 0; ; n++ {
		p.path = append(p.path, step{index: n})
		if err := p.skip(); err != nil {
			return err
		}
		p.path = p.path[:len(p.path)-1]
		if done, err := p.next(']'); done || err != nil {
			return err
		}
	}
}

// Kind is the JSON type of a value.
type Kind uint8

// The JSON types.
const (
	Object Kind = iota
	Array
	String
	Number
	Bool
	Null
)

// String names the kind as errors do: "an object", "a number".
func (k Kind) String() string {
	return [...]string{"an object", "an array", "a string", "a number", "a boolean", "null"}[k]
}

// Reader reads a document Validate accepted, value by value, at offsets
// the caller chooses: a decoder can look at an object's members (Members)
// before it reads any of their values, and read only the values it needs
// as Go values (Value). Its methods cannot meet a syntax error.
type Reader struct {
	p parser
}

// NewReader validates data (Validate's error when it is not valid) and
// returns a Reader at its value.
func NewReader(data []byte) (*Reader, error) {
	r := &Reader{p: parser{data: data}}
	if err := r.p.validate(); err != nil {
		return nil, err
	}
	r.p.i, r.p.path = 0, r.p.path[:0]
	r.p.space()
	return r, nil
}

// Seek moves to the value at offset at (a Member's or an element's).
func (r *Reader) Seek(at int) { r.p.i = at }

// Peek returns the kind of the value at the reader's offset.
func (r *Reader) Peek() Kind {
	switch c := r.p.data[r.p.i]; {
	case c == '{':
		return Object
	case c == '[':
		return Array
	case c == '"':
		return String
	case c == 't' || c == 'f':
		return Bool
	case c == 'n':
		return Null
	default:
		return Number
	}
}

// Value returns the value at the reader's offset as Parse would (a string,
// json.Number, bool, nil, or a map or slice of them), and moves past it.
func (r *Reader) Value() any {
	v, _ := r.p.value() // valid: NewReader checked it
	return v
}

// Member is one member of an object: its name and the offset of its value.
type Member struct {
	Name string
	At   int
}

// Members appends the members of the object at the reader's offset to
// dst, in document order (names unescaped; Validate refused duplicates),
// and moves past the object.
func (r *Reader) Members(dst []Member) []Member {
	p := &r.p
	p.i++ // {
	p.space()
	if p.data[p.i] == '}' {
		p.i++
		return dst
	}
	for {
		name, _ := p.memberName()
		p.space()
		p.i++ // :
		p.space()
		dst = append(dst, Member{Name: name, At: p.i})
		r.pass()
		p.space()
		if p.data[p.i] == '}' {
			p.i++
			return dst
		}
		p.i++ // ,
		p.space()
	}
}

// Elements appends the offsets of the elements of the array at the
// reader's offset to dst and moves past the array.
func (r *Reader) Elements(dst []int) []int {
	p := &r.p
	p.i++ // [
	p.space()
	if p.data[p.i] == ']' {
		p.i++
		return dst
	}
	for {
		dst = append(dst, p.i)
		r.pass()
		p.space()
		if p.data[p.i] == ']' {
			p.i++
			return dst
		}
		p.i++ // ,
		p.space()
	}
}

// pass moves past the valid value at the offset, looking only at what
// brackets, strings and scalars end it.
func (r *Reader) pass() {
	p := &r.p
	depth := 0
	for {
		switch p.data[p.i] {
		case '"':
			p.i++
			for p.data[p.i] != '"' {
				if p.data[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			p.i++
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			depth--
			p.i++
		default: // a number, a literal, or the space and separators inside a container
			p.i++
			for p.i < len(p.data) && !endsScalar(p.data[p.i]) {
				p.i++
			}
		}
		if depth == 0 {
			return
		}
	}
}

// endsScalar reports whether c ends a number or a literal.
func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r', '"', '{', '[', ':':
		return true
	}
	return false
}
