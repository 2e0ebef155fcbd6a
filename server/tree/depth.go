package tree

// Depth is the gNMI Depth extension (gnmi-depth.md) as a visibility: of
// the node a path names (the last node of a chain of length from), only
// levels levels are returned, the last of them with its leaves and
// leaf-lists only. Level 1 is the node's own leaves and leaf-lists; each
// container or list below adds a level, a list and its entries being one
// level (a path naming a list returns its entries with their leaves at
// level 1). levels 0 means no limit and returns nil.
//
// It is a VisibleFunc so that every encoding (JSON, JSON_IETF, PROTO
// leaf by leaf, subscription dumps) cuts the tree the same way, and so
// that it combines with what the reader may see (Both).
func Depth(from int, levels uint32) VisibleFunc {
	if levels == 0 {
		return nil
	}
	return func(chain []*Node) Visibility {
		if len(chain) <= from {
			return Partly
		}
		n := chain[len(chain)-1]
		below := chain[from:]
		if !n.schema.IsDir() {
			below = below[:len(below)-1] // a leaf is in its parent's level
		}
		if dirLevels(below) >= int(levels) {
			return Hidden
		}
		if !n.schema.IsDir() {
			return Visible
		}
		return Partly
	}
}

// dirLevels counts the containers and lists of chain; a list entry is in
// its list's level.
func dirLevels(chain []*Node) int {
	n := 0
	for _, c := range chain {
		if c.schema.IsDir() && !c.isEntry() {
			n++
		}
	}
	return n
}

// Both is what a reader sees when a and b both apply (nil: everything).
func Both(a, b VisibleFunc) VisibleFunc {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(chain []*Node) Visibility {
		va := a(chain)
		if va == Hidden {
			return Hidden
		}
		vb := b(chain)
		switch {
		case vb == Hidden:
			return Hidden
		case va == Visible && vb == Visible:
			return Visible
		}
		return Partly
	}
}
