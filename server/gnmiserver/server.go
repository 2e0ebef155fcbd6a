// Package gnmiserver implements the gNMI service (specification v0.10) on
// top of the datastore: Capabilities, Get, Set, and Subscribe (delivered by
// the telemetry hub). It translates between gNMI messages and the
// schema-driven tree; it holds no data of its own.
package gnmiserver

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/audit"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/history"
	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/telemetry"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

// Version is the gNMI specification version the server implements.
const Version = "0.10.0"

// Server answers gNMI RPCs from a datastore.
type Server struct {
	gpb.UnimplementedGNMIServer
	ds     *datastore.Datastore
	hub    *telemetry.Hub
	audit  *audit.Log
	access Access
	log    *slog.Logger
	hist   *history.Reader
	live   *live.Reader
}

// Options are the server's collaborators besides the datastore.
type Options struct {
	Hub    *telemetry.Hub // delivers subscriptions
	Audit  *audit.Log     // records Set requests; nil: no audit log
	Access Access         // decides what callers may do; nil: everything
	Log    *slog.Logger
	// History answers the History extension; nil: it is Unimplemented.
	History *history.Reader
	// Live reads the state that is never stored (counters) for the Gets
	// that reach it; nil: there is none.
	Live *live.Reader
}

// Access is what the server asks about the caller of an RPC.
type Access interface {
	// Caller names the authenticated user and roles ("" when
	// authentication is off), for the audit log.
	Caller(ctx context.Context) (user string, roles []string)
	// Readable returns what the caller may read (subscribe: by Subscribe);
	// nil means everything. Get and Subscribe leave out the rest without
	// a trace: no data, no error that would tell it exists.
	Readable(ctx context.Context, subscribe bool) tree.PathVisibleFunc
	// Writable returns the judge of every change of the caller's Sets;
	// nil means everything.
	Writable(ctx context.Context) validate.Authorizer
	// MayWrite reports whether the caller may write anything at or below
	// a request path; Set refuses paths where it may not, existing or not.
	MayWrite(ctx context.Context, path []*gpb.PathElem) bool
	// WriteScope returns what the caller may write, as Readable does for
	// reads; nil means everything. Set judges explicit deletes, replaces
	// and payloads with it before any data is looked at (setaccess.go).
	WriteScope(ctx context.Context) tree.PathVisibleFunc
	// OpenStream counts a Subscribe against the caller's stream limit
	// (ResourceExhausted past it); release when the stream ends.
	OpenStream(ctx context.Context) (release func(), err error)
}

// New returns a gNMI server over ds.
func New(ds *datastore.Datastore, opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Server{ds: ds, hub: opts.Hub, audit: opts.Audit, access: opts.Access, log: opts.Log, hist: opts.History, live: opts.Live}
}

// Register adds the service to a gRPC server.
func (s *Server) Register(g *grpc.Server) { gpb.RegisterGNMIServer(g, s) }

// Capabilities reports the loaded modules, the encodings and the version.
func (s *Server) Capabilities(ctx context.Context, req *gpb.CapabilityRequest) (*gpb.CapabilityResponse, error) {
	if len(req.GetExtension()) > 0 {
		return nil, status.Error(codes.Unimplemented, "capabilities: extensions are not supported")
	}
	mods := s.ds.Schema().Modules
	models := make([]*gpb.ModelData, len(mods))
	for i, m := range mods {
		models[i] = &gpb.ModelData{Name: m.Name, Organization: m.Organization, Version: m.Revision}
	}
	return &gpb.CapabilityResponse{
		SupportedModels:    models,
		SupportedEncodings: []gpb.Encoding{gpb.Encoding_JSON, gpb.Encoding_JSON_IETF, gpb.Encoding_PROTO},
		GNMIVersion:        Version,
	}, nil
}

func (s *Server) readable(ctx context.Context, subscribe bool) tree.PathVisibleFunc {
	if s.access == nil {
		return nil
	}
	return s.access.Readable(ctx, subscribe)
}

