// Package gnmidriver is the "gnmi" data driver: it forwards the
// configuration a backend carries to a downstream gNMI target (another
// NetReady, a router, a controller) with gNMI Set, and reconciles the
// target with gNMI Get.
//
// # Paths
//
// Our paths ("/sites/site[name=dc1]", unqualified names) are the
// target's paths, behind the optional path-prefix option: with
// path-prefix "/dc-ctl/config", /sites/site[name=dc1] is written to
// /dc-ctl/config/sites/site[name=dc1]. The target option goes in every
// request's prefix.
//
// # Transactions
//
// ApplyData sends ONE SetRequest per call (gNMI Sets are atomic on the
// target): a delete per deleted object, an update per created or changed
// object whose value is the object's own leaves as JSON_IETF. An update
// merges, so before sending it the driver reads (one Get) the objects it
// updates and also deletes the leaves they hold that the new value no
// longer has: a leaf removed here is removed on the target. Deleting what
// the target does not have succeeds (gNMI), so the engine's undo (the
// reverse changes) and replays are safe.
//
// # Reconciliation
//
// ReconcileData reads (Get, JSON_IETF, CONFIG) the carried subtrees named
// by the backend's "paths" option, compares them with the state object by
// object and leaf by leaf, and sends one SetRequest deleting what is extra
// and updating what is missing or different. Limits: the comparison knows
// no schema. List keys are learnt from the state's paths, so an extra
// entry of a list the state has no entry of is removed with its whole list
// (one delete of the list path). An empty container counts as absent (a
// presence container the state has empty is not recreated). Leaf values
// are compared as JSON: a target that writes a value in another form
// (decimal64 "1.50" for "1.5") shows drift each time. Our changes leave
// default values out, but a target's CONFIG Get may have them (NetReady's
// does): a reconciliation deletes the leaves it finds extra, reads the
// target again, and takes what is still there for default values, which
// it remembers (per schema leaf and value) and does not report; so a leaf
// the target keeps after its deletion without saying so is taken for a
// default too. Without a "paths" option (the engine always has one) the
// subtrees are derived from the state, and an empty state cannot tell
// what to delete.
//
// # Options
//
//	paths        the realization engine's: the carried subtrees
//	username     sent with password as gRPC metadata on every call
//	password
//	tls          on (default: verify the target), skip-verify, or off
//	             (plaintext; only for a loopback endpoint, since the
//	             credentials would travel in the clear)
//	ca-file      PEM certificates to verify the target with (default:
//	             the system roots)
//	target       the gNMI target name put in every request's prefix
//	path-prefix  a gNMI path put before every path on the target
package gnmidriver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/southbound"
)

// Kind is the driver kind backends name.
const Kind = "gnmi"

// Register adds the driver to r.
func Register(r southbound.Registry) {
	r[Kind] = southbound.Plugin{Open: Open, Caps: southbound.Capabilities{}}
}

// Option names.
const (
	OptUsername   = "username"
	OptPassword   = "password"
	OptTLS        = "tls"
	OptCAFile     = "ca-file"
	OptTarget     = "target"
	OptPathPrefix = "path-prefix"
)

var options = []string{southbound.PathsOption, OptUsername, OptPassword, OptPassword + "-file", OptTLS, OptCAFile, OptTarget, OptPathPrefix}

// maxMsg bounds the messages exchanged with the target.
const maxMsg = 512 << 20

// The driver carries configuration data.
var _ southbound.DataDriver = (*Driver)(nil)

// Driver forwards a backend's data to one gNMI target over one gRPC
// connection (connected on first use, closed by Close).
type Driver struct {
	endpoint string
	user     string
	pass     string
	target   string
	prefix   []*gpb.PathElem
	// roots are the carried subtrees (the paths option), our side.
	roots [][]*gpb.PathElem
	conn  *grpc.ClientConn
	gnmi  gpb.GNMIClient
	// defaults are the values the target gives leaves that are not set
	// (see defaultKey), learnt by reconciliations: our changes leave
	// defaults out, the target's Get has them.
	defaults map[string]string
}

