package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Speaker runs a GoBGP server as configured under /bgp and keeps its
// VPNv4 and VPNv6 announcements equal to the routes of the realized state it is
// given. Its methods are safe for concurrent use: the engine calls them
// from the datastore writer and from a lost commit's Abort.
type Speaker struct {
	log *slog.Logger

	mu  sync.Mutex
	srv *server.BgpServer // nil while /bgp is absent
	cfg *Config           // what srv runs: the global settings and the peers added
	// announced is what srv may hold, keyed by RD and prefix.
	announced map[string]Route
	// unwatch ends srv's watch of learnt routes.
	unwatch context.CancelFunc

	// in collects learnt routes for Import; gen counts the servers
	// started and stopped, so a stopped one's late events are dropped.
	in  *inbox
	gen atomic.Uint64
	// dropped counts the routes each peer sent that were not learnt.
	dropped drops
	// sent are the prefixes sent to each peer, counted now and then
	// (status.go).
	sent sentCounts
	// limits counts what each peer sent against its max-prefixes
	// (prefixlimit.go).
	limits prefixLimits
	// sessions are the peers' sessions as GoBGP's events report them
	// (sessions.go).
	sessions sessions
	// listPeer is GoBGP's ListPeer (a seam for tests counting calls).
	listPeer func(*server.BgpServer, context.Context, *api.ListPeerRequest, func(*api.Peer)) error
}

// New returns a speaker that runs nothing until Announce is given a
// configuration with /bgp.
func New(log *slog.Logger) *Speaker {
	if log == nil {
		log = slog.Default()
	}
	return &Speaker{log: log, in: newInbox(), listPeer: (*server.BgpServer).ListPeer}
}

// Relevant reports whether a transaction changes the speaker's
// configuration: anything under /bgp, /connections or /sites (a site's AS
// number is its connections' default) but their status.
func (s *Speaker) Relevant(walk func(tree.DiffFunc)) bool {
	found := false
	walk(func(chain []*tree.Node, _, _ *tree.Node) bool {
		mine := configures(chain[0].Schema())
		if mine && chain[len(chain)-1].Schema().Config {
			found = true
		}
		return !found && mine
	})
	return found
}

// configures reports whether a top-level node holds configuration the
// speaker reads.
func configures(top *schema.Node) bool {
	switch {
	case top.Module == "netready-bgp":
		return top.Name == "bgp"
	case top.Module == "netready-georedundancy":
		return top.Name == "connections" || top.Name == "sites"
	}
	return false
}

// Announce makes the speaker run as root's /bgp says (stopped without
// it) and announce exactly the routes Export gives for res. On error the
// speaker may hold a mix of the old and new state: the caller announces
// the previous state again to step back.
func (s *Speaker) Announce(ctx context.Context, root *tree.Node, res routing.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := withConnections(root, ReadConfig(root))
	if err != nil {
		return err
	}
	if err := s.configure(ctx, cfg); err != nil {
		return err
	}
	if s.srv == nil {
		return nil
	}
	want, skipped := Export(res)
	if len(skipped) > 0 {
		s.log.Warn("bgp: routes not exported", "count", len(skipped), "first", skipped[0])
	}
	return s.sync(want)
}

// Close stops the speaker: its sessions close and its peers withdraw
// its routes.
func (s *Speaker) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
}

// configure brings the server and its peers to cfg. A change of the
// global settings restarts the server, which then announces everything
// again.
func (s *Speaker) configure(ctx context.Context, cfg *Config) error {
	if cfg == nil || s.cfg != nil && !s.cfg.sameGlobal(cfg) {
		s.stop()
	}
	if cfg == nil {
		return nil
	}
	if s.srv == nil {
		if err := s.start(ctx, cfg); err != nil {
			return err
		}
	}
	return s.peers(ctx, cfg.Neighbors)
}

