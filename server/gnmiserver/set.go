package gnmiserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/audit"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// Set runs the request as one transaction: deletes, then replaces, then
// updates, each in request order, all or nothing. Payloads are parsed and
// type-checked here, in the caller's goroutine, so the single writer only
// applies and validates.
func (s *Server) Set(ctx context.Context, req *gpb.SetRequest) (*gpb.SetResponse, error) {
	b := &setBuilder{sch: s.ds.Schema(), prefix: req.GetPrefix(), failed: -1}
	if s.access != nil {
		b.mayWrite = func(p []*gpb.PathElem) bool { return s.access.MayWrite(ctx, p) }
		b.writes, b.reads = s.access.WriteScope(ctx), s.access.Readable(ctx, false)
	}
	dreq := &datastore.Request{Peer: peerAddr(ctx)}
	if s.access != nil {
		dreq.User, dreq.Roles = s.access.Caller(ctx)
		dreq.Access = s.access.Writable(ctx)
		b.user = dreq.User
	}
	if err := supported(req); err != nil {
		// No per-operation results: they would echo paths over the size
		// bounds back to the client.
		s.auditRefused(ctx, dreq, err)
		return nil, err
	}
	err := b.buildSet(req, dreq)
	if err == nil && len(b.ops) == 0 && dreq.Action == nil && dreq.Restore == nil {
		// gNMI 3.4: an empty SetRequest MUST NOT be an error. It changes
		// nothing, so it is neither committed nor audited.
		return &gpb.SetResponse{Prefix: req.GetPrefix(), Timestamp: time.Now().UnixNano()}, nil
	}
	dry := req.GetPrefix().GetTarget() == DryRunTarget
	if err == nil {
		dreq.Ops, dreq.Operations, dreq.Summary = b.ops, b.texts, b.summary()
		if dry {
			return s.dryRun(ctx, req, b, dreq)
		}
		var res *datastore.Result
		if res, err = s.ds.Apply(ctx, dreq); err == nil {
			return &gpb.SetResponse{Prefix: req.GetPrefix(), Response: b.results, Timestamp: res.Time.UnixNano()}, nil
		}
		b.failed = failedOp(req, err)
		err = grpcError("set", withinView(b, err))
	}
	if dry {
		return nil, err // a dry run changes nothing, so audits nothing
	}
	dreq.Operations = b.texts
	s.auditRefused(ctx, dreq, err)
	return nil, withResults(req, b.failed, err)
}

// failedOp is the operation a transaction the datastore refused failed at.
func failedOp(req *gpb.SetRequest, err error) int {
	var te *tree.Error
	if errors.As(err, &te) {
		return opAt(req, te.Path)
	}
	return -1
}

// supported refuses what the server does not implement, rather than
// ignoring it, and paths over the size bounds, before anything else
// looks at them. Extensions are read by buildSet (commit.go).
func supported(req *gpb.SetRequest) error {
	if len(req.GetUnionReplace()) > 0 {
		return status.Error(codes.Unimplemented, "set: union_replace is not supported")
	}
	paths := append([]*gpb.Path(nil), req.GetDelete()...)
	for _, u := range req.GetReplace() {
		paths = append(paths, u.GetPath())
	}
	for _, u := range req.GetUpdate() {
		paths = append(paths, u.GetPath())
	}
	return checkSizes("set", req.GetPrefix(), paths)
}

