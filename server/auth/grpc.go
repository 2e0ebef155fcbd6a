package auth

import (
	"context"

	"google.golang.org/grpc"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
)

// ctxKey is the context key of the Identity; unexported so only this
// package can set it and a handler can trust what FromContext returns.
type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity the interceptors stored in ctx.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok && id != nil
}

// HealthMethods are the full names of the methods of the standard gRPC
// health service (grpc.health.v1.Health): what a load balancer or an
// orchestrator probes, without credentials. They tell whether the server
// serves and nothing else, so a server may pass them as public methods to
// its interceptors.
func HealthMethods() []string {
	return []string{healthgrpc.Health_Check_FullMethodName, healthgrpc.Health_Watch_FullMethodName, healthgrpc.Health_List_FullMethodName}
}

// publicSet is the set of methods answered without authentication,
// matched by exact full name.
func publicSet(public []string) map[string]bool {
	set := make(map[string]bool, len(public))
	for _, m := range public {
		set[m] = true
	}
	return set
}

// UnaryInterceptor authenticates every unary RPC before its handler runs
// and passes the Identity down in the context; the public methods (exact
// full names, such as HealthMethods) run without credentials and without
// an Identity. Install it before every interceptor that acts on the
// request (only panic recovery and observers that never act on it belong
// in front of it), so nothing else sees an unauthenticated request.
func (a *Authenticator) UnaryInterceptor(public ...string) grpc.UnaryServerInterceptor {
	open := publicSet(public)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if open[info.FullMethod] {
			return handler(ctx, req)
		}
		id, err := a.Authenticate(ctx)
		if err != nil {
			return nil, err
		}
		return handler(NewContext(ctx, id), req)
	}
}

// StreamInterceptor authenticates every streaming RPC (Subscribe) once,
// when the stream opens, and passes the Identity down in the stream's
// context; the public methods run without credentials.
func (a *Authenticator) StreamInterceptor(public ...string) grpc.StreamServerInterceptor {
	open := publicSet(public)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if open[info.FullMethod] {
			return handler(srv, ss)
		}
		id, err := a.Authenticate(ss.Context())
		if err != nil {
			return err
		}
		return handler(srv, &identityStream{ServerStream: ss, ctx: NewContext(ss.Context(), id)})
	}
}

// identityStream is a ServerStream whose Context carries the Identity.
type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }
