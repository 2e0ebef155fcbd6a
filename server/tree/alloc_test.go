package tree

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/netready/netready/server/schema/value"
)

// Entry and ChainString run for every change of a bulk Set: they must not
// allocate beyond their result (a probe node per lookup and a key slice
// per list element were a large part of the garbage of a 30,000-object
// Set).
func TestLookupsAllocateOnlyTheirResult(t *testing.T) {
	root := bigTree(t, 100)
	big := root.ChildByName("big")
	var e *Node
	big.Entries(func(x *Node) bool { e = x; return false }) // the first
	if e == nil || big.Entry(e.key) != e {
		t.Fatal("Entry does not find an entry of the list")
	}
	if n := testing.AllocsPerRun(100, func() { big.Entry(e.key) }); n != 0 {
		t.Errorf("Entry allocates %.0f times, want 0", n)
	}
	chain := []*Node{big, e}
	if got, want := ChainString(chain), "/big[k=0]"; got != want {
		t.Fatalf("ChainString = %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { ChainString(chain) }); n != 1 {
		t.Errorf("ChainString allocates %.0f times, want 1 (the string)", n)
	}
	if got, want := rowKey(chain), "/big[k=0]"; got != want {
		t.Fatalf("rowKey = %q, want %q", got, want)
	}
}

// Diff hands out chains carved from shared slabs: each must stay its own
// (a callee keeping or extending one must not see it overwritten), and
// the chains of a large diff must cost far fewer allocations than one each.
func TestDiffChainsAreOwnAndPooled(t *testing.T) {
	sch := tsch(t)
	old, cur := NewRoot(sch), bigTree(t, 2000)
	var kept, copies [][]*Node
	Diff(old, cur, func(chain []*Node, _, _ *Node) bool {
		kept, copies = append(kept, chain), append(copies, append([]*Node(nil), chain...))
		_ = append(chain, nil) // must not write into another chain
		return true
	})
	if len(kept) < 4000 {
		t.Fatalf("Diff reported %d changes, want at least 4000", len(kept))
	}
	for i, c := range kept {
		if !slices.Equal(c, copies[i]) {
			t.Fatalf("chain %d was overwritten: %v, was %v", i, c, copies[i])
		}
	}
	n := testing.AllocsPerRun(5, func() { Diff(old, cur, func([]*Node, *Node, *Node) bool { return true }) })
	if n > float64(len(kept))/10 {
		t.Errorf("Diff of %d changes allocates %.0f times, want under a tenth", len(kept), n)
	}
}

// ChainPath gives the key values of all its entries one allocation, each
// element's keys its own: a path through two lists costs two allocations,
// not three.
func TestChainPathSharesKeys(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, `{"t:top":{"item":[{"id":1,"sub":[{"a":"x","b":2,"c":"y"}]}]}}`)
	p := path(t, sch, "/top/item[id=1]/sub[a=x][b=2]/c")
	chain := validChain(t, root, p)
	got := ChainPath(chain)
	if PathString(got) != PathString(p) {
		t.Fatalf("ChainPath = %s, want %s", PathString(got), PathString(p))
	}
	_ = append(got[1].Keys, nil) // must not overwrite the next element's keys
	if PathString(got) != PathString(p) {
		t.Fatalf("appending to one element's keys changed the path to %s", PathString(got))
	}
	if n := testing.AllocsPerRun(100, func() { ChainPath(chain) }); n != 2 {
		t.Errorf("ChainPath through two lists allocates %.0f times, want 2", n)
	}
}

// Deleting a list entry copies nothing of the entry: the commit hooks
// prune the oldest audit entry and commit-list entry on every Set.
func TestDeleteEntryCopiesNotTheEntry(t *testing.T) {
	sch := tsch(t)
	root := bigTree(t, 1000)
	p := path(t, sch, "/big[k=500]")
	var got *Node
	n := testing.AllocsPerRun(100, func() {
		txn := Begin(root)
		txn.Delete(p)
		got = txn.Root()
	})
	if Lookup(got, p) != nil || got.ChildByName("big").Len() != 999 {
		t.Fatal("Delete did not remove exactly the entry")
	}
	if Lookup(root, p) == nil {
		t.Fatal("Delete changed the published tree")
	}
	// 23 when the entry was copied and put back before its deletion.
	if n > 20 {
		t.Errorf("deleting an entry allocates %.0f times, want at most 20", n)
	}
}

