package gnmiserver

import (
	"errors"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
)

// A refused Set tells the caller nothing about data it may not read
// (docs/security.md, "What a refusal tells"): explicit deletes and
// replaces that could touch such data are refused whatever is there, and
// a refusal that would name such data names the request path instead.

// replaceable refuses an explicit delete or replace of a subtree the
// caller may neither write nor read in whole: whether it succeeded would
// depend on, and so tell, whether data the caller may not see is there
// (alice deleting /tenants would learn whether other tenants exist).
func (b *setBuilder) replaceable(elems []*gpb.PathElem) error {
	if b.writes == nil || b.writes(elems) == tree.Visible || b.reads == nil || b.reads(elems) == tree.Visible {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "set: %s: permission denied: user %s may not delete or replace all that is there",
		tree.ElemsText(elems), b.user)
}

// payloadWritable refuses a payload that names data the caller may not
// write, whether or not the data is there and whatever it holds. The
// writer judges only what a transaction changes, so without this an
// update at / writing another tenant's description with its current
// value would succeed, and with another value be refused: an oracle for
// the value. Subtrees the caller may write in whole are not walked.
func (b *setBuilder) payloadWritable(at tree.Path, payload *tree.Node) error {
	if b.writes == nil {
		return nil
	}
	elems := tree.GNMIElems(at)
	if n := len(elems); n > 0 && payload.Schema().Kind == schema.List && elems[n-1].GetKey() == nil {
		return b.entriesWritable(elems[:n-1], payload) // a whole list
	}
	return b.nodeWritable(elems, payload)
}

func (b *setBuilder) nodeWritable(elems []*gpb.PathElem, n *tree.Node) error {
	switch b.writes(elems) {
	case tree.Visible:
		return nil
	case tree.Partly:
		if n.Schema().IsDir() {
			return b.kidsWritable(elems, n)
		}
	}
	return status.Errorf(codes.PermissionDenied, "set: %s: permission denied", tree.ElemsText(elems))
}

// kidsWritable judges the children of n below elems. The keys of an
// entry are not written on their own (they are the entry's name, judged
// with it), nor are defaults the decoder filled in.
func (b *setBuilder) kidsWritable(elems []*gpb.PathElem, n *tree.Node) error {
	for _, k := range n.Children() {
		var err error
		switch s := k.Schema(); {
		case !s.Config, k.IsDefault(), isKey(n.Schema(), s):
		case s.Kind == schema.List:
			err = b.entriesWritable(elems, k)
		default:
			err = b.nodeWritable(append(elems[:len(elems):len(elems)], &gpb.PathElem{Name: s.Name}), k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// entriesWritable judges each entry of the list node l below elems.
func (b *setBuilder) entriesWritable(elems []*gpb.PathElem, l *tree.Node) error {
	var err error
	l.Entries(func(e *tree.Node) bool {
		el := &gpb.PathElem{Name: l.Schema().Name, Key: map[string]string{}}
		keys := e.KeyValues()
		for i, k := range l.Schema().Keys {
			el.Key[k.Name] = value.String(keys[i])
		}
		err = b.nodeWritable(append(elems[:len(elems):len(elems)], el), e)
		return err == nil
	})
	return err
}

// withinView keeps a PermissionDenied from the writer from naming a path
// the caller may not read: it names the request path that led there.
func withinView(b *setBuilder, err error) error {
	var te *tree.Error
	if !errors.As(err, &te) || te.Kind != tree.KindDenied {
		return err
	}
	at, perr := gnmipath.Parse(te.Path)
	if b.reads == nil || (perr == nil && te.Path != "" && b.reads(at) != tree.Hidden) {
		return err
	}
	return status.Errorf(codes.PermissionDenied, "set: %s: permission denied: user %s may not change all that this changes",
		tree.ElemsText(b.requestPathOf(at)), b.user)
}

// requestPathOf returns the first request path at, above or below the
// data path at (an operation changes what is below its path and may
// create what is above); the first request path if none is.
func (b *setBuilder) requestPathOf(at []*gpb.PathElem) []*gpb.PathElem {
	for _, p := range b.paths {
		if related(p, at) {
			return p
		}
	}
	if len(b.paths) == 0 {
		return nil
	}
	return b.paths[0]
}

// related reports whether the request path or pattern p and the data path
// at agree on every element they both have.
func related(p, at []*gpb.PathElem) bool {
	for i := 0; i < len(p) && i < len(at); i++ {
		if p[i].GetName() == "..." {
			return true
		}
		if p[i].GetName() != "*" && p[i].GetName() != at[i].GetName() {
			return false
		}
		for k, v := range p[i].GetKey() {
			if w, ok := at[i].GetKey()[k]; ok && v != "*" && v != w {
				return false
			}
		}
	}
	return true
}

// isKey reports whether s is a key leaf of the list l.
func isKey(l, s *schema.Node) bool {
	for _, k := range l.Keys {
		if k == s {
			return true
		}
	}
	return false
}
