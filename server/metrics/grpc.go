package metrics

import (
	"context"
	"strings"
	"sync"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnaryInterceptor counts and times every unary RPC by method and code.
// Install it first, in front of panic recovery and authentication, so
// that refused and failed requests are counted with the code the client
// got. It only observes: it never changes a request or a response.
func (m *Metrics) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m.series(info.FullMethod, codes.OK).started.Inc()
		start := time.Now()
		resp, err := handler(ctx, req)
		m.handled(info.FullMethod, err, time.Since(start))
		return resp, err
	}
}

// StreamInterceptor is UnaryInterceptor for streams; for Subscribe it also
// times the first sync_response.
func (m *Metrics) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		m.series(info.FullMethod, codes.OK).started.Inc()
		start := time.Now()
		err := handler(srv, &syncStream{ServerStream: ss, m: m, start: start})
		m.handled(info.FullMethod, err, time.Since(start))
		return err
	}
}

func (m *Metrics) handled(fullMethod string, err error, took time.Duration) {
	s := m.series(fullMethod, code(err))
	s.handled.Inc()
	s.seconds.Observe(took.Seconds())
}

// rpcKey names the series of one method and code.
type rpcKey struct {
	method string
	code   codes.Code
}

// rpcSeries are the series of one method and code, looked up once: a
// lookup by label values hashes them every time, which costs more than
// the counting itself.
type rpcSeries struct {
	started prometheus.Counter
	handled prometheus.Counter
	seconds prometheus.Observer
}

// series returns the series of a method and code, creating them on first
// use. The methods are those registered with the gRPC server (it answers
// others itself), so the cache is bounded.
func (m *Metrics) series(fullMethod string, c codes.Code) *rpcSeries {
	k := rpcKey{fullMethod, c}
	if s, ok := m.rpcCache.Load(k); ok {
		return s.(*rpcSeries)
	}
	service, method := splitMethod(fullMethod)
	s := &rpcSeries{
		started: m.rpcStarted.WithLabelValues(service, method),
		handled: m.rpcHandled.WithLabelValues(service, method, c.String()),
		seconds: m.rpcSeconds.WithLabelValues(service, method, c.String()),
	}
	v, _ := m.rpcCache.LoadOrStore(k, s)
	return v.(*rpcSeries)
}

// code is the status code the client receives for err, converted the way
// gRPC converts a handler's error (a bare context error keeps its code).
func code(err error) codes.Code {
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return status.FromContextError(err).Code()
}

// splitMethod splits "/gnmi.gNMI/Set" into its service and method.
func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// syncStream notes when a Subscribe stream sends its first sync_response.
type syncStream struct {
	grpc.ServerStream
	m     *Metrics
	start time.Time
	once  sync.Once
}

func (s *syncStream) SendMsg(msg any) error {
	err := s.ServerStream.SendMsg(msg)
	if r, ok := msg.(*gpb.SubscribeResponse); ok && err == nil && r.GetSyncResponse() {
		s.once.Do(func() { s.m.syncSeconds.Observe(time.Since(s.start).Seconds()) })
	}
	return err
}
