package bgp_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	nbgp "github.com/netready/netready/southbound/bgp"
	"github.com/netready/netready/southbound/routing"
	netreadyyang "github.com/netready/netready/yang"
)

// recorder is a Learner that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	routes map[routing.LearntKey]routing.Learnt
}

func (r *recorder) Learn(_ context.Context, add []routing.Learnt, del []routing.LearntKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range add {
		r.routes[l.Key()] = l
	}
	for _, k := range del {
		delete(r.routes, k)
	}
}

func (r *recorder) snapshot() map[routing.LearntKey]routing.Learnt {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[routing.LearntKey]routing.Learnt{}
	for k, v := range r.routes {
		out[k] = v
	}
	return out
}

// bgpRoot is a configuration tree holding /bgp (JSON_IETF).
func bgpRoot(t *testing.T, doc string) *tree.Node {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	root := tree.NewRoot(sch)
	p, err := tree.DecodeRootJSON(root.Schema(), []byte(`{"netready-bgp:bgp": `+doc+`}`), true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(root)
	if err := txn.Merge(nil, p); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

// rawPeer is a BGP peer written for this test: it sends UPDATEs no real
// implementation sends (a malformed attribute list, an attribute nobody
// knows), which is the fault under test. It speaks to the real GoBGP
// speaker over TCP on the loopback.
type rawPeer struct {
	t    *testing.T
	conn net.Conn
	// notified gets the code and subcode of each NOTIFICATION the
	// speaker sends.
	notified chan [2]byte
}

// acceptRaw listens on addr, takes the speaker's connection and opens
// the session (OPEN with VPNv4 and four-octet AS, KEEPALIVEs).
func acceptRaw(t *testing.T, addr string, as uint16) *rawPeer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &rawPeer{t: t, conn: c, notified: make(chan [2]byte, 4)}
	caps := []bgp.ParameterCapabilityInterface{bgp.NewCapMultiProtocol(bgp.RF_IPv4_VPN), bgp.NewCapFourOctetASNumber(uint32(as))}
	open, err := bgp.NewBGPOpenMessage(as, 90, netip.MustParseAddr("127.0.0.2"), []bgp.OptionParameterInterface{bgp.NewOptionParameterCapability(caps)})
	if err != nil {
		t.Fatal(err)
	}
	p.send(open)
	p.send(bgp.NewBGPKeepAliveMessage())
	go p.drain()
	return p
}

func (p *rawPeer) send(m *bgp.BGPMessage) {
	b, err := m.Serialize()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.Write(b); err != nil {
		p.t.Error(err)
	}
}

// drain reads the speaker's messages (its OPEN, KEEPALIVEs) and answers
// nothing more: the hold timer is 90 s. A NOTIFICATION's code and
// subcode go to notified.
func (p *rawPeer) drain() {
	hdr := make([]byte, 19)
	for {
		if _, err := io.ReadFull(p.conn, hdr); err != nil {
			return
		}
		body := make([]byte, int(binary.BigEndian.Uint16(hdr[16:18]))-19)
		if _, err := io.ReadFull(p.conn, body); err != nil {
			return
		}
		if hdr[18] == bgp.BGP_MSG_NOTIFICATION && len(body) >= 2 {
			select {
			case p.notified <- [2]byte{body[0], body[1]}:
			default:
			}
		}
	}
}

// vpnUpdate is an UPDATE announcing prefix (RD 65000:7, label 100, RT
// 64512:100, next hop 127.0.0.2) with attrs changed by edit.
func vpnUpdate(t *testing.T, prefix string, edit func([]bgp.PathAttributeInterface) []bgp.PathAttributeInterface) *bgp.BGPMessage {
	t.Helper()
	nlri, err := bgp.NewLabeledVPNIPAddrPrefix(netip.MustParsePrefix(prefix), *bgp.NewMPLSLabelStack(100), bgp.NewRouteDistinguisherTwoOctetAS(65000, 7))
	if err != nil {
		t.Fatal(err)
	}
	reach, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv4_VPN, []bgp.PathNLRI{{NLRI: nlri}}, netip.MustParseAddr("127.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	attrs := []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(0),
		bgp.NewPathAttributeAsPath(nil),
		bgp.NewPathAttributeLocalPref(100),
		reach,
		bgp.NewPathAttributeExtendedCommunities([]bgp.ExtendedCommunityInterface{bgp.NewTwoOctetAsSpecificExtended(bgp.EC_SUBTYPE_ROUTE_TARGET, 64512, 100, true)}),
	}
	return bgp.NewBGPUpdateMessage(nil, edit(attrs), nil)
}

// A peer is untrusted input: a route whose UPDATE lacks a mandatory
// attribute (RFC 7606: treated as withdrawn) and one carrying an
// attribute the speaker does not know are dropped, not learnt, and
// counted in the neighbor's dropped-routes; a well-formed one is
// learnt with its label, next hop and route target.
func TestMalformedUpdatesCounted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp, rec, peer := rawSession(t, ctx, "")

	same := func(a []bgp.PathAttributeInterface) []bgp.PathAttributeInterface { return a }
	peer.send(vpnUpdate(t, "203.0.113.0/24", same))
	peer.send(vpnUpdate(t, "203.0.114.0/24", func(a []bgp.PathAttributeInterface) []bgp.PathAttributeInterface {
		return a[1:] // no ORIGIN: a well-known mandatory attribute is missing
	}))
	peer.send(vpnUpdate(t, "203.0.115.0/24", func(a []bgp.PathAttributeInterface) []bgp.PathAttributeInterface {
		return append(a, bgp.NewPathAttributeUnknown(bgp.BGP_ATTR_FLAG_OPTIONAL|bgp.BGP_ATTR_FLAG_TRANSITIVE, 242, []byte{1, 2, 3}))
	}))

	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := sp.Neighbors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st["127.0.0.2"].DroppedRoutes == 2 && len(rec.snapshot()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dropped-routes %d, learnt %v; want 2 dropped and 203.0.113.0/24 learnt", st["127.0.0.2"].DroppedRoutes, rec.snapshot())
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := rec.snapshot()[routing.LearntKey{RD: "65000:7", Prefix: netip.MustParsePrefix("203.0.113.0/24")}]
	if got.Label != 100 || got.NextHop != netip.MustParseAddr("127.0.0.2") || len(got.RTs) != 1 || got.RTs[0] != "64512:100" || got.Source != "127.0.0.2" {
		t.Errorf("learnt %+v", got)
	}
}

// rawSession starts a speaker, importing into a recorder until ctx ends,
// with one neighbor: 127.0.0.2 in AS 65000, with the other leaves in
// extra (JSON members, each after a comma). It returns once a raw peer
// is established with it.
func rawSession(t *testing.T, ctx context.Context, extra string) (*nbgp.Speaker, *recorder, *rawPeer) {
	t.Helper()
	port := freePort(t)
	sp := nbgp.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(sp.Close)
	rec := &recorder{routes: map[routing.LearntKey]routing.Learnt{}}
	go sp.Import(ctx, rec)
	root := bgpRoot(t, fmt.Sprintf(`{"local-as": 65000, "router-id": "127.0.0.1", "listen-address": "127.0.0.1", "listen-port": %d,
		"neighbors": {"neighbor": [{"address": "127.0.0.2", "peer-as": 65000%s}]}}`, port, extra))
	if err := sp.Announce(ctx, root, routing.Result{}); err != nil {
		t.Fatal(err)
	}
	peer := acceptRaw(t, fmt.Sprintf("127.0.0.2:%d", port), 65000)
	waitState(t, sp, "established")
	return sp, rec, peer
}

func waitState(t *testing.T, sp *nbgp.Speaker, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := sp.Neighbors(context.Background())
		if err == nil && st["127.0.0.2"].SessionState == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %+v (%v), want %s", st, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// vpnWithdraw is an UPDATE withdrawing prefix (RD 65000:7).
func vpnWithdraw(t *testing.T, prefix string) *bgp.BGPMessage {
	t.Helper()
	nlri, err := bgp.NewLabeledVPNIPAddrPrefix(netip.MustParsePrefix(prefix), *bgp.NewMPLSLabelStack(100), bgp.NewRouteDistinguisherTwoOctetAS(65000, 7))
	if err != nil {
		t.Fatal(err)
	}
	unreach, err := bgp.NewPathAttributeMpUnreachNLRI(bgp.RF_IPv4_VPN, []bgp.PathNLRI{{NLRI: nlri}})
	if err != nil {
		t.Fatal(err)
	}
	return bgp.NewBGPUpdateMessage(nil, []bgp.PathAttributeInterface{unreach}, nil)
}

// A neighbor's max-prefixes is counted by the speaker as the routes
// arrive, not by GoBGP on every UPDATE over the peer's whole Adj-RIB-In:
// GoBGP holds no prefix limit for a peer under its max-prefixes. A route
// announced again counts once, a withdrawn one no more; one prefix over
// the limit closes the session with a cease NOTIFICATION (maximum number
// of prefixes reached, RFC 4486), keeps it closed, says why and takes
// the peer's routes back. Status polls between two counts of the
// prefixes sent do not ask GoBGP (ListPeer counts the Adj-RIB-In too).
func TestMaxPrefixesAndStatusCountedAsLearnt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp, rec, peer := rawSession(t, ctx, `, "max-prefixes": 3`)
	same := func(a []bgp.PathAttributeInterface) []bgp.PathAttributeInterface { return a }
	for _, p := range []string{"203.0.113.0/24", "203.0.114.0/24", "203.0.113.0/24", "203.0.115.0/24"} {
		peer.send(vpnUpdate(t, p, same))
	}
	peer.send(vpnWithdraw(t, "203.0.115.0/24"))
	peer.send(vpnUpdate(t, "203.0.116.0/24", same)) // the third prefix held
	// Three are held before the withdraw too (113, 114, 115): wait for
	// the last UPDATE's prefix, or a poll below may see the withdraw.
	last := routing.LearntKey{RD: "65000:7", Prefix: netip.MustParsePrefix("203.0.116.0/24")}
	waitNeighbor(t, sp, "3 prefixes received, 3 learnt", func(n nbgp.NeighborStatus) bool {
		learnt := rec.snapshot()
		_, held := learnt[last]
		return n.PrefixesReceived == 3 && len(learnt) == 3 && held
	})
	if n := nbgp.GoBGPPrefixLimit(ctx, sp, "127.0.0.2"); n != 0 {
		t.Errorf("GoBGP counts the peer's prefixes on every UPDATE (its prefix limit is %d)", n)
	}
	// The status polls between two counts of the prefixes sent read the
	// session from GoBGP's events and the prefixes received from the
	// speaker's count: ListPeer, which counts the peer's whole
	// Adj-RIB-In, is not called.
	calls := nbgp.CountListPeer(sp)
	for range 5 {
		st, err := sp.Neighbors(ctx)
		if n := st["127.0.0.2"]; err != nil || n.SessionState != "established" || n.PrefixesReceived != 3 || n.EstablishedAt.IsZero() {
			t.Fatalf("session %+v (%v) with 3 prefixes of 3", n, err)
		}
	}
	if n := calls.Load(); n > 0 {
		t.Errorf("5 status polls called ListPeer %d times", n)
	}

	peer.send(vpnUpdate(t, "203.0.117.0/24", same))
	select {
	case n := <-peer.notified:
		if n != [2]byte{bgp.BGP_ERROR_CEASE, bgp.BGP_ERROR_SUB_MAXIMUM_NUMBER_OF_PREFIXES_REACHED} {
			t.Errorf("NOTIFICATION %v, want cease / maximum number of prefixes reached", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a fourth prefix of 3 allowed did not close the session")
	}
	waitNeighbor(t, sp, "closed over max-prefixes, routes withdrawn", func(n nbgp.NeighborStatus) bool {
		return n.SessionState != "established" && strings.Contains(n.LastError, "max-prefixes (3)") && n.MaxPrefixesExceeded == 1 && len(rec.snapshot()) == 0
	})
}

func waitNeighbor(t *testing.T, sp *nbgp.Speaker, what string, ok func(nbgp.NeighborStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := sp.Neighbors(context.Background())
		if err == nil && ok(st["127.0.0.2"]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %s: %+v (%v)", what, st["127.0.0.2"], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
