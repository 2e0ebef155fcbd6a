// Package realization is the typed view of the configuration tree that
// realization (southbound/desired) reads: one Go type per list or
// container it reads, one method per leaf, over the server's own
// schema-driven tree (server/tree), so nothing is copied or converted.
//
// reads.txt declares what realization reads; `make gen` (go generate)
// runs gen/internal/realgen, which checks every declared path against the
// built-in modules in yang/ and writes realization.go: the accessors, the
// enumerations as typed constants, and ReadPaths, the schema paths the
// accessors read. A leaf renamed in YANG makes `make gen-check` fail and,
// once regenerated, the code that calls the old accessor stop compiling;
// a misspelt accessor does not compile. desired.Filter and desired.Index
// judge what a transaction changes by ReadPaths, so the set of leaves
// that matter to realization is declared once.
//
// Modules loaded at run time have no types here: the server serves them
// through the schema-driven path alone.
package realization

//go:generate go run ../internal/realgen -yang ../../yang -in reads.txt -package realization -out realization.go
