// Package daemon assembles a NetReady server from its parts — schema,
// store, datastore, gNMI service, transport — and runs it. The netreadyd
// command and the end-to-end tests both start servers through it, so the
// tests exercise exactly what operators run.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/netready/netready/server/access"
	"github.com/netready/netready/server/audit"
	"github.com/netready/netready/server/auth"
	"github.com/netready/netready/server/commits"
	"github.com/netready/netready/server/confirm"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/gnmiserver"
	"github.com/netready/netready/server/gnmiwire"
	"github.com/netready/netready/server/history"
	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/metrics"
	"github.com/netready/netready/server/replica"
	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/system"
	"github.com/netready/netready/server/telemetry"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/interconnect"
	"github.com/netready/netready/southbound/routing"
)

// Config is what an operator sets on the command line.
type Config struct {
	Listen            string // gNMI listen address
	DataDir           string // database and generated certificates
	Insecure          bool   // plaintext gRPC, for local testing on loopback
	InsecureForce     bool   // allow Insecure on a non-loopback address
	CertFile          string // TLS certificate; default: self-signed in DataDir
	KeyFile           string // TLS key for CertFile
	ClientCAFile      string // verify client certificates against this CA (mTLS)
	RequireClientCert bool   // refuse clients without a certificate
	UsersFile         string // users and password hashes; default DataDir/users.json
	PolicyFile        string // authorization policy; default: the built-in roles
	ModelsDir         string // YANG modules loaded at run time; default DataDir/models
	MaxStreamsPerUser int    // concurrent Subscribe RPCs per user (0: no limit)
	BcryptCost        int    // cost of the first-start admin password hash (tests lower it)
	// InitEmptyStore starts with an empty database in a data dir that was
	// used before but lost it (see guardEmptyStore).
	InitEmptyStore bool

	// Drivers are the southbound driver kinds backends may name; nil
	// means the built-in ones (Drivers()).
	Drivers southbound.Registry
	// NoSouthbound serves and stores configuration without realizing it
	// on any backend (design and lab use, gNMI client testing).
	NoSouthbound bool
	// AllowRouteTargetViolations serves a store whose VPNs use route
	// targets their tenant does not own, logging each, instead of
	// refusing to start (see checkRouteTargets).
	AllowRouteTargetViolations bool

	MaxMsgSize          int           // largest gRPC message, both directions
	Retention           int           // commit-log records kept
	AuditRetention      int           // audit-log entries kept
	AuditRetentionBytes int64         // audit-log bytes kept (entries, as stored)
	ShutdownGrace       time.Duration // how long Stop waits for RPCs in flight

	// Gateway is this site's gateway, where the isolated underlay of the
	// connections between sites is built (southbound/interconnect); zero:
	// none, and a connection asking for isolation is refused.
	Gateway interconnect.Gateway

	// LabelMin is the smallest label (VXLAN VNI) this server assigns to
	// a new VRF or binding (0: routing.FirstLabel). The servers of sites
	// joined by a connection take disjoint ranges, since a forwarder tells
	// a VRF's tunnels apart by label.
	LabelMin uint32

	// Store is the backend: StoreBolt (default) or StoreEtcd, reached
	// as Etcd says.
	Store string
	Etcd  EtcdConfig

	// MetricsListen is where Prometheus metrics are served over HTTP
	// (/metrics); empty: not served. A missing host means loopback.
	MetricsListen string

	// GCPercent is the garbage collector's target (0: DefaultGCPercent);
	// a GOGC environment variable overrides it (gc.go).
	GCPercent int
}

// DBFile is the database file name inside the data dir.
const DBFile = "netready.db"

// liveTimeout bounds each read of live state (counters) for a Get or a
// sample: a backend that cannot answer by then leaves its objects
// without counters rather than holding the reader.
const liveTimeout = 2 * time.Second

