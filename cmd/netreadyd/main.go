// Command netreadyd is the NetReady management server: a gNMI server over
// the NetReady YANG models, storing configuration durably in an embedded
// bbolt file.
//
//	netreadyd --data-dir ./data            # TLS with a generated certificate
//	netreadyd --data-dir ./data --insecure # plaintext, for local testing
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
	"syscall"
	"time"

	"github.com/netready/netready/server/daemon"
)

func parseFlags(args []string, errOut io.Writer) (daemon.Config, string, error) {
	var c daemon.Config
	var logLevel string
	fs := flag.NewFlagSet("netreadyd", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:9339", "gNMI listen address")
	fs.StringVar(&c.DataDir, "data-dir", "data", "directory for the database and generated certificates")
	fs.BoolVar(&c.Insecure, "insecure", false, "serve plaintext gRPC (local testing only)")
	fs.StringVar(&c.CertFile, "tls-cert", "", "TLS certificate (default: self-signed, generated in the data dir)")
	fs.StringVar(&c.KeyFile, "tls-key", "", "TLS private key for --tls-cert")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&c.MaxMsgSize, "max-msg-size", 256<<20, "largest gRPC message accepted or sent, in bytes")
	fs.IntVar(&c.Retention, "commit-log-retention", 10000, "how many commits the commit log keeps")
	fs.IntVar(&c.AuditRetention, "audit-retention", 10000, "how many entries the audit log keeps")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long shutdown waits for RPCs in flight")
	if err := fs.Parse(args); err != nil {
		return c, "", err
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return c, "", errors.New("--tls-cert and --tls-key go together")
	}
	return c, logLevel, nil
}

func main() {
	cfg, logLevel, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netreadyd:", err)
		os.Exit(2)
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
	err = d.Wait(ctx)
	log.Info("shutting down")
	d.Stop()
	if err != nil {
		log.Error("netreadyd stopped", "err", err)
		os.Exit(1)
	}
}
