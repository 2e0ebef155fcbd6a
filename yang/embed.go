// Package yang holds NetReady's compiled-in YANG modules. The server loads
// its schema from these files (embedded in the binary); `make gen` checks
// what realization reads of them and writes its typed accessors
// (gen/realization).
package yang

import "embed"

// Files holds every module in this directory.
//
//go:embed *.yang
var Files embed.FS