// probeEvery is how often the forwarders that probe are asked which
// instances stopped answering (VNF liveness: docs/southbound.md).
const probeEvery = time.Second

// Version is the server's version, published in /system/state.
const Version = "0.2.0"

// Daemon is a running server.
type Daemon struct {
	cfg       Config
	log       *slog.Logger
	st        backend
	ds        *datastore.Datastore
	sys       *system.State
	audit     *audit.Log
	confirm   *confirm.Manager // commit-confirmed
	commits   *commits.View    // the newest commits as state
	authn     *auth.Authenticator
	failLog   *auth.FailureLog // rate-limited log of authentication failures
	access    *access.Control
	tlsReload *auth.Reloader
	admin     *admin // the admin socket (backups)
	hub       *telemetry.Hub
	realize   *realizing       // the engine, run while this server may touch the network
	replica   *replica.Replica // with --store etcd: election and follower
	grpc      *grpc.Server
	lis       net.Listener
	errc      chan error
	stopSys   context.CancelFunc
	sysDone   chan struct{}

	metrics    *metrics.Metrics
	metricsSrv *http.Server // nil when the metrics are not served
	metricsLis net.Listener
	health     *healthService
	serving    atomic.Bool               // what the health service says
	live       atomic.Pointer[liveStack] // the open data stack, for scrapes

	front      *front        // the gNMI service, forwarding to the current stack
	reloadMu   sync.Mutex    // serializes models reloads and Stop
	models     *models       // the loaded modules; under reloadMu
	stopped    bool          // Stop has begun; under reloadMu
	lastReload atomic.Uint64 // models-reload-request last acted on
}