// A bulk Set creates 100,000s of nodes: a Node must stay in the 96-byte
// size class (it was 128 with the list and leaf-list fields inline).
func TestNodeIs96Bytes(t *testing.T) {
	if n := unsafe.Sizeof(Node{}); n > 96 {
		t.Errorf("a Node is %d bytes, want <= 96", n)
	}
}

// A new list entry, its key leaves and its default leaves are one
// allocation, and its children slice another: a bulk Set creates 30,000
// entries (they were four: the entry, the keys, the defaults, the slice).
func TestNewEntryIsTwoAllocations(t *testing.T) {
	sch := tsch(t)
	list := sch.Root.Child("names")
	keys := []value.Value{"x"}
	txn := Begin(NewRoot(sch))
	e := txn.newEntry(list, keys)
	if got := e.ChildByName("v"); got == nil || !got.IsDefault() || got.Value() != "d" {
		t.Fatalf("the new entry's default leaf v is %v, want the default d", got)
	}
	if got := e.ChildByName("n"); got == nil || got.Value() != "x" {
		t.Fatalf("the new entry's key leaf n is %v, want x", got)
	}
	if n := testing.AllocsPerRun(100, func() { txn.newEntry(list, keys) }); n != 2 {
		t.Errorf("a new entry costs %.0f allocations, want 2", n)
	}
}

// The leaves of a decoded object are one allocation: a bulk Set decodes
// 100,000s of them (each was its own).
func TestDecodedLeavesShareOneAllocation(t *testing.T) {
	sch := tsch(t)
	const n = 200
	var b strings.Builder
	b.WriteString(`{"t:top":{"name":"x","mtu":1400,"count64":"5","item":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"val":"v%d","weight":"2.5"}`, i, i)
	}
	b.WriteString(`]}}`)
	data := []byte(b.String())
	root := load(t, sch, b.String())
	top := root.ChildByName("top")
	if value.String(top.ChildByName("mtu").Value()) != "1400" || top.ChildByName("name").Value() != "x" {
		t.Fatalf("top decoded as mtu %v name %v", top.ChildByName("mtu").Value(), top.ChildByName("name").Value())
	}
	got := 0
	top.ChildByName("item").Entries(func(e *Node) bool {
		id := value.String(e.ChildByName("id").Value())
		if e.ChildByName("val").Value() != "v"+id || e.ChildByName("weight").IsDefault() {
			t.Fatalf("item %s decoded with val %v weight %v", id, e.ChildByName("val").Value(), e.ChildByName("weight").Value())
		}
		got++
		return true
	})
	if got != n {
		t.Fatalf("%d items decoded, want %d", got, n)
	}
	with := testing.AllocsPerRun(5, func() { load(t, sch, string(data)) })
	// The two members cost their JSON parsing (names, values, the
	// object's map) and their nodes: 8 allocations per entry before,
	// 7 now that the two nodes are one.
	b.Reset()
	b.WriteString(`{"t:top":{"name":"x","mtu":1400,"count64":"5","item":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d}`, i)
	}
	b.WriteString(`]}}`)
	bare := b.String()
	without := testing.AllocsPerRun(5, func() { load(t, sch, bare) })
	if per := (with - without) / n; per > 7.5 {
		t.Errorf("an entry's two leaves cost %.2f allocations beyond the entry's, want 7", per)
	}
}

// A walk allocates its chain once. Every Set walks to what it edits, and
// the commit hooks walk to their audit and commit-list entries for every
// Set (growing the chain one append at a time cost 3 to 4 allocations per
// walk).
func TestWalkAllocatesItsChainOnce(t *testing.T) {
	sch := tsch(t)
	root := load(t, sch, `{"t:top":{"item":[{"id":1,"sub":[{"a":"x","b":2,"c":"y"}]}]}}`)
	p := path(t, sch, "/top/item[id=1]/sub[a=x][b=2]")
	txn := Begin(root)
	if chain := txn.walk(p, false); len(chain) != 6 {
		t.Fatalf("walk to %s: chain of %d nodes, want 6", PathString(p), len(chain))
	}
	// The transaction owns the chain now: a walk copies nothing, and
	// allocates the chain and the key strings of the entries it looks up.
	keys := testing.AllocsPerRun(100, func() { KeyString(p[1].Keys); KeyString(p[2].Keys) })
	if n := testing.AllocsPerRun(100, func() { txn.walk(p, false) }); n != 1+keys {
		t.Errorf("walk allocates %.0f times, want %.0f (the chain and %.0f for the keys)", n, 1+keys, keys)
	}
}
