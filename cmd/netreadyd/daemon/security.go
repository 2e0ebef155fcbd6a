package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/netready/netready/server/access"
	"github.com/netready/netready/server/auth"
	"github.com/netready/netready/server/authz"
	"github.com/netready/netready/server/certs"
	"github.com/netready/netready/server/tree"
)

// InitialPasswordFile is where the first start writes the generated
// password of the admin user, readable by the data dir's owner only.
const InitialPasswordFile = "initial-admin-password"

// setupAccess loads (or on first start creates) the users file, loads the
// policy, and builds the authenticator and access control.
func (d *Daemon) setupAccess() error {
	users, err := d.loadOrCreateUsers()
	if err != nil {
		return err
	}
	policy, err := d.loadPolicy(users)
	if err != nil {
		return err
	}
	d.failLog = auth.NewFailureLog(d.log, auth.FailureLogOptions{})
	d.authn = auth.NewAuthenticator(users, auth.Options{OnFailure: d.failLog.Record})
	d.access = access.New(policy, d.cfg.MaxStreamsPerUser)
	return nil
}

func (d *Daemon) usersFile() string {
	if d.cfg.UsersFile != "" {
		return d.cfg.UsersFile
	}
	return filepath.Join(d.cfg.DataDir, "users.json")
}

// loadOrCreateUsers reads the users file. On first start there is none:
// a secure server must not run without one, so it creates an admin user
// with a random password written to the data dir.
func (d *Daemon) loadOrCreateUsers() (*auth.Users, error) {
	path := d.usersFile()
	users, err := auth.LoadUsers(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return users, err
	}
	users = auth.NewUsers()
	users.Cost = d.cfg.BcryptCost
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("generate admin password: %w", err)
	}
	password := base64.RawURLEncoding.EncodeToString(buf)
	if err := users.Add("admin", password, []string{authz.AdminRole}, nil); err != nil {
		return nil, err
	}
	pwFile := filepath.Join(d.cfg.DataDir, InitialPasswordFile)
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", pwFile, err)
	}
	if err := users.Save(path); err != nil {
		return nil, err
	}
	d.log.Warn("created the users file with user admin; its password is in the data dir", "users_file", path, "password_file", pwFile)
	return users, nil
}

// loadPolicy reads the policy file (the built-in policy when none is
// configured) and checks that every user's roles exist in it.
func (d *Daemon) loadPolicy(users *auth.Users) (*authz.Policy, error) {
	p := authz.DefaultPolicy()
	if d.cfg.PolicyFile != "" {
		var err error
		if p, err = authz.LoadPolicy(d.cfg.PolicyFile); err != nil {
			return nil, err
		}
	}
	var list []authz.User
	for _, u := range users.List() {
		list = append(list, authz.User{Name: u.Name, Roles: u.Roles, Tenants: u.Tenants})
	}
	return p.WithUsers(list)
}

// publishAccess shows the policy and the users' roles under /access.
func (d *Daemon) publishAccess(ctx context.Context) error {
	js, err := d.access.Policy().JSON()
	if err != nil {
		return err
	}
	root := d.ds.Schema().Root
	payload, err := tree.DecodeStateJSON(root, js)
	if err != nil {
		return fmt.Errorf("publish policy: %w", err)
	}
	p := tree.MustResolve(root, "access")
	return d.ds.UpdateState(ctx, func(t *tree.Txn) error {
		return t.Replace(p, payload.Child(p[0].Schema))
	})
}

// Reload re-reads the users file, the policy file, the TLS files and the
// models dir (on SIGHUP). A file that fails to load leaves the running one
// in place.
func (d *Daemon) Reload(ctx context.Context) error {
	merr := d.ReloadModels(ctx)
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.stopped {
		return errors.New("reload: server stopped")
	}
	if err := d.reloadAccess(ctx); err != nil {
		return errors.Join(err, merr)
	}
	return merr
}

func (d *Daemon) reloadAccess(ctx context.Context) error {
	users, err := auth.LoadUsers(d.usersFile())
	if err != nil {
		return fmt.Errorf("reload users: %w", err)
	}
	policy, err := d.loadPolicy(users)
	if err != nil {
		return fmt.Errorf("reload policy: %w", err)
	}
	d.authn.Reload(users)
	d.access.SetPolicy(policy)
	if d.tlsReload != nil {
		if err := d.tlsReload.Reload(); err != nil {
			return fmt.Errorf("reload TLS: %w", err)
		}
	}
	d.log.Info("reloaded users, policy and certificates")
	return d.publishAccess(ctx)
}

// credentials returns the transport security: TLS 1.2+ (optionally mutual)
// unless --insecure, which is refused off loopback unless forced.
func (d *Daemon) credentials() (credentials.TransportCredentials, error) {
	if d.cfg.Insecure {
		if !isLoopback(d.cfg.Listen) && !d.cfg.InsecureForce {
			return nil, fmt.Errorf("--insecure serves plaintext: only on a loopback address (listen %s; --insecure-force overrides)", d.cfg.Listen)
		}
		d.log.Warn("serving plaintext gRPC: --insecure is for local testing only")
		return insecure.NewCredentials(), nil
	}
	certFile, keyFile := d.cfg.CertFile, d.cfg.KeyFile
	if certFile == "" {
		var err error
		if certFile, keyFile, err = certs.EnsureSelfSigned(d.cfg.DataDir); err != nil {
			return nil, err
		}
		d.log.Info("using self-signed certificate", "cert", certFile)
	}
	tc, reload, err := auth.ServerTLS(auth.TLSOptions{
		CertFile: certFile, KeyFile: keyFile,
		ClientCAFile: d.cfg.ClientCAFile, RequireClientCert: d.cfg.RequireClientCert,
	})
	if err != nil {
		return nil, err
	}
	d.tlsReload = reload
	return credentials.NewTLS(tc), nil
}

func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