// Start opens the store, loads the configuration and starts serving.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Daemon, error) {
	if cfg.MaxMsgSize <= 0 {
		cfg.MaxMsgSize = 256 << 20
	}
	if cfg.AuditRetention <= 0 {
		cfg.AuditRetention = 10000
	}
	if cfg.AuditRetentionBytes <= 0 {
		cfg.AuditRetentionBytes = store.DefaultAuditRetentionBytes
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	if cfg.LabelMin > routing.DefaultMaxLabel {
		return nil, fmt.Errorf("label-min %d: labels end at %d", cfg.LabelMin, routing.DefaultMaxLabel)
	}
	if cfg.MetricsListen != "" {
		if _, err := metricsAddr(cfg.MetricsListen); err != nil {
			return nil, err // before anything is opened
		}
	}
	if err := setGCTarget(cfg.GCPercent, os.LookupEnv, log); err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: log, errc: make(chan error, 1), health: newHealthService()}
	d.metrics = metrics.New(d.metricsState)
	d.metrics.SetRole(RoleStandalone)
	if d.usesBolt() {
		if err := d.guardEmptyStore(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	d.front = &front{d: d}
	m, err := d.loadModels(ctx, nil)
	if err != nil {
		return nil, err
	}
	d.models = m
	d.logModels(m)
	if err := d.saveModels(m); err != nil {
		return nil, err
	}
	d.sys = system.New(m.sch, Version, time.Now())
	if err := d.setupAccess(); err != nil {
		return nil, err
	}
	if err := d.open(ctx, m.sch); err != nil {
		d.closeData()
		return nil, err
	}
	if d.usesBolt() {
		if err := d.writeStoreMarker(); err != nil {
			d.closeData()
			return nil, err
		}
	}
	d.lastReload.Store(d.reloadRequest())
	if err := d.publishModels(ctx, m); err != nil {
		d.closeData()
		return nil, err
	}
	if err := d.listenAdmin(); err != nil {
		// Serving matters more than backups: say so loudly and go on.
		d.log.Error("no admin socket: netreadyd backup will not work", "err", err)
	}
	if err := d.listenMetrics(); err != nil {
		d.admin.close()
		d.closeData()
		return nil, err
	}
	if err := d.serve(); err != nil {
		d.closeMetrics()
		d.admin.close()
		d.closeData()
		return nil, err
	}
	d.startReplica()
	d.dataUp()
	return d, nil
}

func (d *Daemon) open(ctx context.Context, sch *schema.Schema) error {
	st, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	d.st = st
	d.audit = audit.New(sch, st, audit.Retention{Entries: d.cfg.AuditRetention, Bytes: d.cfg.AuditRetentionBytes})
	d.commits = commits.New(sch, 0)
	if d.confirm, err = confirm.New(ctx, st, sch, d.log); err != nil {
		return err
	}
	start := time.Now()
	opts := datastore.Options{Logger: d.log, Hooks: []datastore.CommitHook{d.sys, d.audit, d.commits, d.confirm}, Gate: d.confirm}
	if !d.cfg.NoSouthbound {
		d.realize = newRealizing(sch, d.log, func() *term { return d.newTerm(sch) })
		opts.Realizer = d.realize
	}
	d.newReplica(&opts)
	if d.ds, err = datastore.Open(ctx, sch, d.metrics.Store(st), rules.All(), opts); err != nil {
		return err
	}
	if err := d.checkRouteTargets(); err != nil {
		return err
	}
	if err := d.startSouthbound(ctx); err != nil {
		return err
	}
	if err := d.audit.Start(ctx, d.ds); err != nil {
		return err
	}
	if err := d.commits.Start(ctx, st, d.ds); err != nil {
		return err
	}
	// After the southbound started: a rollback due at start is realized.
	if err := d.confirm.Start(ctx, d.ds); err != nil {
		return err
	}
	if err := d.publishAccess(ctx); err != nil {
		return err
	}
	d.log.Info("datastore loaded", "commit", st.LastCommitID(), "took", time.Since(start).String())
	var lr *live.Reader
	if d.realize != nil {
		lr = live.New(d.realize, liveTimeout)
	}
	d.hub = telemetry.NewHub(d.ds, d.log, telemetry.Options{OnCount: d.sys.AddSubscriptions, Live: lr})
	d.front.cur = gnmiserver.New(d.ds, gnmiserver.Options{Hub: d.hub, Audit: d.audit, Access: d.access, Log: d.log, History: history.New(d.ds, st), Live: lr})
	sysCtx, stop := context.WithCancel(context.Background())
	d.stopSys, d.sysDone = stop, make(chan struct{})
	go func() {
		defer close(d.sysDone)
		var wg sync.WaitGroup
		if err := d.sys.Run(sysCtx, d.ds); err != nil {
			d.log.Error("system state", "err", err)
		}
		wg.Wait()
	}()
	d.live.Store(&liveStack{st: st, hub: d.hub})
	d.startReplica() // a reopen (models reload): the listener is known
	return nil
}

func (d *Daemon) serve() error {
	creds, err := d.credentials()
	if err != nil {
		return err
	}
	d.grpc = grpc.NewServer(
		grpc.Creds(creds),
		grpc.MaxRecvMsgSize(d.cfg.MaxMsgSize),
		grpc.MaxSendMsgSize(d.cfg.MaxMsgSize),
		// Subscribe notifications are written by hand (the same bytes as
		// protobuf's, without its reflection over every update's keys);
		// everything else is protobuf's.
		grpc.ForceServerCodecV2(gnmiwire.Codec()),
		// Metrics observe first, so refused and failed RPCs are counted
		// with the code the client got; the health service needs no
		// credentials.
		grpc.ChainUnaryInterceptor(d.metrics.UnaryInterceptor(), gnmiserver.RecoverUnary(d.log), d.authn.UnaryInterceptor(auth.HealthMethods()...)),
		grpc.ChainStreamInterceptor(d.metrics.StreamInterceptor(), gnmiserver.RecoverStream(d.log), d.authn.StreamInterceptor(auth.HealthMethods()...)),
		grpc.StatsHandler(d.sys.ConnStats()),
		// Clients may ping every 10 s at most, also between RPCs; faster
		// pingers are disconnected rather than left to load the server.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Minute, Timeout: 20 * time.Second}),
	)
	gpb.RegisterGNMIServer(d.grpc, d.front)
	// gNMI 3: the target SHOULD register with gRPC server reflection, so
	// that grpcurl and gnmic can discover the service. It runs behind the
	// same interceptors: reflection needs an authenticated caller too.
	reflection.Register(d.grpc)
	healthpb.RegisterHealthServer(d.grpc, d.health)
	if d.lis, err = net.Listen("tcp", d.cfg.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	d.log.Info("serving gNMI", "addr", d.lis.Addr().String(), "tls", !d.cfg.Insecure, "data_dir", d.cfg.DataDir)
	go func() { d.errc <- d.grpc.Serve(d.lis) }()
	return nil
}

// boltOptions are the store's options from the configuration.
func (d *Daemon) boltOptions() store.BoltOptions {
	return store.BoltOptions{Retention: d.cfg.Retention, AuditRetention: d.cfg.AuditRetention, AuditRetentionBytes: d.cfg.AuditRetentionBytes}
}

// Addr is the address the server listens on.
func (d *Daemon) Addr() string { return d.lis.Addr().String() }

// Wait blocks until ctx is done or the server fails.
func (d *Daemon) Wait(ctx context.Context) error {
	select {
	case err := <-d.errc:
		if errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		return nil
	}
}

// Stop shuts down in order: tell the health service NOT_SERVING, stop
// taking RPCs and let those in flight finish (up to the grace period),
// drain the writer, close the store, stop serving metrics. Everything
// acknowledged before Stop is durable.
func (d *Daemon) Stop() {
	// Before waiting for a reload in progress: balancers learn at once.
	d.serving.Store(false)
	d.health.shutdown()
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.serving.Store(false) // a reload that ended meanwhile may have set it
	d.stopped = true
	d.admin.close()
	defer d.closeMetrics()
	defer d.failLog.Close()
	grace := d.cfg.ShutdownGrace
	// End the subscriptions first: they would hold GracefulStop. Those
	// blocked on clients that do not read end only with their connection,
	// so do not wait the whole grace period for them.
	if d.hub == nil { // a failed models reload left no data stack
		d.grpc.Stop()
		d.closeData()
		return
	}
	if stuck := d.hub.Close(); stuck > 0 && grace > stuckGrace {
		d.log.Warn("subscribers not reading; closing their connections soon", "streams", stuck)
		grace = stuckGrace
	}
	done := make(chan struct{})
	go func() { d.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		d.grpc.Stop()
	}
	d.closeData()
}

// stuckGrace is how long unary RPCs in flight may still take when stalled
// subscribers are all that keeps the server from stopping.
const stuckGrace = 2 * time.Second

func (d *Daemon) closeData() { d.closeDataWith("server shutting down") }

// closeDataWith closes the data stack, ending Subscribe streams with
// reason; open opens it again.
func (d *Daemon) closeDataWith(reason string) {
	d.live.Store(nil)
	if d.stopSys != nil {
		d.stopSys()
		<-d.sysDone
		d.stopSys = nil
	}
	if d.hub != nil {
		d.hub.CloseWith(reason)
		d.hub = nil
	}
	if d.replica != nil {
		d.replica.Close() // stop following, resign
		d.replica = nil
	}
	if d.confirm != nil {
		d.confirm.Close()
		d.confirm = nil
	}
	if d.realize != nil {
		// Before the datastore: the term's loops write status into it.
		d.realize.close()
		d.realize = nil
	}
	if d.ds != nil {
		d.ds.Close()
		d.ds = nil
	}
	if d.st != nil {
		if err := d.st.Close(); err != nil {
			d.log.Error("closing store", "err", err)
		}
		d.st = nil
	}
}
