package tree

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/btree"
)

// TestMergeListIsEntryByEntry: merging a list payload gives the tree that
// merging each of its entries at the entry's own path gives (that path
// merges one entry, through another walk), for random trees and payloads:
// leaves set, defaulted and absent, nested lists, and the cases of a
// choice replacing each other.
func TestMergeListIsEntryByEntry(t *testing.T) {
	sch := tsch(t)
	rng := rand.New(rand.NewPCG(3, 4))
	entry := func(id int) string {
		var f []string
		f = append(f, fmt.Sprintf(`"id":%d`, id))
		if rng.IntN(2) == 0 {
			f = append(f, fmt.Sprintf(`"val":"v%d"`, rng.IntN(3)))
		}
		if rng.IntN(3) == 0 {
			f = append(f, fmt.Sprintf(`"weight":"%d.5"`, 1+rng.IntN(2))) // 1.5 is the default
		}
		switch rng.IntN(4) {
		case 0:
			f = append(f, `"m1":"x"`)
		case 1:
			f = append(f, `"m2":"y"`)
		case 2:
			f = append(f, `"m2b":"z"`, `"m2":"w"`)
		}
		if rng.IntN(3) == 0 {
			f = append(f, fmt.Sprintf(`"sub":[{"a":"s","b":%d,"c":"c%d"}]`, rng.IntN(2), rng.IntN(2)))
		}
		return "{" + strings.Join(f, ",") + "}"
	}
	items := func(n int) (string, []int) {
		var es []string
		var ids []int
		for id := range n {
			if rng.IntN(2) == 0 {
				es = append(es, entry(id))
				ids = append(ids, id)
			}
		}
		return `{"item":[` + strings.Join(es, ",") + `]}`, ids
	}
	for run := range 300 {
		base, _ := items(12)
		root := load(t, sch, `{"t:top":`+base+`}`)
		payload, ids := items(12)
		whole := Begin(root)
		if err := whole.Merge(path(t, sch, "/top"), decodeAt(t, path(t, sch, "/top"), payload)); err != nil {
			t.Fatal(err)
		}
		// The same entries, one Merge each at the entry's path.
		var one []string
		for _, e := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(payload, `{"item":[`), `]}`), ",{") {
			if e != "" {
				one = append(one, "{"+strings.TrimPrefix(e, "{"))
			}
		}
		each := Begin(root)
		for i, id := range ids {
			p := path(t, sch, fmt.Sprintf("/top/item[id=%d]", id))
			if err := each.Merge(p, decodeAt(t, p, one[i])); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := ietfAll(whole.Root()), ietfAll(each.Root()); got != want {
			t.Fatalf("run %d: base %s, payload %s:\nlist merge  %s\nentry merge %s", run, base, payload, got, want)
		}
		if got, want := ietfAll(root), ietfAll(load(t, sch, `{"t:top":`+base+`}`)); got != want {
			t.Fatalf("run %d: the merge changed the published tree", run)
		}
	}
}

// TestMergeSearchesOncePerEntry: merging a payload of 1,000 entries into a
// list of 10,000 compares keys about as often as 1,000 searches of the
// B-tree, not twice that (a lookup, then the merged entry put back).
func TestMergeSearchesOncePerEntry(t *testing.T) {
	sch := tsch(t)
	var b strings.Builder
	for i := range 10_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"n":"p%d","v":"a"}`, i)
	}
	root := load(t, sch, `{"t:names":[`+b.String()+`]}`)
	// The same entries in a B-tree that counts its comparisons.
	compares := 0
	list := root.Child(sch.Root.Child("names"))
	counted := btree.NewG(btreeDegree, func(a, b *Node) bool { compares++; return entryLess(a, b) })
	list.entries.Ascend(func(e *Node) bool { counted.ReplaceOrInsert(e); return true })
	list.entries = counted
	compares = 0
	for i := 0; i < 10_000; i += 10 {
		list.Entry(fmt.Sprintf("p%d", i))
	}
	search := float64(compares) / 1000
	b.Reset()
	for i := 0; i < 10_000; i += 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"n":"p%d","v":"b"}`, i)
	}
	p := path(t, sch, "/names")
	payload := decodeAt(t, p, `[`+b.String()+`]`)
	compares = 0
	txn := Begin(root)
	if err := txn.Merge(p, payload); err != nil {
		t.Fatal(err)
	}
	perEntry := float64(compares) / 1000
	if perEntry > 1.3*search {
		t.Errorf("merging 1,000 entries compared %.1f keys per entry; one search compares %.1f", perEntry, search)
	}
	if got := txn.Root().Child(list.schema).Entry("p990").ChildByName("v").Value(); got != "b" {
		t.Errorf("p990's v is %v after the merge, want b", got)
	}
}
