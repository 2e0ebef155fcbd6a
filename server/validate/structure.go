package validate

import (
	"errors"
	"math"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/xpath"
)

// structure checks a new or changed container or list entry: its mandatory
// leaves, lists with min-elements, mandatory choices, and the same for
// non-presence containers below it that do not exist (they exist
// implicitly, so their mandatory nodes are required too).
func (c *check) structure(chain []*tree.Node, n *tree.Node) error {
	if n.Schema().Kind == schema.List && !isEntry(chain, len(chain)-1) {
		return nil
	}
	// The object's path is put into an error only: a bulk Set checks
	// 10,000s of objects, and building each path was a tenth of that.
	err := mandatoryNodes(n.Schema(), n, "", true, c.whenExempt(chain))
	var te *tree.Error
	if errors.As(err, &te) {
		te.Path = tree.ChainString(chain) + te.Path
	}
	return err
}

// mandatoryAtRoot checks the root's mandatory leaves and choices (also
// inside absent top-level containers). The size of a top-level list is
// checked when its entries change (see visit), not here, so that an empty
// datastore stays valid for a module with a min-elements list.
func (c *check) mandatoryAtRoot() error {
	return mandatoryNodes(c.v.sch.Root, c.root, "", false, c.whenExempt(nil))
}

// whenExempt returns, for the instance at the end of chain (the root for
// an empty chain), a test of whether an absent child would be refused by
// one of its when conditions: such a node may not exist, so its
// mandatory leaves and min-elements are not required (RFC 7950 7.6.5).
// It is nil for a schema without when, and called only when a mandatory
// node is missing, so the common path costs nothing.
func (c *check) whenExempt(chain []*tree.Node) func(*schema.Node) bool {
	if c.v.nconds == 0 {
		return nil
	}
	return func(m *schema.Node) bool {
		for _, cd := range c.v.conds[m] {
			if cd.must {
				continue
			}
			in := xpath.Input{Root: c.root, Chain: chain}
			if !cd.parentCtx {
				in.Missing = m
			}
			if ok, err := cd.expr.Bool(in); err == nil && !ok {
				return true
			}
		}
		return false
	}
}

// mandatoryNodes checks the mandatory nodes below the instance n of s (nil
// for an absent non-presence container). exempt, if set, tells the
// missing ones that are not required.
func mandatoryNodes(s *schema.Node, n *tree.Node, path string, sizes bool, exempt func(*schema.Node) bool) error {
	for _, m := range s.MandatoryChildren {
		var k *tree.Node
		if n != nil {
			k = n.Child(m)
		}
		if !sizes && m.Kind != schema.Leaf {
			continue
		}
		switch {
		case k == nil && m.Kind == schema.Leaf:
			if exempt != nil && exempt(m) {
				continue
			}
			return &tree.Error{Kind: tree.KindConflict, Path: path + "/" + m.Name, Msg: "mandatory leaf is missing"}
		case m.Kind == schema.List || m.Kind == schema.LeafList:
			if size(k) < int(m.MinElements) {
				if exempt != nil && exempt(m) {
					continue
				}
				return &tree.Error{Kind: tree.KindConflict, Path: path + "/" + m.Name, Msg: sizeMsg(m, size(k))}
			}
		}
	}
	for _, ch := range s.Choices() {
		if ch.Mandatory && !choiceSet(n, ch) {
			return &tree.Error{Kind: tree.KindConflict, Path: path, Msg: "mandatory choice " + ch.Name + " has no case set"}
		}
	}
	for _, k := range s.Children {
		if k.Kind != schema.Container || k.Presence || !k.Config {
			continue
		}
		var kn *tree.Node
		if n != nil {
			kn = n.Child(k)
		}
		if kn == nil {
			if err := mandatoryNodes(k, nil, path+"/"+k.Name, sizes, nil); err != nil {
				if exempt != nil && exempt(k) {
					continue
				}
				return err
			}
		}
	}
	return nil
}

func choiceSet(n *tree.Node, ch *schema.Choice) bool {
	if n == nil {
		return false
	}
	for _, s := range ch.Nodes() {
		if k := n.Child(s); k != nil && k.HasConfig() {
			return true
		}
	}
	return false
}

// unbounded reports whether a max-elements is no bound: goyang gives a
// list without max-elements math.MaxUint64 (0 in a hand-built schema).
// Every list has one, so the test matters: a bounded list is looked up
// from the root for each entry created or deleted.
func unbounded(n uint64) bool { return n == 0 || n == math.MaxUint64 }

func size(n *tree.Node) int {
	if n == nil {
		return 0
	}
	if n.Schema().Kind == schema.LeafList {
		return len(n.Values())
	}
	return n.Len()
}

func sizeMsg(s *schema.Node, n int) string {
	if n < int(s.MinElements) {
		return "has " + itoa(n) + " elements, at least " + itoa(int(s.MinElements)) + " required (min-elements)"
	}
	return "has " + itoa(n) + " elements, at most " + itoa(int(s.MaxElements)) + " allowed (max-elements)"
}

func itoa(n int) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}

// leafChange checks a changed leaf or leaf-list: a leaf-list must keep
// within max-elements (min-elements is checked with its parent), and a key
// leaf cannot go while its list entry stays.
func (c *check) leafChange(chain []*tree.Node, o, n *tree.Node) error {
	s := either(o, n).Schema()
	switch {
	case n != nil && s.Kind == schema.LeafList && s.MaxElements > 0 && uint64(len(n.Values())) > s.MaxElements:
		return &tree.Error{Kind: tree.KindConflict, Path: tree.ChainString(chain), Msg: sizeMsg(s, len(n.Values()))}
	case n == nil && s.IsKey && chain[len(chain)-2].Child(s) == nil:
		// The chain holds the candidate's entry when the entry stays
		// (a deleted entry comes with its old version, key included).
		p := tree.ChainPath(chain[:len(chain)-1])
		for i, k := range s.Parent.Keys {
			if k == s {
				p[len(p)-1].Keys[i] = o.Value()
			}
		}
		return &tree.Error{Kind: tree.KindInvalid, Path: tree.PathString(p) + "/" + s.Name, Msg: "cannot delete key leaf " + s.Name + " of an existing list entry; delete the entry instead"}
	}
	return nil
}

// listSize checks min/max-elements of the list an entry was added to or
// removed from. chain ends with the entry; the list precedes it.
func (c *check) listSize(chain []*tree.Node) error {
	s := chain[len(chain)-1].Schema()
	if s.MinElements == 0 && unbounded(s.MaxElements) {
		return nil
	}
	listChain := chain[:len(chain)-1]
	p := tree.ChainPath(listChain)
	parent := tree.Lookup(c.root, p[:len(p)-1])
	if parent == nil {
		return nil // the whole parent went away
	}
	n := size(parent.Child(s))
	if n < int(s.MinElements) || (s.MaxElements > 0 && uint64(n) > s.MaxElements) {
		return &tree.Error{Kind: tree.KindConflict, Path: tree.PathString(p), Msg: sizeMsg(s, n)}
	}
	return nil
}
