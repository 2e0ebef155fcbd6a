package audit

import (
	"fmt"

	"github.com/netready/netready/server/tree"
)

// Limits of one entry. A request can carry megabytes in one path, and its
// entry would store them twice (in the operation and in the error message
// quoting the path): ten refused Sets with an 8 MiB key once grew the
// database by 256 MiB.
const (
	// maxText bounds each text: user, peer, message, one role or operation.
	maxText = tree.MaxText
	// maxList bounds the roles, and the operations, together.
	maxList = 2 * tree.MaxText
)

// Bound clips e so that it takes a few KiB at most: each text to maxText
// bytes with a marker saying how much was cut (tree.Clip), and the roles
// and the operations to those that fit in maxList bytes, followed by
// "… and N more operations". Slices are copied, not changed in place:
// they belong to the request.
func Bound(e *Entry) {
	e.User = tree.Clip(e.User, maxText)
	e.Peer = tree.Clip(e.Peer, maxText)
	e.Message = tree.Clip(e.Message, maxText)
	e.Roles = boundList(e.Roles, "roles")
	e.Operations = boundList(e.Operations, "operations")
}

// boundList returns vs, or a bounded copy of it when it is too long.
func boundList(vs []string, what string) []string {
	size := 0
	for _, v := range vs {
		size += len(v)
	}
	if size <= maxList {
		return vs
	}
	var out []string
	budget := maxList
	for i, v := range vs {
		c := tree.Clip(v, maxText)
		if len(c) > budget {
			return append(out, fmt.Sprintf("… and %d more %s", len(vs)-i, what))
		}
		out, budget = append(out, c), budget-len(c)
	}
	return out
}
