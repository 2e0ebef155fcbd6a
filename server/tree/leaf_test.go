package tree

import (
	"testing"

	"github.com/netready/netready/server/schema/value"
)

// SetLeaves writes what the same SetLeaf and SetLeafList calls write, and
// a leaf written again with its value keeps sharing its node (so no
// subscriber is told of it).
func TestSetLeavesIsSetLeafPerLeaf(t *testing.T) {
	sch := nrsch(t)
	entry := MustResolve(sch.Root, "audit", "entry")
	entry[1].Keys = []value.Value{uint64(7)}
	leaf := func(name string) Path { return append(entry[:2:2], Elem{Schema: entry[1].Schema.Child(name)}) }
	roles := []value.Value{"admin", "operator"}

	one := Begin(NewRoot(sch))
	one.SetLeaf(leaf("id"), uint64(7))
	one.SetLeaf(leaf("result"), "accepted")
	one.SetLeafList(leaf("role"), roles)
	many := Begin(NewRoot(sch))
	many.SetLeaves(entry, Leaf{Schema: leaf("id")[2].Schema, Value: uint64(7)},
		Leaf{Schema: leaf("result")[2].Schema, Value: "accepted"},
		Leaf{Schema: leaf("role")[2].Schema, Values: roles})
	a, _ := AppendJSON(nil, one.Root(), true, All)
	b, _ := AppendJSON(nil, many.Root(), true, All)
	if string(a) != string(b) || len(a) < 40 {
		t.Fatalf("SetLeaves wrote %s, SetLeaf %s", b, a)
	}

	root := many.Root()
	again := Begin(root)
	again.SetLeaves(entry, Leaf{Schema: leaf("result")[2].Schema, Value: "accepted"},
		Leaf{Schema: leaf("id")[2].Schema, Value: uint64(7)})
	if Lookup(again.Root(), leaf("result")) != Lookup(root, leaf("result")) {
		t.Error("an unchanged leaf was replaced")
	}
	again.SetLeaves(entry, Leaf{Schema: leaf("result")[2].Schema, Value: "denied"})
	if got := Lookup(again.Root(), leaf("result")).Value(); got != "denied" {
		t.Errorf("result = %v after SetLeaves, want denied", got)
	}
}
