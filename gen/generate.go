// Package gen holds the Go structs, enums and schema that ygot generates
// from NetReady's YANG modules. A *gen.Device is the root of the data tree:
// it holds backends, hosts, sites, connections and tenants, together with
// the augmentations of the service modules (L3VPNs, L2 networks, the site
// of a host).
//
// Everything in netready.go is generated from every module in ../yang by
// `make gen` (which runs `go generate ./gen/`); do not edit it by hand. To
// change the schema, edit or add a module in yang/ and regenerate.
//
// The generator is ygot's, pinned as a Go tool in go.mod. The directive
// below compiles every ../yang/*.yang (sorted in the C locale) into a
// temporary file, then internal/gentidy removes what would differ between
// runs and machines (the module-cache directory in the header, the
// map-order-dependent order of augments in the embedded schema) and gofmts
// it into netready.go: the same modules always give byte-identical output.
// netready.go is replaced only when every step succeeds.
package gen

//go:generate sh -c "LC_ALL=C go tool generator -path=../yang -output_file=netready.go.tmp -package_name=gen -generate_fakeroot -fakeroot_name=device -compress_paths=false -include_schema -generate_getters -generate_leaf_getters -generate_append -generate_delete -generate_simple_unions -typedef_enum_with_defmod -shorten_enum_leaf_names -include_model_data ../yang/*.yang && go run ./internal/gentidy netready.go.tmp netready.go && rm -f netready.go.tmp"
