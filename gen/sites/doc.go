// Package sites is the typed view of the site-level configuration: the
// BGP speaker (/bgp), the sites (/sites) and the connections between
// them (/connections), as southbound/bgp, southbound/interconnect and the
// daemon's site status read it. Like gen/realization, it is generated
// from a declaration (reads.txt) checked against the built-in modules, so
// a leaf renamed in YANG or misspelt in Go breaks `make gen-check` or the
// build instead of reading as "".
//
// It is a package of its own because gen/realization's ReadPaths are the
// leaves that route computation reads: a change to /bgp concerns the
// speaker, not the routes.
package sites

//go:generate go run ../internal/realgen -yang ../../yang -in reads.txt -package sites -out sites.go
