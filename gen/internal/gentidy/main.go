// Command gentidy makes ygot's generated code reproducible. `make gen` runs
// it (from the go:generate directive in gen/generate.go) on the file the
// ygot generator writes, before that file replaces gen/netready.go.
//
// ygot's output varies in two ways that have nothing to do with the YANG
// modules:
//
//   - the header names the generator's source file by its absolute path,
//     which contains the local Go module cache directory;
//   - the embedded schema (ySchema, a gzipped JSON tree of yang.Entry)
//     lists, under each augmented node, the augments applied to it in the
//     order goyang happened to apply them, which follows Go map iteration
//     when several modules augment the same node (netready-l3vpn and
//     netready-l2network both augment /tenants/tenant).
//
// gentidy trims the path to its module-relative form, sorts every
// Augmented list into a fixed order, re-encodes the schema exactly as ygot
// does (the JSON round trip through yang.Entry is byte-exact), and gofmts
// the result.
//
// Usage:
//
//	go run ./internal/gentidy IN OUT
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"go/format"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"
	"github.com/openconfig/ygot/ygen"
)

// cachePath matches the local directory in front of ygot's module path.
var cachePath = regexp.MustCompile(`[^\s"]*/(github\.com/openconfig/ygot@)`)

const (
	schemaStart = "\tySchema = []byte{\n"
	schemaEnd   = "\n\t}\n"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gentidy IN OUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "gentidy:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	src = cachePath.ReplaceAll(src, []byte("$1"))
	if src, err = tidySchema(src); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if src, err = format.Source(src); err != nil {
		return fmt.Errorf("%s: gofmt: %w", in, err)
	}
	return os.WriteFile(out, src, 0o644)
}

// tidySchema rewrites the ySchema byte slice literal in src with a
// canonical encoding of the same schema.
func tidySchema(src []byte) ([]byte, error) {
	s := string(src)
	i := strings.Index(s, schemaStart)
	if i < 0 {
		return nil, fmt.Errorf("no ySchema literal found")
	}
	body := i + len(schemaStart)
	n := strings.Index(s[body:], schemaEnd)
	if n < 0 {
		return nil, fmt.Errorf("unterminated ySchema literal")
	}
	gz, err := parseBytes(s[body : body+n])
	if err != nil {
		return nil, err
	}
	js, err := gunzip(gz)
	if err != nil {
		return nil, fmt.Errorf("ySchema: %w", err)
	}
	root := &yang.Entry{}
	if err := json.Unmarshal(js, &root); err != nil {
		return nil, fmt.Errorf("ySchema: %w", err)
	}
	if err := sortAugmented(root); err != nil {
		return nil, err
	}
	// Same encoding as ygot's ygen.buildJSONTree and gogen.
	js, err = json.MarshalIndent(root, "", strings.Repeat(" ", 4))
	if err != nil {
		return nil, err
	}
	if gz, err = ygen.WriteGzippedByteSlice(js); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(s[:body])
	for k, line := range ygen.BytesToGoByteSlice(gz) {
		if k > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("\t\t")
		b.WriteString(line)
	}
	b.WriteString(s[body+n:])
	return []byte(b.String()), nil
}

// parseBytes reads a comma-separated list of 0xNN literals.
func parseBytes(lit string) ([]byte, error) {
	var out []byte
	for _, f := range strings.FieldsFunc(lit, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n'
	}) {
		v, err := strconv.ParseUint(f, 0, 8)
		if err != nil {
			return nil, fmt.Errorf("ySchema literal: %w", err)
		}
		out = append(out, byte(v))
	}
	return out, nil
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// sortAugmented orders every Augmented list in the tree by the JSON
// encoding of its entries, recursively.
func sortAugmented(e *yang.Entry) error {
	if e == nil {
		return nil
	}
	if len(e.Augmented) > 1 {
		keys := make(map[*yang.Entry]string, len(e.Augmented))
		for _, a := range e.Augmented {
			j, err := json.Marshal(a)
			if err != nil {
				return err
			}
			keys[a] = string(j)
		}
		sort.SliceStable(e.Augmented, func(i, j int) bool {
			return keys[e.Augmented[i]] < keys[e.Augmented[j]]
		})
	}
	for _, a := range e.Augmented {
		if err := sortAugmented(a); err != nil {
			return err
		}
	}
	for _, ch := range e.Dir {
		if err := sortAugmented(ch); err != nil {
			return err
		}
	}
	return nil
}
