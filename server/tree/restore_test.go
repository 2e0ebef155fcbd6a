package tree

import (
	"slices"
	"testing"
)

// TestRestoreRowReplaysRows steps between every pair of scenarios with
// the rows tree.Rows reports, as history does: forward with the new
// values in order, back with the old values in reverse order. Both must
// land exactly on the other tree's configuration.
func TestRestoreRowReplaysRows(t *testing.T) {
	sch := nrsch(t)
	trees := map[string]*Node{}
	for name, doc := range scenarios(t) {
		p, err := DecodeRootJSON(sch.Root, doc, true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		txn := Begin(NewRoot(sch))
		if err := txn.Merge(nil, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		trees[name] = txn.Root()
	}
	trees["empty"] = NewRoot(sch)
	config := func(n *Node) string {
		b, _ := AppendJSON(nil, n, true, Config)
		return string(b)
	}
	for a, from := range trees {
		for b, to := range trees {
			if a == b {
				continue
			}
			rows := Rows(from, to)
			fwd := Begin(from)
			for _, r := range rows {
				if err := fwd.RestoreRow(r.Key, r.New); err != nil {
					t.Fatalf("%s -> %s: %v", a, b, err)
				}
			}
			if config(fwd.Root()) != config(to) {
				t.Errorf("%s -> %s forward: not the target configuration", a, b)
			}
			back := Begin(to)
			for _, r := range slices.Backward(rows) {
				if err := back.RestoreRow(r.Key, r.Old); err != nil {
					t.Fatalf("%s -> %s back: %v", a, b, err)
				}
			}
			if config(back.Root()) != config(from) {
				t.Errorf("%s -> %s back: not the original configuration", a, b)
			}
		}
	}
}
