// Command netreadyd is the NetReady management server: a gNMI server over
// the NetReady YANG models, storing configuration durably in an embedded
// bbolt file.
//
//	netreadyd --data-dir ./data            # TLS with a generated certificate
//	netreadyd --data-dir ./data --insecure # plaintext on loopback, for local testing
//	netreadyd user add alice --role tenant-admin --tenant blue < password
//	netreadyd check --data-dir ./data       # check a stopped server's database
//	netreadyd backup --data-dir ./data --to backup.db  # copy of a live one
//	netreadyd migrate --from bbolt:./data --to etcd:http://127.0.0.1:2379
//
// On first start it creates the users file with an admin user whose
// password it writes to DATA-DIR/initial-admin-password. SIGHUP reloads the
// users file, the policy file, the TLS certificates and the YANG modules of
// the models dir (--models-dir); DATA-DIR/netreadyd.pid names the process
// to send it to while the server runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/replica"
	"github.com/netready/netready/server/store"
)

func parseFlags(args []string, errOut io.Writer) (daemon.Config, string, error) {
	var c daemon.Config
	var logLevel string
	fs := flag.NewFlagSet("netreadyd", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:9339", "gNMI listen address")
	fs.StringVar(&c.DataDir, "data-dir", "data", "directory for the database and generated certificates")
	fs.BoolVar(&c.Insecure, "insecure", false, "serve plaintext gRPC (local testing only; loopback addresses only)")
	fs.BoolVar(&c.InsecureForce, "insecure-force", false, "allow --insecure on a non-loopback address")
	fs.StringVar(&c.CertFile, "tls-cert", "", "TLS certificate (default: self-signed, generated in the data dir)")
	fs.StringVar(&c.KeyFile, "tls-key", "", "TLS private key for --tls-cert")
	fs.StringVar(&c.ClientCAFile, "client-ca", "", "CA bundle that signs client certificates (mutual TLS; CN = user)")
	fs.BoolVar(&c.RequireClientCert, "require-client-cert", false, "refuse clients without a certificate signed by --client-ca")
	fs.StringVar(&c.UsersFile, "users-file", "", "users file (default: DATA-DIR/users.json; manage with 'netreadyd user')")
	fs.StringVar(&c.PolicyFile, "policy-file", "", "authorization policy, JSON_IETF of netready-access (default: built-in roles)")
	fs.StringVar(&c.ModelsDir, "models-dir", "", "YANG modules loaded at start and on reload without recompiling (default: DATA-DIR/models)")
	fs.IntVar(&c.MaxStreamsPerUser, "max-streams-per-user", 1024, "concurrent Subscribe RPCs per user")
	fs.BoolVar(&c.NoSouthbound, "no-southbound", false, "store and serve configuration without realizing it on any backend (design, lab and client testing)")
	fs.BoolVar(&c.AllowRouteTargetViolations, "allow-route-target-violations", false, "start even if stored VPNs use route targets their tenant does not own (logged), to fix them over gNMI")
	fs.BoolVar(&c.InitEmptyStore, "init-empty-store", false, "start with an empty database although the data dir was used before (its database is missing or 0 bytes)")
	fs.StringVar(&c.Gateway.Netns, "gateway-netns", "", "network namespace of this site's gateway, where connections between sites with isolation vxlan get their tunnel (none: such connections are refused)")
	fs.StringVar(&c.Gateway.Bridge, "gateway-bridge", "br0", "the site's underlay bridge in --gateway-netns, which the tunnels join")
	var labelMin uint
	fs.UintVar(&labelMin, "label-min", 0, "smallest label (VXLAN VNI) given to a new VRF or binding (default 16); the servers of sites joined by a connection need disjoint ranges")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&c.MaxMsgSize, "max-msg-size", 256<<20, "largest gRPC message accepted or sent, in bytes")
	fs.IntVar(&c.Retention, "commit-log-retention", 10000, "how many commits the commit log keeps")
	fs.IntVar(&c.AuditRetention, "audit-retention", 10000, "how many entries the audit log keeps")
	fs.Int64Var(&c.AuditRetentionBytes, "audit-retention-bytes", store.DefaultAuditRetentionBytes, "how many bytes of entries the audit log keeps (oldest dropped first)")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long shutdown waits for RPCs in flight")
	fs.StringVar(&c.Store, "store", daemon.StoreBolt, "where the configuration is stored: bbolt (DATA-DIR/netready.db) or etcd (replicas sharing an etcd cluster)")
	var endpoints string
	fs.StringVar(&endpoints, "etcd-endpoints", "", "etcd client URLs, comma separated (--store etcd)")
	fs.StringVar(&c.Etcd.Prefix, "etcd-prefix", "/netready/", "key prefix of the datastore in etcd")
	fs.StringVar(&c.Etcd.CAFile, "etcd-ca", "", "CA bundle that signs the etcd members' certificates (TLS to etcd)")
	fs.StringVar(&c.Etcd.CertFile, "etcd-cert", "", "client certificate for etcd")
	fs.StringVar(&c.Etcd.KeyFile, "etcd-key", "", "private key for --etcd-cert")
	fs.StringVar(&c.Etcd.User, "etcd-user", "", "etcd user (password from --etcd-password-file)")
	fs.StringVar(&c.Etcd.PasswordFile, "etcd-password-file", "", "file holding the etcd user's password")
	fs.DurationVar(&c.Etcd.TTL, "election-ttl", replica.DefaultTTL, "the replicas' election lease, whole seconds (--store etcd): a dead leader is replaced within it; shorter fails over sooner but a stalled leader loses its lease sooner (etcd raises leases below 1.5 election timeouts)")
	fs.StringVar(&c.Etcd.Name, "replica-name", "", "this replica's name among the replicas (--store etcd; default: its gNMI address)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "", "serve Prometheus metrics over plain HTTP at this address, path /metrics (off when empty; \":9464\" is loopback, give a host such as 0.0.0.0:9464 to expose them)")
	fs.IntVar(&c.GCPercent, "gc-percent", daemon.DefaultGCPercent, "garbage collector target: the heap grows by this percentage of the live heap before a collection (a GOGC environment variable wins)")
	if err := fs.Parse(args); err != nil {
		return c, "", err
	}
	if c.GCPercent <= 0 {
		return c, "", fmt.Errorf("--gc-percent %d: want a positive percentage (GOGC=off in the environment turns the collector off)", c.GCPercent)
	}
	if labelMin > 1<<20-1 {
		return c, "", fmt.Errorf("--label-min %d: labels end at %d", labelMin, 1<<20-1)
	}
	c.LabelMin = uint32(labelMin)
	if (c.CertFile == "") != (c.KeyFile == "") {
		return c, "", errors.New("--tls-cert and --tls-key go together")
	}
	if endpoints != "" {
		c.Etcd.Endpoints = strings.Split(endpoints, ",")
	}
	switch {
	case c.Store != daemon.StoreBolt && c.Store != daemon.StoreEtcd:
		return c, "", fmt.Errorf("--store %q: want %s or %s", c.Store, daemon.StoreBolt, daemon.StoreEtcd)
	case c.Store == daemon.StoreEtcd && len(c.Etcd.Endpoints) == 0:
		return c, "", errors.New("--store etcd needs --etcd-endpoints")
	case c.Store != daemon.StoreEtcd && endpoints != "":
		return c, "", errors.New("--etcd-endpoints is for --store etcd")
	case (c.Etcd.CertFile == "") != (c.Etcd.KeyFile == ""):
		return c, "", errors.New("--etcd-cert and --etcd-key go together")
	case c.Etcd.User != "" && c.Etcd.PasswordFile == "":
		return c, "", errors.New("--etcd-user needs --etcd-password-file")
	case c.Etcd.TTL < time.Second || c.Etcd.TTL%time.Second != 0:
		return c, "", fmt.Errorf("--election-ttl %v: want whole seconds, at least 1s", c.Etcd.TTL)
	}
	return c, logLevel, nil
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "user":
			os.Exit(runUser(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
		case "check", "backup":
			os.Exit(runStoreCommand(os.Args[1], os.Args[2:], os.Stdout, os.Stderr))
		case "migrate":
			os.Exit(runMigrate(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	cfg, logLevel, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(flagsExitCode(err, os.Stderr))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "netreadyd: bad --log-level:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.Start(ctx, cfg, log)
	if err != nil {
		log.Error("netreadyd failed to start", "err", err)
		os.Exit(1)
	}
	pidFile := filepath.Join(cfg.DataDir, pidFileName)
	if err := writePIDFile(pidFile); err != nil {
		log.Warn("no PID file; signal the server by its process ID", "err", err)
	}
	go reloadOnHUP(ctx, d, log)
	err = d.Wait(ctx)
	log.Info("shutting down")
	d.Stop()
	removePIDFile(pidFile)
	if err != nil {
		log.Error("netreadyd stopped", "err", err)
		os.Exit(1)
	}
}

// flagsExitCode reports a flag error and returns the exit status: 0 for
// -h/--help, whose usage (already printed by the flag set) is the answer
// asked for, so `make run ARGS=--help` ends cleanly; 2 for a wrong flag.
func flagsExitCode(err error, errOut io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(errOut, "netreadyd:", err)
	return 2
}

// pidFileName is the file in the data dir that holds the server's process
// ID while it runs, so that `kill -HUP $(cat DATA-DIR/netreadyd.pid)`
// reaches this server and no other netreadyd on the machine.
const pidFileName = "netreadyd.pid"

// writePIDFile writes this process's ID to path, replacing a file that a
// server which did not stop cleanly left behind.
func writePIDFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// removePIDFile removes path if it still names this process.
func removePIDFile(path string) {
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
		_ = os.Remove(path)
	}
}

// reloadOnHUP reloads users, policy, certificates and models on every SIGHUP.
func reloadOnHUP(ctx context.Context, d *daemon.Daemon, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := d.Reload(ctx); err != nil {
				log.Error("reload failed; keeping the running configuration", "err", err)
			}
		}
	}
}
