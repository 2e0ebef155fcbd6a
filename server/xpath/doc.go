// Package xpath compiles and evaluates the XPath 1.0 subset that YANG must
// and when statements use (RFC 7950 6.4, 7.5.3, 7.21.5), directly on the
// server's data tree (server/tree), for every module the schema holds:
// compiled-in and loaded at run time alike.
//
// Compile resolves an expression against the schema once, at load time:
// every step must name a data node (prefixes resolve through the imports
// of the module the statement is written in), every function must be
// known, identities named by derived-from() must exist and patterns of
// re-match() must be usable. A typo or anything outside the subset is an
// *Error naming the statement's file:line, the offset in the expression
// and the reason. The compiled Expr also knows which schema nodes it reads
// (Reads) and how far above its context node it reads (Up), which the
// validator uses to re-evaluate it when what it reads changes.
//
// Evaluation walks the copy-on-write tree, which has no parent pointers:
// the context node is given as a chain from the root (Input), and every
// node of a node-set links to the node it was reached from so that ".."
// works. A predicate that fixes the keys of a list ([name = current()/../x])
// is answered by a B-tree lookup instead of a scan. Evaluation never
// panics and is bounded by MaxSteps.
//
// Supported: location paths (absolute and relative) with the child,
// parent and self axes, abbreviated "." and "..", name tests (prefixed or
// not), "*" and node(); predicates (not positional); filter expressions
// such as current()/../x and deref(x)/../y; the union operator "|";
// string and number literals; = != < <= > >= with XPath 1.0 node-set
// semantics; and, or; + - * div mod and unary minus; the functions
// current, count, string, concat, starts-with, contains, substring,
// substring-before, substring-after, string-length, normalize-space,
// translate, boolean, not, true, false, number, sum, floor, ceiling, round,
// and YANG's re-match, deref, derived-from, derived-from-or-self,
// enum-value and bit-is-set. Not supported (compile errors): other axes,
// "//", "@", variables, positional predicates, last(), position(), the
// namespace functions, id(), lang(), and text()/comment()/
// processing-instruction() node tests.
//
// YANG specifics: the string value of a leaf is its canonical text (see
// server/schema/value); an identityref's is "module:identity", and a
// literal compared with identityref nodes is rewritten at compile time from
// the "prefix:identity" form of the expression's module to that form.
// Expressions on configuration see configuration only: config false nodes
// resolve but have no instances (RFC 7950 6.4.1).
package xpath
