package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/netready/netready/server/metrics"
	"github.com/netready/netready/server/telemetry"
)

// RoleStandalone is the replication role of the single bbolt server (see
// metrics.SetRole; replicas on etcd are leaders and followers).
const RoleStandalone = "standalone"

// liveStack is what a metrics scrape reads of the open data stack. It is
// published whole when the stack opens and withdrawn before it closes, so
// a scrape never sees a half-built stack.
type liveStack struct {
	st  backend
	hub *telemetry.Hub
}

// metricsState is the daemon as a scrape sees it.
func (d *Daemon) metricsState() metrics.State {
	s := metrics.State{Serving: d.serving.Load()}
	live := d.live.Load()
	if live == nil {
		return s
	}
	s.Open = true
	s.QueueDepths = live.hub.QueueDepths()
	s.Sizes, s.SizesErr = live.st.Sizes()
	return s
}

// setServing tells the health service (and netready_serving) whether the
// data stack is open, and for a replica on etcd whether it holds an etcd
// session (dataUp, newReplica).
func (d *Daemon) setServing(serving bool) {
	if serving && d.health.stopping.Err() != nil {
		return // Stop has begun: NOT_SERVING for good
	}
	d.serving.Store(serving)
	d.health.set(serving)
}

// dataUp says SERVING once the data stack is open; a replica says so
// itself, while it holds an etcd session (newReplica).
func (d *Daemon) dataUp() {
	if d.replica == nil {
		d.setServing(true)
	}
}

// healthService is the standard gRPC health service (grpc.health.v1). It
// answers without credentials (see auth.HealthMethods) for the server as
// a whole (service "") and for gNMI (service "gnmi.gNMI"): SERVING while
// the data stack is open, NOT_SERVING while a models reload reopens it,
// and for good once Stop begins.
type healthService struct {
	*health.Server
	// stopping is cancelled when Stop begins: Watch streams end once
	// they have told their client NOT_SERVING, so that they do not hold
	// the graceful stop for its whole grace period.
	stopping context.Context
	stop     context.CancelFunc
}

// watchDrain bounds how long a Watch stream may take, once Stop began, to
// send NOT_SERVING before it is ended anyway.
const watchDrain = time.Second

func newHealthService() *healthService {
	h := &healthService{Server: health.NewServer()}
	h.stopping, h.stop = context.WithCancel(context.Background())
	h.set(false)
	return h
}

func (h *healthService) set(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	h.SetServingStatus("", st)
	h.SetServingStatus(gpb.GNMI_ServiceDesc.ServiceName, st)
}

// shutdown says NOT_SERVING for good and ends the Watch streams.
func (h *healthService) shutdown() {
	h.Shutdown()
	h.stop()
}

// Watch is the health service's Watch, ended by shutdown once the client
// has been told.
func (h *healthService) Watch(req *healthpb.HealthCheckRequest, ss healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	w := &watchStream{Health_WatchServer: ss, ctx: ctx, sent: make(chan struct{}, 1)}
	defer context.AfterFunc(h.stopping, func() {
		w.waitDown(watchDrain)
		cancel()
	})()
	return h.Server.Watch(req, w)
}

// watchStream is a Watch stream that knows whether the last status it
// sent was SERVING.
type watchStream struct {
	healthpb.Health_WatchServer
	ctx  context.Context
	sent chan struct{} // a status was sent
	mu   sync.Mutex
	up   bool // the last status sent was SERVING
}

func (w *watchStream) Context() context.Context { return w.ctx }

func (w *watchStream) Send(r *healthpb.HealthCheckResponse) error {
	err := w.Health_WatchServer.Send(r)
	w.mu.Lock()
	w.up = err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	w.mu.Unlock()
	select {
	case w.sent <- struct{}{}:
	default:
	}
	return err
}

// waitDown waits until the client was told the server is not serving, at
// most max.
func (w *watchStream) waitDown(max time.Duration) {
	deadline := time.After(max)
	for {
		w.mu.Lock()
		up := w.up
		w.mu.Unlock()
		if !up {
			return
		}
		select {
		case <-w.sent:
		case <-deadline:
			return
		}
	}
}

// listenMetrics serves the metrics on --metrics-listen, if set.
func (d *Daemon) listenMetrics() error {
	if d.cfg.MetricsListen == "" {
		return nil
	}
	addr, err := metricsAddr(d.cfg.MetricsListen)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.metrics.Handler())
	d.metricsLis = lis
	d.metricsSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	d.log.Info("serving metrics", "addr", lis.Addr().String(), "path", "/metrics")
	go func() {
		if err := d.metricsSrv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics listener failed", "err", err)
		}
	}()
	return nil
}

// MetricsAddr is the address the metrics are served on ("" when off).
func (d *Daemon) MetricsAddr() string {
	if d.metricsLis == nil {
		return ""
	}
	return d.metricsLis.Addr().String()
}

func (d *Daemon) closeMetrics() {
	if d.metricsSrv != nil {
		_ = d.metricsSrv.Close()
	}
}

// metricsAddr gives a --metrics-listen without a host (":9464") the
// loopback host: the metrics are plaintext and unauthenticated, so serving
// them beyond this machine takes an explicit host ("0.0.0.0:9464").
func metricsAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("--metrics-listen %q: %w", s, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}
