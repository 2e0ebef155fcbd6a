package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/history"
	"github.com/netready/netready/server/replica"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/system"
)

// Store backends (--store).
const (
	StoreBolt = "bbolt" // one local file, DataDir/netready.db (the default)
	StoreEtcd = "etcd"  // an etcd cluster shared by replicas
)

// EtcdConfig is how a replica reaches the etcd cluster (--store etcd).
type EtcdConfig struct {
	Endpoints []string // client URLs of the members
	Prefix    string   // key prefix of the datastore (default /netready/)
	// CAFile verifies the members' certificates; CertFile and KeyFile
	// are this replica's client certificate. Any set means TLS.
	CAFile, CertFile, KeyFile string
	// User authenticates to etcd with the password read from
	// PasswordFile (never a flag: flags show in ps).
	User         string
	PasswordFile string
	// Name is this replica's name among the replicas (default: its gNMI
	// address); TTL its election lease (default replica.DefaultTTL).
	Name string
	TTL  time.Duration
}

// backend is a store the daemon serves from: the Store itself, the
// commit log history reads, and the sizes the metrics report.
type backend interface {
	store.Store
	history.Log
	Sizes() (store.Sizes, error)
}

// openStore opens the configured backend.
func (d *Daemon) openStore(ctx context.Context) (backend, error) {
	switch d.cfg.Store {
	case "", StoreBolt:
		return store.OpenBolt(filepath.Join(d.cfg.DataDir, DBFile), d.boltOptions())
	case StoreEtcd:
		return openEtcd(ctx, d.cfg)
	}
	return nil, fmt.Errorf("--store %q: want %q or %q", d.cfg.Store, StoreBolt, StoreEtcd)
}

// usesBolt says the datastore is the local bbolt file.
func (d *Daemon) usesBolt() bool { return d.cfg.Store == "" || d.cfg.Store == StoreBolt }

// etcdBackend is the etcd store with the client it owns.
type etcdBackend struct {
	*etcdstore.Store
	cli *clientv3.Client
}

func openEtcd(ctx context.Context, cfg Config) (*etcdBackend, error) {
	cli, err := EtcdClient(cfg.Etcd)
	if err != nil {
		return nil, err
	}
	st, err := etcdstore.Open(ctx, cli, etcdstore.Options{
		Prefix: cfg.Etcd.Prefix, Retention: cfg.Retention,
		AuditRetention: cfg.AuditRetention, AuditRetentionBytes: cfg.AuditRetentionBytes,
		Guarded: true, // replicas write only once elected
	})
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(cfg.Etcd.Endpoints, ","), err)
	}
	return &etcdBackend{Store: st, cli: cli}, nil
}

// newReplica makes the etcd store's server a replica: Sets are refused
// until it is elected, and it follows the commit log. The replica starts
// once the gNMI address it advertises is known (startReplicaAt).
func (d *Daemon) newReplica(opts *datastore.Options) {
	b, ok := d.st.(*etcdBackend)
	if !ok {
		return
	}
	var changes uint64
	rz, cm := d.realize, d.confirm
	cm.Follow() // until elected: the leader's timer is the only one
	demoted := demotion()
	d.replica = replica.New(b.cli, b.Store, replica.Options{
		Name: d.cfg.Etcd.Name, TTL: d.cfg.Etcd.TTL, Log: d.log,
		// Each replica's own: its /system state, audit view and access
		// policy. The rest of the state is realization status, the leader's.
		OwnState: []string{"system", "audit", "access"},
		OnLead:   func(ctx context.Context) error { return cm.Lead(ctx, b.Store) },
		OnChange: func(st replica.Status) {
			if demoted(st.Role) {
				cm.Follow()
			}
			// A replica cut off from etcd serves a copy that may be
			// stale: load balancers should send clients elsewhere.
			d.setServing(st.Connected)
			if rz != nil { // only the leader touches the network
				rz.lead(st.Role == replica.RoleLeader)
			}
			d.sys.SetReplication(system.Replication{Role: st.Role, Leader: st.Leader, LeaderAddr: st.LeaderAddr})
			d.metrics.SetRole(st.Role)
			for ; changes < st.Changes; changes++ {
				d.metrics.LeaderChanged()
			}
		},
		OnLag: d.metrics.SetFollowerLag,
	})
	d.metrics.SetRole(replica.RoleFollower)
	d.sys.SetReplication(system.Replication{Role: replica.RoleFollower})
	opts.Writable = d.replica.Writable
}

// demotion returns a function that is told each role of a replica, in
// order, and reports the changes from leader to another role. OnLead
// (the commit-confirmed manager's Lead) runs before the status says
// leader, and the status changes in between (the replica observing its
// own election) still say follower: following on every non-leader status
// would undo Lead and leave the leader without its rollback timer.
func demotion() func(role string) bool {
	leading := false
	return func(role string) bool {
		was := leading
		leading = role == replica.RoleLeader
		return was && !leading
	}
}

// startReplica starts the replica (if any) advertising the listener.
func (d *Daemon) startReplica() {
	if d.replica != nil && d.lis != nil {
		d.replica.Start(d.ds, d.lis.Addr().String())
	}
}

// Sizes reads the store's sizes for a scrape, bounded in time.
func (b *etcdBackend) Sizes() (store.Sizes, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return b.Store.Sizes(ctx)
}

// Close closes the store, then its client.
func (b *etcdBackend) Close() error {
	err := b.Store.Close()
	if cerr := b.cli.Close(); err == nil {
		err = cerr
	}
	return err
}

// EtcdClient connects to the cluster c names, with its TLS and
// credentials; the netreadyd migrate command uses it too.
func EtcdClient(c EtcdConfig) (*clientv3.Client, error) {
	if len(c.Endpoints) == 0 {
		return nil, fmt.Errorf("etcd: no endpoints (--etcd-endpoints)")
	}
	cc := clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" {
		if (c.CertFile == "") != (c.KeyFile == "") {
			return nil, fmt.Errorf("etcd: --etcd-cert and --etcd-key go together")
		}
		info := transport.TLSInfo{TrustedCAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile}
		tc, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd: TLS: %w", err)
		}
		tc.MinVersion = tls.VersionTLS12
		cc.TLS = tc
	}
	if c.User != "" {
		if c.PasswordFile == "" {
			return nil, fmt.Errorf("etcd: --etcd-user needs --etcd-password-file")
		}
		pw, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: password: %w", err)
		}
		cc.Username, cc.Password = c.User, strings.TrimRight(string(pw), "\r\n")
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(c.Endpoints, ","), err)
	}
	return cli, nil
}