func (s *Speaker) start(ctx context.Context, cfg *Config) error {
	glog := slog.New(&countingHandler{Handler: s.log.Handler(), drops: &s.dropped}).With("component", "gobgp")
	srv := server.NewBgpServer(server.LoggerOption(glog, nil))
	go srv.Serve()
	g := &api.Global{Asn: cfg.LocalAS, RouterId: cfg.RouterID.String(), ListenPort: int32(cfg.ListenPort)}
	if cfg.ListenAddr != "" {
		g.ListenAddresses = []string{cfg.ListenAddr}
	}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: g}); err != nil {
		srv.Stop()
		return fmt.Errorf("bgp: start the speaker (AS %d, %s port %d): %w", cfg.LocalAS, cfg.RouterID, cfg.ListenPort, err)
	}
	wctx, unwatch := context.WithCancel(context.Background())
	if err := s.watch(wctx, srv, s.gen.Add(1)); err != nil {
		unwatch()
		srv.Stop()
		return err
	}
	running := *cfg
	running.Neighbors = map[netip.Addr]Neighbor{}
	s.srv, s.cfg, s.announced, s.unwatch = srv, &running, map[string]Route{}, unwatch
	return nil
}

// stop stops the server; everything learnt from its peers is withdrawn.
func (s *Speaker) stop() {
	if s.srv != nil {
		s.gen.Add(1)
		s.unwatch()
		s.srv.Stop()
		s.in.withdrawAll()
		for a := range s.cfg.Neighbors {
			s.limits.remove(a)
			s.sessions.remove(a)
		}
	}
	s.srv, s.cfg, s.announced, s.unwatch = nil, nil, nil, nil
}

// peers removes the peers that are gone or changed and adds the new and
// changed ones.
func (s *Speaker) peers(ctx context.Context, want map[netip.Addr]Neighbor) error {
	for _, a := range slices.SortedFunc(maps.Keys(s.cfg.Neighbors), netip.Addr.Compare) {
		if n, ok := want[a]; ok && n == s.cfg.Neighbors[a] {
			continue
		}
		if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a.String()}); err != nil {
			return fmt.Errorf("bgp: remove neighbor %s: %w", a, err)
		}
		delete(s.cfg.Neighbors, a)
		s.limits.remove(a)
		s.sessions.remove(a)
	}
	for _, a := range slices.SortedFunc(maps.Keys(want), netip.Addr.Compare) {
		if _, ok := s.cfg.Neighbors[a]; ok {
			continue
		}
		peer, err := s.peer(want[a])
		if err != nil {
			return err
		}
		s.limits.add(a, want[a].MaxPrefixes, withPrefixLimits(peer, want[a].MaxPrefixes))
		if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peer}); err != nil {
			s.limits.remove(a)
			return fmt.Errorf("bgp: add neighbor %s: %w", a, err)
		}
		s.cfg.Neighbors[a] = want[a]
	}
	return nil
}

// peer is a neighbor's session: VPNv4 and VPNv6, to the speaker's own
// port, signed with the TCP MD5 password from its file when it names
// one. A peer that does not negotiate VPNv6 gets VPNv4 alone. Its
// max-prefixes is not GoBGP's prefix limit until it is exceeded
// (prefixlimit.go).
func (s *Speaker) peer(n Neighbor) (*api.Peer, error) {
	conf := &api.PeerConf{NeighborAddress: n.Addr.String(), PeerAsn: n.PeerAS, LocalAsn: n.LocalAS, Description: n.Description, AdminDown: !n.AdminUp}
	if n.PasswordFile != "" {
		pw, err := readPassword(n.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("bgp: neighbor %s: %w", n.Addr, err)
		}
		conf.AuthPassword = pw
	}
	var afs []*api.AfiSafi
	for _, afi := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
		vpn := &api.Family{Afi: afi, Safi: api.Family_SAFI_MPLS_VPN}
		afs = append(afs, &api.AfiSafi{Config: &api.AfiSafiConfig{Family: vpn, Enabled: true}})
	}
	tr := &api.Transport{RemotePort: uint32(s.cfg.ListenPort)}
	if n.LocalAddr.IsValid() {
		tr.LocalAddress = n.LocalAddr.String()
	}
	return &api.Peer{
		Conf:      conf,
		Transport: tr,
		Timers:    &api.Timers{Config: &api.TimersConfig{ConnectRetry: 5}},
		AfiSafis:  afs,
	}, nil
}