// auditRefused records a Set that was not committed (accepted ones are
// recorded by the datastore's commit hook, with their commit).
func (s *Server) auditRefused(ctx context.Context, req *datastore.Request, err error) {
	if s.audit == nil {
		return
	}
	result := audit.Failed
	switch status.Code(err) {
	case codes.PermissionDenied:
		result = audit.Denied
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.Unimplemented:
		result = audit.Invalid
	}
	e := audit.Entry{User: req.User, Roles: req.Roles, Peer: req.Peer, Operations: req.Operations,
		Result: result, Message: status.Convert(err).Message()}
	if aerr := s.audit.Refused(context.WithoutCancel(ctx), e); aerr != nil {
		s.log.Error("audit log", "err", aerr, "entry", e)
	}
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// setBuilder turns a SetRequest into datastore operations.
type setBuilder struct {
	sch     *schema.Schema
	prefix  *gpb.Path
	ops     []datastore.Op
	results []*gpb.UpdateResult
	texts   []string
	// mayWrite, if set, vets each request path before anything else.
	mayWrite func([]*gpb.PathElem) bool
	// writes and reads (nil: everything) judge explicit deletes, replaces
	// and payloads (setaccess.go).
	writes, reads tree.PathVisibleFunc
	user          string
	// paths are the request paths of ops, in the same order.
	paths [][]*gpb.PathElem
	// failed is the index of the operation that failed (-1: none, or
	// not one in particular).
	failed int
}

// permitted refuses a request path the caller may not write at all.
func (b *setBuilder) permitted(elems []*gpb.PathElem) error {
	if b.mayWrite != nil && !b.mayWrite(elems) {
		return status.Errorf(codes.PermissionDenied, "set: %s: permission denied", tree.ElemsText(elems))
	}
	return nil
}

func (b *setBuilder) build(req *gpb.SetRequest) error {
	n := 0 // index of the operation being added, for failed
	for _, p := range req.GetDelete() {
		if err := b.addDelete(p); err != nil {
			b.failed = n
			return err
		}
		n++
	}
	for _, u := range req.GetReplace() {
		if err := b.addWrite(datastore.Replace, gpb.UpdateResult_REPLACE, u); err != nil {
			b.failed = n
			return err
		}
		n++
	}
	for _, u := range req.GetUpdate() {
		if err := b.addWrite(datastore.Update, gpb.UpdateResult_UPDATE, u); err != nil {
			b.failed = n
			return err
		}
		n++
	}
	return nil
}

func (b *setBuilder) addDelete(p *gpb.Path) error {
	elems, err := fullElems("set", b.prefix, p)
	if err != nil {
		return err
	}
	b.results = append(b.results, &gpb.UpdateResult{Path: p, Op: gpb.UpdateResult_DELETE})
	b.texts = append(b.texts, "delete "+tree.ElemsText(elems))
	if err := b.permitted(elems); err != nil {
		return err
	}
	if hasWildcard(elems) || missingKeys(b.sch.Root, elems) {
		if err := tree.CheckPattern(b.sch.Root, elems); err != nil {
			return grpcError("set", err)
		}
		b.ops, b.paths = append(b.ops, datastore.Op{Kind: datastore.Delete, Pattern: elems}), append(b.paths, elems)
		return nil
	}
	if err := b.replaceable(elems); err != nil {
		return err
	}
	path, err := tree.Resolve(b.sch.Root, elems)
	if err != nil {
		return grpcError("set", err)
	}
	if err := writable(path); err != nil {
		return err
	}
	b.ops, b.paths = append(b.ops, datastore.Op{Kind: datastore.Delete, Path: path}), append(b.paths, elems)
	return nil
}

// missingKeys reports a list element with only some of its keys, or with
// none before the last element: per the path conventions a missing key
// matches every value, so the delete is a pattern.
func missingKeys(root *schema.Node, elems []*gpb.PathElem) bool {
	s := root
	for i, e := range elems {
		if s = s.Child(e.GetName()); s == nil {
			return false
		}
		if s.Kind == schema.List && len(e.GetKey()) < len(s.Keys) && (len(e.GetKey()) > 0 || i < len(elems)-1) {
			return true
		}
	}
	return false
}

func writable(p tree.Path) error {
	if len(p) > 0 && !p[len(p)-1].Schema.Config {
		return status.Errorf(codes.InvalidArgument, "set: %s: read-only (config false) data cannot be changed", tree.Clip(tree.PathString(p), tree.MaxText))
	}
	return nil
}

func (b *setBuilder) addWrite(kind datastore.OpKind, op gpb.UpdateResult_Operation, u *gpb.Update) error {
	elems, err := fullElems("set", b.prefix, u.GetPath())
	if err != nil {
		return err
	}
	b.results = append(b.results, &gpb.UpdateResult{Path: u.GetPath(), Op: op})
	b.texts = append(b.texts, kind.String()+" "+tree.ElemsText(elems))
	if err := b.permitted(elems); err != nil {
		return err
	}
	if kind == datastore.Replace {
		if err := b.replaceable(elems); err != nil {
			return err
		}
	}
	if u.GetDuplicates() != 0 {
		return status.Errorf(codes.InvalidArgument, "set: %s: duplicates is only for telemetry", tree.ElemsText(elems))
	}
	path, err := tree.Resolve(b.sch.Root, elems)
	if err != nil {
		return grpcError("set", err)
	}
	if err := writable(path); err != nil {
		return err
	}
	if err := checkValue(kind, path, u.GetVal()); err != nil {
		return err
	}
	payload, err := decodePayload(b.sch, path, u.GetVal(), kind == datastore.Update)
	if err != nil {
		return grpcError("set", err)
	}
	if err := b.payloadWritable(path, payload); err != nil {
		return err
	}
	b.ops, b.paths = append(b.ops, datastore.Op{Kind: kind, Path: path, Payload: payload}), append(b.paths, elems)
	return nil
}

// decodePayload decodes an update's value (merge: an Update, which
// needs no default leaves: tree.DecodeTypedForMerge).
func decodePayload(sch *schema.Schema, p tree.Path, tv *gpb.TypedValue, merge bool) (*tree.Node, error) {
	if tv == nil {
		return nil, &tree.Error{Kind: tree.KindInvalid, Path: tree.PathString(p), Msg: "missing value"}
	}
	typed, root := tree.DecodeTyped, tree.DecodeRootJSON
	if merge {
		typed, root = tree.DecodeTypedForMerge, tree.DecodeRootJSONForMerge
	}
	if len(p) > 0 {
		return typed(p, tv)
	}
	switch v := tv.GetValue().(type) {
	case *gpb.TypedValue_JsonIetfVal:
		return root(sch.Root, v.JsonIetfVal, true)
	case *gpb.TypedValue_JsonVal:
		return root(sch.Root, v.JsonVal, false)
	}
	return nil, &tree.Error{Kind: tree.KindInvalid, Path: "/", Msg: fmt.Sprintf("the root takes a JSON or JSON_IETF value, not %T", tv.GetValue())}
}

// summary is the commit log's short description of the transaction.
func (b *setBuilder) summary() string {
	const max = 4
	if len(b.texts) <= max {
		return strings.Join(b.texts, "; ")
	}
	return strings.Join(b.texts[:max], "; ") + fmt.Sprintf("; and %d more", len(b.texts)-max)
}
