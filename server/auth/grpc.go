package auth

import (
	"context"

	"google.golang.org/grpc"
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

// UnaryInterceptor authenticates every unary RPC before its handler runs
// and passes the Identity down in the context. Install it before every
// interceptor that acts on the request (only panic recovery belongs in
// front of it), so nothing else sees an unauthenticated request.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		id, err := a.Authenticate(ctx)
		if err != nil {
			return nil, err
		}
		return handler(NewContext(ctx, id), req)
	}
}

// StreamInterceptor authenticates every streaming RPC (Subscribe) once,
// when the stream opens, and passes the Identity down in the stream's
// context.
func (a *Authenticator) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
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
