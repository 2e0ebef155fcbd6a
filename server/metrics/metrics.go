// Package metrics is the server's Prometheus instrumentation: what it
// measures, and where it observes from outside the parts it measures —
// gRPC interceptors (every RPC by method and code), a wrapped store
// (group-commit batch sizes and durable write time), wrapped southbound
// drivers (realization time and failures per backend) and a view of the
// daemon taken at scrape time (serving, subscribers and their queues, log
// sizes). The measured packages know nothing of it.
//
// Every daemon has its own registry; nothing is registered with the
// Prometheus default registry, so two servers in one process (the tests)
// never share a counter. Names follow the Prometheus conventions:
// netready_ prefix, base units (_seconds, _bytes), _total for counters.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds one daemon's metrics.
type Metrics struct {
	reg *prometheus.Registry

	rpcStarted  *prometheus.CounterVec   // service, method
	rpcHandled  *prometheus.CounterVec   // service, method, code
	rpcSeconds  *prometheus.HistogramVec // service, method, code
	syncSeconds prometheus.Histogram
	rpcCache    sync.Map // rpcKey -> *rpcSeries

	batchSize     prometheus.Histogram
	writeSeconds  prometheus.Histogram
	writeFailures prometheus.Counter

	realizeSeconds  *prometheus.HistogramVec // backend, op
	realizeFailures *prometheus.CounterVec   // backend, op

	role          *prometheus.GaugeVec // role
	leaderChanges prometheus.Counter
	followerLag   prometheus.Gauge
}

// latencyBuckets span 0.5 ms (a Get of a leaf) to about a minute (a long
// realization or a Subscribe dump), a factor 2.5 apart.
var latencyBuckets = prometheus.ExponentialBuckets(0.0005, 2.5, 14)

// New returns the metrics of a daemon; state is called at every scrape
// for what is read rather than counted (see State).
func New(state func() State) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		rpcStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netready_grpc_started_total",
			Help: "RPCs started, by gRPC service and method (Subscribe: streams opened).",
		}, []string{"service", "method"}),
		rpcHandled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netready_grpc_handled_total",
			Help: "RPCs completed, by gRPC service, method and status code; refused requests (Unauthenticated, PermissionDenied, InvalidArgument) included.",
		}, []string{"service", "method", "code"}),
		rpcSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "netready_grpc_handling_seconds",
			Help:    "Time from an RPC's arrival to its status, by service, method and code (Subscribe STREAM: the stream's life; see netready_subscribe_sync_seconds).",
			Buckets: latencyBuckets,
		}, []string{"service", "method", "code"}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "netready_subscribe_sync_seconds",
			Help:    "Time from a Subscribe request to its sync_response: how long a collector waits for the initial dump.",
			Buckets: latencyBuckets,
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "netready_commit_batch_size",
			Help:    "Set transactions written per durable store write (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 .. 256, the writer's batch bound
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "netready_store_write_seconds",
			Help:    "Time of one durable store write (a group commit: page writes and fsync).",
			Buckets: latencyBuckets,
		}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "netready_store_write_failures_total",
			Help: "Durable store writes that failed (their Sets were refused with Unavailable).",
		}),
		realizeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "netready_realize_seconds",
			Help:    "Time of one southbound driver call, by backend and operation (apply: a transaction's changes; reconcile: full state).",
			Buckets: latencyBuckets,
		}, []string{"backend", "op"}),
		realizeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netready_realize_failures_total",
			Help: "Southbound driver calls that failed or timed out, by backend and operation.",
		}, []string{"backend", "op"}),
		role: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "netready_replica_role",
			Help: "1 for this server's replication role: standalone (one bbolt server), leader or follower (replicas on etcd).",
		}, []string{"role"}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "netready_leader_changes_total",
			Help: "Changes of leader this replica saw (always 0 for a standalone server).",
		}),
		followerLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "netready_follower_lag_commits",
			Help: "Commits this follower has yet to apply from its leader (always 0 for a standalone server or a leader).",
		}),
	}
	m.reg.MustRegister(
		m.rpcStarted, m.rpcHandled, m.rpcSeconds, m.syncSeconds,
		m.batchSize, m.writeSeconds, m.writeFailures,
		m.realizeSeconds, m.realizeFailures,
		m.role, m.leaderChanges, m.followerLag,
		stateCollector{state: state},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus text format (or
// OpenMetrics, if the scraper asks). Scrapes beyond two at once wait
// their turn rather than pile up.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
		EnableOpenMetrics:   true,
	})
}

// SetRole records this server's replication role. The single bbolt
// server is "standalone"; the etcd replicas (issue #15) will call it
// with "leader" or "follower" on every change of role.
func (m *Metrics) SetRole(role string) {
	m.role.Reset()
	m.role.WithLabelValues(role).Set(1)
}

// LeaderChanged is the hook for the etcd replicas (issue #15): each
// replica calls it whenever it learns of a new leader.
func (m *Metrics) LeaderChanged() { m.leaderChanges.Inc() }

// SetFollowerLag is the hook for the etcd replicas (issue #15): a
// follower reports how many commits it has yet to apply, and its health
// stays NOT_SERVING until it has caught up.
func (m *Metrics) SetFollowerLag(commits uint64) { m.followerLag.Set(float64(commits)) }