// readPassword reads a TCP MD5 password file: its content without the
// trailing newline; TCP_MD5SIG takes at most 80 bytes.
func readPassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("password-file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" || len(pw) > 80 {
		return "", fmt.Errorf("password-file %s: the password must have 1 to 80 bytes, it has %d", file, len(pw))
	}
	return pw, nil
}

// sync withdraws the announced routes want does not have and announces
// the new and changed ones.
func (s *Speaker) sync(want map[string]Route) error {
	var del, add []*apiutil.Path
	var errs []error
	for k, r := range s.announced {
		if _, ok := want[k]; !ok {
			del = appendPath(del, r, &errs)
		}
	}
	for k, r := range want {
		if old, ok := s.announced[k]; !ok || !same(old, r) {
			add = appendPath(add, r, &errs)
		}
	}
	if len(del) > 0 {
		if err := s.srv.DeletePath(apiutil.DeletePathRequest{Paths: del}); err != nil {
			return fmt.Errorf("bgp: withdraw %d routes: %w", len(del), err)
		}
	}
	maps.DeleteFunc(s.announced, func(k string, _ Route) bool { _, ok := want[k]; return !ok })
	if len(add) > 0 {
		if _, err := s.srv.AddPath(apiutil.AddPathRequest{Paths: add}); err != nil {
			errs = append(errs, err)
		}
	}
	maps.Copy(s.announced, want) // what may be held now, so a step back withdraws it
	if len(del)+len(add) > 0 {
		s.sent.invalidate()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bgp: announce: %w", err)
	}
	return nil
}

func appendPath(ps []*apiutil.Path, r Route, errs *[]error) []*apiutil.Path {
	p, err := vpnPath(r)
	if err != nil {
		*errs = append(*errs, err)
		return ps
	}
	return append(ps, p)
}

// vpnPath is r as a GoBGP path: the labeled VPNv4 or VPNv6 NLRI, next hop, MED,
// the export RTs and the RFC 9012 encapsulation community (VXLAN).
func vpnPath(r Route) (*apiutil.Path, error) {
	rd, err := bgp.ParseRouteDistinguisher(r.RD)
	if err != nil {
		return nil, fmt.Errorf("route %s rd %s: %w", r.Prefix, r.RD, err)
	}
	nlri, err := bgp.NewLabeledVPNIPAddrPrefix(r.Prefix, *bgp.NewMPLSLabelStack(r.Label), rd)
	if err != nil {
		return nil, fmt.Errorf("route %s rd %s: %w", r.Prefix, r.RD, err)
	}
	reach, err := bgp.NewPathAttributeMpReachNLRI(r.family(), []bgp.PathNLRI{{NLRI: nlri}}, r.NextHop)
	if err != nil {
		return nil, fmt.Errorf("route %s rd %s: %w", r.Prefix, r.RD, err)
	}
	comms := make([]bgp.ExtendedCommunityInterface, 0, len(r.RTs)+1)
	for _, rt := range r.RTs {
		c, err := bgp.ParseRouteTarget(rt)
		if err != nil {
			return nil, fmt.Errorf("route %s rd %s: route target %s: %w", r.Prefix, r.RD, rt, err)
		}
		comms = append(comms, c)
	}
	comms = append(comms, bgp.NewEncapExtended(bgp.TUNNEL_TYPE_VXLAN))
	attrs := []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP),
		reach,
		bgp.NewPathAttributeMultiExitDisc(r.MED),
		bgp.NewPathAttributeExtendedCommunities(comms),
	}
	return &apiutil.Path{Family: r.family(), Nlri: nlri, Attrs: attrs}, nil
}
