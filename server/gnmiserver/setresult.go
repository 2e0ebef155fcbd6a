package gnmiserver

import (
	"fmt"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/tree"
)

// withResults attaches to the status of a refused Set the per-operation
// results gNMI 3.4.7 asks for: the UpdateResult of the operation that
// failed carries the error, every other one Aborted. A gRPC response with
// a non-OK status has no body, so they travel as a status detail: a
// SetResponse whose UpdateResults have their (deprecated, but only)
// status field, message, filled in. failed is the index of the failed
// operation in request order (deletes, replaces, updates), or -1 when the
// transaction failed as a whole: then every operation carries the error.
// The RPC status keeps the specific code (docs/validation.md says why).
func withResults(req *gpb.SetRequest, failed int, err error) error {
	st := status.Convert(err)
	if st.Code() == codes.OK || st.Code() == codes.Canceled || st.Code() == codes.DeadlineExceeded {
		return err
	}
	resp := &gpb.SetResponse{Prefix: req.GetPrefix()}
	add := func(p *gpb.Path, op gpb.UpdateResult_Operation) {
		i := len(resp.Response)
		e := &gpb.Error{Code: uint32(st.Code()), Message: st.Message()}
		if failed >= 0 && i != failed {
			e = &gpb.Error{Code: uint32(codes.Aborted), Message: fmt.Sprintf("aborted: operation %d of the transaction failed", failed+1)}
		}
		//lint:ignore SA1019 the deprecated message field is the only per-operation status gNMI has.
		resp.Response = append(resp.Response, &gpb.UpdateResult{Path: p, Op: op, Message: e})
	}
	for _, p := range req.GetDelete() {
		add(p, gpb.UpdateResult_DELETE)
	}
	for _, u := range req.GetReplace() {
		add(u.GetPath(), gpb.UpdateResult_REPLACE)
	}
	for _, u := range req.GetUpdate() {
		add(u.GetPath(), gpb.UpdateResult_UPDATE)
	}
	if len(resp.Response) == 0 {
		return err
	}
	withDetail, derr := st.WithDetails(resp)
	if derr != nil {
		return err
	}
	return withDetail.Err()
}

// opAt returns the index of the operation a refused transaction's error
// path belongs to: the last one (in request order) at or above that path,
// which is the one that left the data there. -1 when none is.
func opAt(req *gpb.SetRequest, errPath string) int {
	if errPath == "" {
		return -1
	}
	var paths []*gpb.Path
	paths = append(paths, req.GetDelete()...)
	for _, u := range req.GetReplace() {
		paths = append(paths, u.GetPath())
	}
	for _, u := range req.GetUpdate() {
		paths = append(paths, u.GetPath())
	}
	found := -1
	for i, p := range paths {
		elems, err := fullElems("set", req.GetPrefix(), p)
		if err != nil {
			continue
		}
		if under(errPath, tree.ElemsString(elems)) {
			found = i
		}
	}
	return found
}

// under reports whether path p is at or below path q (texts as
// gnmipath writes them).
func under(p, q string) bool {
	if q == "/" || p == q {
		return true
	}
	rest, ok := strings.CutPrefix(p, q)
	return ok && (rest[0] == '/' || rest[0] == '[')
}