// grpcError turns an error from the lower layers into a gRPC status that
// names the path at fault: clients cannot read a response body sent with a
// non-OK status, so the message must say everything.
func grpcError(op string, err error) error {
	var te *tree.Error
	switch {
	case errors.As(err, &te):
		return status.Errorf(codeOf(te.Kind), "%s: %s", op, te.Error())
	case errors.Is(err, datastore.ErrClosed):
		return status.Errorf(codes.Unavailable, "%s: server is shutting down", op)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Errorf(codes.Internal, "%s: %v", op, err)
}

// codeOf maps the core's error kinds to gRPC codes (gNMI 3.3.4, 3.4.7,
// 3.5.2.4; docs/validation.md): the one place where they meet.
func codeOf(k tree.Kind) codes.Code {
	switch k {
	case tree.KindInvalid:
		return codes.InvalidArgument
	case tree.KindNotFound:
		return codes.NotFound
	case tree.KindConflict:
		return codes.FailedPrecondition
	case tree.KindDenied:
		return codes.PermissionDenied
	case tree.KindAborted:
		return codes.Aborted
	case tree.KindUnavailable:
		return codes.Unavailable
	case tree.KindExhausted:
		return codes.ResourceExhausted
	case tree.KindCorrupt:
		return codes.DataLoss
	case tree.KindOutOfRange:
		return codes.OutOfRange
	case tree.KindUnimplemented:
		return codes.Unimplemented
	}
	return codes.Internal
}

// checkOrigin accepts the default origin and the module-less "netready".
// Anything else names models the server does not have.
func checkOrigin(origin string) error {
	if origin == "" || origin == "netready" {
		return nil
	}
	return status.Errorf(codes.NotFound, "origin %q is not served (use no origin)", origin)
}

// fullElems joins prefix and path for operation op, checking origins.
func fullElems(op string, prefix, p *gpb.Path) ([]*gpb.PathElem, error) {
	if err := checkOrigin(prefix.GetOrigin()); err != nil {
		return nil, err
	}
	if err := checkOrigin(p.GetOrigin()); err != nil {
		return nil, err
	}
	//lint:ignore SA1019 the deprecated element field is refused, not used.
	if len(p.GetElement()) > 0 || len(prefix.GetElement()) > 0 {
		return nil, status.Errorf(codes.InvalidArgument, "%s: path uses the deprecated 'element' field; use 'elem'", op)
	}
	elems := make([]*gpb.PathElem, 0, len(prefix.GetElem())+len(p.GetElem()))
	elems = append(elems, prefix.GetElem()...)
	elems = append(elems, p.GetElem()...)
	for i, e := range elems {
		if e.GetName() == "" {
			return nil, status.Errorf(codes.InvalidArgument, "%s: path element %d has no name", op, i)
		}
	}
	return elems, nil
}

// checkSizes refuses a request whose prefix joined with any of its paths,
// or alone (a request may have no paths), exceeds the size bounds
// (tree.CheckPathSize). RPCs run it before any other work, so an
// oversized path costs its lengths and nothing else.
func checkSizes(op string, prefix *gpb.Path, paths []*gpb.Path) error {
	for _, p := range paths {
		elems := append(prefix.GetElem()[:len(prefix.GetElem()):len(prefix.GetElem())], p.GetElem()...)
		if err := tree.CheckPathSize(elems); err != nil {
			return grpcError(op, err)
		}
	}
	return tree.CheckPathSize(prefix.GetElem())
}

// readElems joins prefix and path for Get and Subscribe and checks them
// against the schema. A well-formed path the server does not implement
// (an unknown name or origin) is Unimplemented for reads (gNMI 3.3.4,
// 3.5.2.4), where NotFound means a schema path without data; Set keeps
// NotFound for it (3.4.7).
func readElems(op string, root *schema.Node, prefix, p *gpb.Path) ([]*gpb.PathElem, error) {
	elems, err := fullElems(op, prefix, p)
	if err == nil {
		err = tree.CheckPattern(root, elems)
	}
	if err == nil {
		return elems, nil
	}
	err = grpcError(op, err)
	if st := status.Convert(err); st.Code() == codes.NotFound {
		return nil, status.Error(codes.Unimplemented, st.Message())
	}
	return nil, err
}

// hasWildcard reports whether elems use "*", "..." or a "*" key.
func hasWildcard(elems []*gpb.PathElem) bool {
	for _, e := range elems {
		if e.GetName() == "*" || e.GetName() == "..." {
			return true
		}
		for _, v := range e.GetKey() {
			if v == "*" {
				return true
			}
		}
	}
	return false
}

// RecoverUnary turns a panic in a handler into an Internal error instead of
// a crashed server, and logs it with its stack.
func RecoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "%s: internal error", info.FullMethod)
			}
		}()
		return h(ctx, req)
	}
}

// RecoverStream is RecoverUnary for streaming RPCs.
func RecoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "%s: internal error", info.FullMethod)
			}
		}()
		return h(srv, ss)
	}
}
