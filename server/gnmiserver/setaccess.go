package gnmiserver

import (
	"context"
	"errors"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/tree"
)

// A refused Set tells the caller nothing about data it may not read
// (docs/security.md, "What a refusal tells"): explicit deletes and
// replaces that could touch such data are refused whatever is there, and
// a refusal that would name such data names the request path instead.

// replaceable refuses an explicit delete or replace of a subtree the
// caller may neither write nor read in whole.
func (b *setBuilder) replaceable(elems []*gpb.PathElem) error {
	if b.mayReplace != nil && !b.mayReplace(elems) {
		return status.Errorf(codes.PermissionDenied, "set: %s: permission denied: user %s may not delete or replace all that is there",
			tree.ElemsString(elems), b.user)
	}
	return nil
}

// withinView keeps a PermissionDenied from the writer from naming a path
// the caller may not read: it names the request path that led there.
func (s *Server) withinView(ctx context.Context, b *setBuilder, err error) error {
	var te *tree.Error
	if s.access == nil || !errors.As(err, &te) || te.Code != codes.PermissionDenied {
		return err
	}
	read := s.access.Readable(ctx, false)
	at, perr := gnmipath.Parse(te.Path)
	if read == nil || (perr == nil && te.Path != "" && read(at) != tree.Hidden) {
		return err
	}
	return status.Errorf(codes.PermissionDenied, "set: %s: permission denied: user %s may not change all that this changes",
		tree.ElemsString(b.requestPathOf(at)), b.user)
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
