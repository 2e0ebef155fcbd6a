package xpath

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tNumber
	tString
	tName     // NCName or QName (prefix:local), also prefix:*
	tFuncName // a name followed by "(" (function or node type)
	tAxis     // a name followed by "::"
	tStar     // * as a name test
	tMul      // * as the multiply operator
	tAnd
	tOr
	tDiv
	tMod
	tSlash
	tSlash2
	tDot
	tDot2
	tAt
	tComma
	tLParen
	tRParen
	tLBrack
	tRBrack
	tPipe
	tPlus
	tMinus
	tEq
	tNeq
	tLt
	tLe
	tGt
	tGe
	tColon2
	tDollar
)

var tokNames = [...]string{
	tEOF: "end of expression", tNumber: "number", tString: "string", tName: "name",
	tFuncName: "function name", tAxis: "axis", tStar: "*", tMul: "*",
	tAnd: "and", tOr: "or", tDiv: "div", tMod: "mod", tSlash: "/", tSlash2: "//",
	tDot: ".", tDot2: "..", tAt: "@", tComma: ",", tLParen: "(", tRParen: ")",
	tLBrack: "[", tRBrack: "]", tPipe: "|", tPlus: "+", tMinus: "-", tEq: "=",
	tNeq: "!=", tLt: "<", tLe: "<=", tGt: ">", tGe: ">=", tColon2: "::", tDollar: "$",
}

func (k tokKind) String() string {
	if int(k) < len(tokNames) {
		return tokNames[k]
	}
	return fmt.Sprintf("token(%d)", k)
}

type token struct {
	kind tokKind
	pos  int    // byte offset in the expression
	text string // names, literals
	num  float64
}

// isOperatorLike reports whether a token, when it precedes a name or "*",
// makes that name an operand rather than an operator (XPath 1.0 section
// 3.7 disambiguation).
func isOperandStart(prev tokKind, first bool) bool {
	if first {
		return true
	}
	switch prev {
	case tAt, tColon2, tLParen, tLBrack, tComma,
		tAnd, tOr, tDiv, tMod, tMul, tSlash, tSlash2, tPipe, tPlus, tMinus,
		tEq, tNeq, tLt, tLe, tGt, tGe, tDollar:
		return true
	}
	return false
}

// lex splits an expression into tokens.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		prev, first := tEOF, len(toks) == 0
		if !first {
			prev = toks[len(toks)-1].kind
		}
		start := i
		c := s[i]
		emit := func(k tokKind, n int) {
			toks = append(toks, token{kind: k, pos: start, text: s[start : start+n]})
			i = start + n
		}
		switch {
		case c == '(':
			emit(tLParen, 1)
		case c == ')':
			emit(tRParen, 1)
		case c == '[':
			emit(tLBrack, 1)
		case c == ']':
			emit(tRBrack, 1)
		case c == ',':
			emit(tComma, 1)
		case c == '@':
			emit(tAt, 1)
		case c == '|':
			emit(tPipe, 1)
		case c == '+':
			emit(tPlus, 1)
		case c == '-':
			emit(tMinus, 1)
		case c == '=':
			emit(tEq, 1)
		case c == '$':
			emit(tDollar, 1)
		case c == '!':
			if strings.HasPrefix(s[i:], "!=") {
				emit(tNeq, 2)
			} else {
				return nil, &syntaxError{pos: i, msg: "unexpected '!'"}
			}
		case c == '<':
			if strings.HasPrefix(s[i:], "<=") {
				emit(tLe, 2)
			} else {
				emit(tLt, 1)
			}
		case c == '>':
			if strings.HasPrefix(s[i:], ">=") {
				emit(tGe, 2)
			} else {
				emit(tGt, 1)
			}
		case c == '/':
			if strings.HasPrefix(s[i:], "//") {
				emit(tSlash2, 2)
			} else {
				emit(tSlash, 1)
			}
		case c == ':':
			if strings.HasPrefix(s[i:], "::") {
				emit(tColon2, 2)
			} else {
				return nil, &syntaxError{pos: i, msg: "unexpected ':'"}
			}
		case c == '*':
			if isOperandStart(prev, first) {
				emit(tStar, 1)
			} else {
				emit(tMul, 1)
			}
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, &syntaxError{pos: i, msg: "unterminated string literal"}
			}
			toks = append(toks, token{kind: tString, pos: start, text: s[i+1 : i+1+j]})
			i += j + 2
		case c == '.' && i+1 < len(s) && s[i+1] == '.':
			emit(tDot2, 2)
		case c == '.' && !(i+1 < len(s) && isDigit(s[i+1])):
			emit(tDot, 1)
		case isDigit(c) || c == '.':
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '.' {
				j++
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
			toks = append(toks, token{kind: tNumber, pos: start, text: s[i:j], num: parseNumber(s[i:j])})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			if !isNameStart(r) {
				return nil, &syntaxError{pos: i, msg: fmt.Sprintf("unexpected character %q", r)}
			}
			j := scanNCName(s, i)
			name := s[i:j]
			if !isOperandStart(prev, first) {
				// An operator name.
				var k tokKind
				switch name {
				case "and":
					k = tAnd
				case "or":
					k = tOr
				case "div":
					k = tDiv
				case "mod":
					k = tMod
				default:
					return nil, &syntaxError{pos: i, msg: fmt.Sprintf("expected an operator, found %q", name)}
				}
				emit(k, j-i)
				continue
			}
			// QName or prefix:*
			if j+1 < len(s) && s[j] == ':' && s[j+1] != ':' {
				if s[j+1] == '*' {
					j += 2
					toks = append(toks, token{kind: tName, pos: start, text: s[i:j]})
					i = j
					continue
				}
				r2, _ := utf8.DecodeRuneInString(s[j+1:])
				if isNameStart(r2) {
					j = scanNCName(s, j+1)
				}
			}
			name = s[i:j]
			k := tName
			// Look past whitespace for "(" or "::".
			m := j
			for m < len(s) && isSpace(s[m]) {
				m++
			}
			switch {
			case strings.HasPrefix(s[m:], "::"):
				k = tAxis
			case m < len(s) && s[m] == '(':
				k = tFuncName
			}
			toks = append(toks, token{kind: k, pos: start, text: name})
			i = j
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isNameStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r)
}

func isNameChar(r rune) bool {
	return r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) ||
		unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || r == 0xB7
}

// scanNCName returns the end of the NCName starting at i.
func scanNCName(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || !isNameChar(r) {
			break
		}
		i += n
	}
	return i
}

// syntaxError is a parse error at a byte offset of the expression.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("at offset %d: %s", e.pos, e.msg) }