// Open is the driver's southbound.Factory.
func Open(_ context.Context, b southbound.Backend) (southbound.Driver, error) {
	d, err := New(b)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// New checks b's endpoint and options and returns a driver for it; it
// does not connect yet.
func New(b southbound.Backend) (*Driver, error) {
	if err := southbound.CheckOptions(b, options...); err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(b.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: want host:port: %w", b.Endpoint, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); host == "" || err != nil || n == 0 {
		return nil, fmt.Errorf("endpoint %q: want host:port with a host and a port number", b.Endpoint)
	}
	pass, err := southbound.Secret(b.Options, OptPassword)
	if err != nil {
		return nil, err
	}
	d := &Driver{endpoint: b.Endpoint, user: b.Options[OptUsername], pass: pass, target: b.Options[OptTarget],
		defaults: map[string]string{}}
	if (d.user == "") != (d.pass == "") {
		return nil, fmt.Errorf("options %s and %s go together", OptUsername, OptPassword)
	}
	if p := b.Options[OptPathPrefix]; p != "" && p != "/" {
		elems, err := gnmipath.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", OptPathPrefix, err)
		}
		d.prefix = elems
	}
	for _, p := range strings.Split(b.Options[southbound.PathsOption], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		elems, err := gnmipath.Parse(p)
		if err != nil || len(elems) == 0 {
			return nil, fmt.Errorf("option %s: %q is not a data path", southbound.PathsOption, p)
		}
		for _, e := range elems {
			if len(e.GetKey()) > 0 {
				return nil, fmt.Errorf("option %s: %q: keys are not supported; name the list", southbound.PathsOption, p)
			}
			e.Name = unqualified(e.GetName())
		}
		d.roots = append(d.roots, elems)
	}

	var creds credentials.TransportCredentials
	caFile := b.Options[OptCAFile]
	switch mode := b.Options[OptTLS]; mode {
	case "", "on", "skip-verify":
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
		if mode == "skip-verify" {
			if caFile != "" {
				return nil, fmt.Errorf("option %s: %s verifies nothing, so %s is of no use", OptTLS, mode, OptCAFile)
			}
			cfg.InsecureSkipVerify = true //nolint:gosec // asked for by the operator
		}
		pool, err := southbound.CertPool(b.Options, OptCAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
		creds = credentials.NewTLS(cfg)
	case "off":
		if caFile != "" {
			return nil, fmt.Errorf("option %s: off: %s is of no use without TLS", OptTLS, OptCAFile)
		}
		if !loopback(host) {
			return nil, fmt.Errorf("option %s: off is only allowed for a loopback endpoint (credentials and data would cross the network in the clear), not %q", OptTLS, b.Endpoint)
		}
		creds = insecure.NewCredentials()
	default:
		return nil, fmt.Errorf("option %s: %q: want on, skip-verify or off", OptTLS, mode)
	}
	conn, err := grpc.NewClient(b.Endpoint, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", b.Endpoint, err)
	}
	d.conn, d.gnmi = conn, gpb.NewGNMIClient(conn)
	return d, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close implements southbound.Driver.
func (d *Driver) Close() error { return d.conn.Close() }

// callCtx adds the credentials to ctx.
func (d *Driver) callCtx(ctx context.Context) context.Context {
	if d.user == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "username", d.user, "password", d.pass)
}

// requestPrefix is every request's prefix: the target name, if any.
func (d *Driver) requestPrefix() *gpb.Path {
	if d.target == "" {
		return nil
	}
	return &gpb.Path{Target: d.target}
}

// remote returns our path elems as the target's path.
func (d *Driver) remote(elems []*gpb.PathElem) *gpb.Path {
	out := make([]*gpb.PathElem, 0, len(d.prefix)+len(elems))
	out = append(out, d.prefix...)
	return &gpb.Path{Elem: append(out, elems...)}
}

// fail words an RPC error: the target, the call and the target's message
// (which names the path at fault when the target says which).
func (d *Driver) fail(call string, err error) error {
	if st, ok := status.FromError(err); ok {
		return fmt.Errorf("target %s: %s: %s: %s", d.endpoint, call, st.Code(), st.Message())
	}
	return fmt.Errorf("target %s: %s: %w", d.endpoint, call, err)
}

func unqualified(name string) string {
	if _, after, ok := strings.Cut(name, ":"); ok {
		return after
	}
	return name
}
