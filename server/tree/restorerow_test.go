package tree

import "testing"

// TestRestoreRowUndoesTransactions restores, on top of a transaction's
// result, the old value of every row it changed, in key order: the tree
// must come back to what it was, whatever the transaction did (entries
// created and deleted, leaves set and cleared, a presence container
// added, a container that only lost its own leaves).
func TestRestoreRowUndoesTransactions(t *testing.T) {
	sch := tsch(t)
	cases := map[string][]op{
		"create entries": {{"merge", "/top/item[id=7]", `{"id":7,"val":"v","sub":[{"a":"x","b":1,"c":"c"}]}`}, {"merge", "/big[k=3]", `{"k":3,"v":"b"}`}},
		"delete entries": {{"delete", "/top/item[id=1]", ""}},
		"change leaves":  {{"merge", "/top/name", `"other"`}, {"merge", "/top/mtu", `9000`}, {"delete", "/top/inner/note", ""}},
		"set defaults":   {{"merge", "/top/inner/level", `7`}, {"merge", "/top/item[id=1]/weight", `"2.5"`}},
		"presence":       {{"merge", "/top/pres", `{"x":"p"}`}, {"merge", "/top/u:ext", `{"e":"aug"}`}},
		"delete all":     {{"delete", "/top", ""}},
		"replace top":    {{"replace", "/top", `{"name":"n","item":[{"id":9}]}`}},
	}
	for name, ops := range cases {
		t.Run(name, func(t *testing.T) {
			before := load(t, sch, baseTop)
			after := apply(t, sch, before, ops...)
			rows := Rows(before, after)
			if len(rows) == 0 {
				t.Fatal("the transaction changed no row")
			}
			txn := Begin(after)
			for _, r := range sortedRows(rows) {
				if err := txn.RestoreRow(r.Key, r.Old); err != nil {
					t.Fatal(err)
				}
			}
			if a, b := ietfAll(before), ietfAll(txn.Root()); a != b {
				t.Fatalf("restored:\n got  %s\n want %s", b, a)
			}
			for _, r := range Rows(before, txn.Root()) {
				if string(r.Old) != string(r.New) || (r.Old == nil) != (r.New == nil) {
					t.Fatalf("row %s still differs after the restore: %s, want %s", r.Key, r.New, r.Old)
				}
			}
		})
	}
}

// sortedRows orders rows by key, parents before their children.
func sortedRows(rows []RowChange) []RowChange {
	out := append([]RowChange(nil), rows...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Key < out[j-1].Key; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
