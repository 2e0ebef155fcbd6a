// Package yang holds NetReady's compiled-in YANG modules. The server loads
// its schema from these files (embedded in the binary), and `make gen`
// compiles the same files into Go structs under gen/.
package yang

import "embed"

// Files holds every module in this directory.
//
//go:embed *.yang
var Files embed.FS
