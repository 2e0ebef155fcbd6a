package tree

import (
	"encoding/json"
	"sort"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
)

// Size bounds on the paths and keys a client sends. They sit far above
// anything a model needs (the deepest NetReady path has 9 elements, the
// longest qualified name 41 bytes, key values are names of at most 64
// bytes, addresses and prefixes; TestBoundsAboveModels) and far below what costs anything: a request path is refused by
// its size before it is resolved, pattern-matched, authorized, logged or
// echoed, and every list key that reaches the store fits in a bbolt key
// (at most 32 KiB) with room to spare. docs/security.md, "Size bounds".
const (
	// MaxPathElems bounds the elements of a request path, prefix included.
	MaxPathElems = 64
	// MaxNameLen bounds an element or key name in bytes, module prefix
	// included (YANG identifiers are unbounded in theory).
	MaxNameLen = 256
	// MaxKeys bounds the keys of one path element.
	MaxKeys = 16
	// MaxKeyValueLen bounds a list key value in bytes, in a path or in a
	// payload.
	MaxKeyValueLen = 1024
	// MaxPathLen bounds a whole path in bytes: names, key names and key
	// values together.
	MaxPathLen = 8192
)

// CheckPathSize refuses, with InvalidArgument, a gNMI path longer than
// the bounds above. It reads only lengths, so an oversized path costs
// nothing more, and its message clips what it quotes.
func CheckPathSize(elems []*gpb.PathElem) error {
	if len(elems) > MaxPathElems {
		return errorf(KindInvalid, clippedPath(elems[:MaxPathElems])+"/...", "path has %d elements, at most %d are allowed", len(elems), MaxPathElems)
	}
	total := 0
	for i, e := range elems {
		at := func() string { return clippedPath(elems[:i+1]) }
		if n := len(e.GetName()); n > MaxNameLen {
			return errorf(KindInvalid, at(), "element name is %d bytes long, at most %d are allowed", n, MaxNameLen)
		}
		if n := len(e.GetKey()); n > MaxKeys {
			return errorf(KindInvalid, at(), "element has %d keys, at most %d are allowed", n, MaxKeys)
		}
		total += len(e.GetName())
		for k, v := range e.GetKey() {
			if len(k) > MaxNameLen {
				return errorf(KindInvalid, at(), "key name is %d bytes long, at most %d are allowed", len(k), MaxNameLen)
			}
			if len(v) > MaxKeyValueLen {
				return errorf(KindInvalid, at(), "value of key %s is %d bytes long, at most %d are allowed", clip(k), len(v), MaxKeyValueLen)
			}
			total += len(k) + len(v)
		}
		if total > MaxPathLen {
			return errorf(KindInvalid, at(), "path is over %d bytes long (names and keys)", MaxPathLen)
		}
	}
	return nil
}

// checkKeyValueLen refuses a list key value in a payload (a decoded JSON
// value) longer than MaxKeyValueLen, before it is parsed: it would become
// part of a path, like a key in a request.
func checkKeyValueLen(raw any, ps func() string) error {
	n := 0
	switch v := raw.(type) {
	case string:
		n = len(v)
	case json.Number:
		n = len(v)
	}
	if n > MaxKeyValueLen {
		return errorf(KindInvalid, ps(), "key value is %d bytes long, at most %d are allowed", n, MaxKeyValueLen)
	}
	return nil
}

// clippedPath is ElemsString with every name and key value clipped
// (Clip), escaped as gnmipath writes them.
func clippedPath(elems []*gpb.PathElem) string {
	var b []byte
	for _, e := range elems {
		b = gnmipath.AppendName(b, clip(e.GetName()))
		keys := make([]string, 0, len(e.GetKey()))
		for k := range e.GetKey() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b = gnmipath.AppendKey(b, clip(k), clip(e.GetKey()[k]))
		}
	}
	return string(b)
}

// clip shortens a name or key value for a message (Clip).
func clip(s string) string { return Clip(s, 64) }
