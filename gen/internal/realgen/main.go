// Command realgen writes a typed view of the server's configuration tree:
// accessors for exactly the lists, containers and leaves a reader declares
// it reads (a reads.txt), checked against the built-in YANG modules.
// gen/realization (what route computation reads) and gen/sites (what the
// BGP speaker and the inter-site tunnels read) are its output; `make gen`
// runs it through the go:generate directive in each one's doc.go.
//
// The modules are loaded with server/schema, the loader the server itself
// uses, so the generated code sees the data nodes the server stores
// (choices flattened, leafrefs resolved to their target's type). The
// output depends only on its two inputs: the same modules and declaration
// always give byte-identical, gofmt'd code.
//
// Usage:
//
//	go run ./gen/internal/realgen -yang DIR -in reads.txt -package NAME -out FILE.go
package main

import (
	"bufio"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/netready/netready/server/schema"
)

func main() {
	yangDir := flag.String("yang", "", "directory of the built-in YANG modules")
	in := flag.String("in", "", "the declaration of what the reader reads")
	pkg := flag.String("package", "", "the Go package of the file to write")
	out := flag.String("out", "", "the Go file to write")
	flag.Parse()
	if *yangDir == "" || *in == "" || *pkg == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: realgen -yang DIR -in FILE -package NAME -out FILE")
		os.Exit(2)
	}
	if err := run(*yangDir, *in, *pkg, *out); err != nil {
		fmt.Fprintln(os.Stderr, "realgen:", err)
		os.Exit(1)
	}
}

func run(yangDir, in, pkg, out string) error {
	sch, err := schema.LoadFS(os.DirFS(yangDir))
	if err != nil {
		return err
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	decls, err := parse(f, in)
	if err != nil {
		return err
	}
	m, err := resolve(sch, decls)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	src, err := format.Source(emit(m, pkg, filepath.Base(in)))
	if err != nil {
		return fmt.Errorf("gofmt: %w", err)
	}
	return os.WriteFile(out, src, 0o644)
}

// decl is one line of the declaration: a Go type for the list or
// container at path, and the leaves read of it.
type decl struct {
	line   int
	typ    string
	path   string
	leaves []string
}

// parse reads the declaration: blank lines and # comments are skipped.
func parse(r io.Reader, name string) ([]decl, error) {
	var out []decl
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 || !strings.HasPrefix(f[1], "/") {
			return nil, fmt.Errorf("%s: line %d: want TYPE /SCHEMA/PATH LEAF...", name, n)
		}
		out = append(out, decl{line: n, typ: f[0], path: f[1], leaves: f[2:]})
	}
	return out, sc.Err()
}
