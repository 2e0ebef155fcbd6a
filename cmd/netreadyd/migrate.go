package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
)

const migrateUsage = `usage: netreadyd migrate --from bbolt:DIR|etcd:ENDPOINTS --to bbolt:DIR|etcd:ENDPOINTS [etcd flags]

Copies a stopped datastore to a new one: the configuration rows, the
retained commit log (ids kept), the audit log and the server state. The
destination must be new (no commits, no rows). bbolt:DIR is DIR/netready.db;
etcd:ENDPOINTS is a comma-separated list of client URLs, with the same
--etcd-prefix, --etcd-ca, --etcd-cert, --etcd-key, --etcd-user and
--etcd-password-file as the server. Stop every server on the source
first: commits made during the copy are not in it. Exit 0 copied, 1
failed, 2 usage.
`

// runMigrate runs `netreadyd migrate`; it returns the exit code.
func runMigrate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("netreadyd migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := migrate(fs, args, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, migrateUsage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "netreadyd migrate: %v\n\n%s", err, migrateUsage)
		return 2
	}
	fmt.Fprintf(stderr, "netreadyd migrate: %v\n", err)
	return 1
}

func migrate(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	from := fs.String("from", "", "source: bbolt:DIR or etcd:ENDPOINTS")
	to := fs.String("to", "", "destination: bbolt:DIR or etcd:ENDPOINTS")
	var ec daemon.EtcdConfig
	fs.StringVar(&ec.Prefix, "etcd-prefix", "/netready/", "key prefix of the datastore in etcd")
	fs.StringVar(&ec.CAFile, "etcd-ca", "", "CA bundle of the etcd members")
	fs.StringVar(&ec.CertFile, "etcd-cert", "", "client certificate for etcd")
	fs.StringVar(&ec.KeyFile, "etcd-key", "", "private key for --etcd-cert")
	fs.StringVar(&ec.User, "etcd-user", "", "etcd user")
	fs.StringVar(&ec.PasswordFile, "etcd-password-file", "", "file holding the etcd user's password")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	if err := parseStoreFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: --from and --to are required, and nothing else", errUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	src, err := openMigrated(ctx, *from, ec)
	if err != nil {
		return fmt.Errorf("--from %s: %w", *from, err)
	}
	defer src.Close()
	dst, err := openMigrated(ctx, *to, ec)
	if err != nil {
		return fmt.Errorf("--to %s: %w", *to, err)
	}
	defer dst.Close()
	d, err := store.Export(ctx, src)
	if err != nil {
		return err
	}
	if err := dst.Import(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d rows, commits up to %d (%d in the log), %d audit entries, %d state keys from %s to %s\n",
		len(d.Rows), d.Last, len(d.Commits), len(d.Audit), len(d.State), *from, *to)
	return nil
}

// migrated is a store migrate reads or fills.
type migrated interface {
	store.Exporter
	store.Importer
}

// openMigrated opens "bbolt:DIR" or "etcd:ENDPOINTS".
func openMigrated(ctx context.Context, spec string, ec daemon.EtcdConfig) (migrated, error) {
	kind, where, ok := strings.Cut(spec, ":")
	if !ok || where == "" {
		return nil, fmt.Errorf("%w: %q: want bbolt:DIR or etcd:ENDPOINTS", errUsage, spec)
	}
	switch kind {
	case daemon.StoreBolt:
		return store.OpenBolt(filepath.Join(where, daemon.DBFile), store.BoltOptions{})
	case daemon.StoreEtcd:
		ec.Endpoints = strings.Split(where, ",")
		cli, err := daemon.EtcdClient(ec)
		if err != nil {
			return nil, err
		}
		st, err := etcdstore.Open(ctx, cli, etcdstore.Options{Prefix: ec.Prefix})
		if err != nil {
			cli.Close()
			return nil, err
		}
		return &etcdMigrated{Store: st, close: cli.Close}, nil
	}
	return nil, fmt.Errorf("%w: %q: want bbolt:DIR or etcd:ENDPOINTS", errUsage, spec)
}

// etcdMigrated is the etcd store with the client it owns.
type etcdMigrated struct {
	*etcdstore.Store
	close func() error
}

func (e *etcdMigrated) Close() error {
	err := e.Store.Close()
	if cerr := e.close(); err == nil {
		err = cerr
	}
	return err
}
