package auth

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// bareStream is the context of a stream with no credentials: all the
// stream interceptor reads before it decides.
type bareStream struct{ grpc.ServerStream }

func (bareStream) Context() context.Context { return context.Background() }

// TestPublicMethods checks that exactly the named methods pass without
// credentials (and without an Identity), and that a look-alike name or
// another method of the server does not.
func TestPublicMethods(t *testing.T) {
	a := NewAuthenticator(testUsers(t), Options{})
	unary := a.UnaryInterceptor(HealthMethods()...)
	stream := a.StreamInterceptor(HealthMethods()...)
	call := func(method string) (ran bool, anonymous bool, uerr, serr error) {
		h := func(ctx context.Context, _ any) (any, error) {
			_, has := FromContext(ctx)
			ran, anonymous = true, !has
			return nil, nil
		}
		_, uerr = unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: method}, h)
		sran := false
		serr = stream(nil, bareStream{}, &grpc.StreamServerInfo{FullMethod: method}, func(any, grpc.ServerStream) error { sran = true; return nil })
		if sran != ran {
			t.Fatalf("%s: unary ran %v, stream ran %v", method, ran, sran)
		}
		return ran, anonymous, uerr, serr
	}
	for _, m := range []string{"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List"} {
		if ran, anon, uerr, serr := call(m); !ran || !anon || uerr != nil || serr != nil {
			t.Errorf("%s without credentials: ran %v anonymous %v, errors %v / %v; want it answered", m, ran, anon, uerr, serr)
		}
	}
	for _, m := range []string{"/gnmi.gNMI/Get", "/gnmi.gNMI/Set", "/grpc.health.v1.Health/CheckX", "/x.grpc.health.v1.Health/Check", "grpc.health.v1.Health/Check"} {
		ran, _, uerr, serr := call(m)
		if ran || status.Code(uerr) != codes.Unauthenticated || status.Code(serr) != codes.Unauthenticated {
			t.Errorf("%s without credentials: ran %v, errors %v / %v; want Unauthenticated", m, ran, uerr, serr)
		}
	}
	// Without public methods, the health service needs credentials too.
	if _, err := a.UnaryInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"},
		func(context.Context, any) (any, error) { return nil, nil }); status.Code(err) != codes.Unauthenticated {
		t.Errorf("health Check with no public methods: %v, want Unauthenticated", err)
	}
}
