package daemon_test

// Acceptance of georedundant interconnects on one machine: two netreadyd
// processes, one per site (dc-b and dc-d), each running in its site
// gateway's network namespace with its own store, listener and namespace
// prefix, each realizing VPNs Blue and Red on one host through its
// linux-vforwarder. The connection between the sites, configured on both
// sides from testdata/geolab (the README's walkthrough), becomes a BGP
// session between the two servers and a VXLAN tunnel between the
// gateways; deleting it on either side takes both down.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/vishvananda/netns"
	"google.golang.org/grpc"

	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// geoSite is one site of the two-site lab: its namespaces and its server.
type geoSite struct {
	name, other string // dc-b, dc-d
	labelMin    string // the site's own label range starts here
	lab         *lab.Lab
	host        string
	hostAddr    netip.Addr
	gwAddr      netip.Addr
	*realized
	logs *tailLog
}

// gateway is the site gateway's namespace: the lab's fabric, holding the
// site's underlay bridge and the WAN link.
func (s *geoSite) gateway() string { return s.lab.FabricNS() }

func TestTwoSites(t *testing.T) {
	bin := buildNetreadyd(t)
	b := &geoSite{name: "dc-b", other: "dc-d", host: "host-b1", hostAddr: hostA, gwAddr: addr("198.51.100.1"), labelMin: "16"}
	d := &geoSite{name: "dc-d", other: "dc-b", host: "host-d1", hostAddr: hostB, gwAddr: addr("198.51.100.2"), labelMin: "30000"}
	twoSiteLab(t, b, d)
	underlay(t, b, d, false) // the sites' underlays meet only over the tunnel
	for _, s := range []*geoSite{b, d} {
		s.start(t, bin)
		s.setRoot(t, s.doc(t))
	}
	for _, s := range []*geoSite{b, d} {
		s.waitConnected(t)
	}
	underlay(t, b, d, true)

	// Blue and Red at both sites, with the same addresses: dc-b's guests
	// are 10.1.1.5, dc-d's 10.1.1.6, in each VPN.
	blueB, redB := b.guest("blue/blue/b1", "10.1.1.5/24"), b.guest("red/red/r1", "10.1.1.5/24")
	blueD, redD := d.guest("blue/blue/b1", "10.1.1.6/24"), d.guest("red/red/r1", "10.1.1.6/24")
	traffic := func(want bool) {
		t.Helper()
		for _, p := range [][2]*lab.Guest{{blueB, blueD}, {redB, redD}, {blueD, blueB}} {
			dst := p[1].Addrs[0].Addr()
			if err := waitPing(p[0], dst, want); err != nil {
				t.Errorf("%s at %s -> %s: %v", p[0].Alias, p[0].NS, dst, err)
			}
		}
	}
	traffic(true)
	// Blue's traffic reaches Blue's guest at dc-d, never Red's.
	for _, g := range []*lab.Guest{blueB, redB} {
		if err := g.SendUDP(addr("10.1.1.6"), 20); err != nil {
			t.Fatal(err)
		}
	}
	lab.WaitUDP(40, 5*time.Second, blueD, redD)
	if nb, nr := blueD.UDPReceivedFrom(addr("10.1.1.5")), redD.UDPReceivedFrom(addr("10.1.1.5")); nb != 20 || nr != 20 {
		t.Errorf("dc-d's Blue guest received %d, Red's %d datagrams; each VPN sent 20 to its own", nb, nr)
	}

	// Deleted on either side: the session closes at both ends, the routes
	// are withdrawn (nothing received), and the tunnel at the side that
	// deleted it is gone, so the underlays no longer meet.
	for _, del := range []*geoSite{d, b} {
		other := b
		if del == b {
			other = d
		}
		del.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, conn)}})
		if links := gwLinks(t, del.gateway()); strings.Contains(links, "nrc9001") {
			t.Errorf("%s: the tunnel outlived the connection: %s", del.name, links)
		}
		other.waitDisconnected(t)
		underlay(t, b, d, false)
		traffic(false)

		del.setRoot(t, del.doc(t)) // configured again
		b.waitConnected(t)
		d.waitConnected(t)
		underlay(t, b, d, true)
		traffic(true)
	}
}

func (s *geoSite) guest(alias, prefix string) *lab.Guest {
	return s.lab.Guest(s.host, alias, netip.MustParsePrefix(prefix))
}

// waitPing waits until from reaches dst (want) or stops reaching it
// (routes learnt over BGP are installed, or withdrawn, a moment after
// the session says so).
func waitPing(from *lab.Guest, dst netip.Addr, want bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := from.Ping(dst)
		switch {
		case (err == nil) == want:
			return nil
		case time.Now().After(deadline) && want:
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("still reaches %s", dst)
		}
	}
}

// waitConnected waits until the site's connection is up: the session
// established, each site's Blue and Red host routes sent and received,
// the tunnel held, the sites up.
func (s *geoSite) waitConnected(t *testing.T) {
	t.Helper()
	s.waitFor(t, conn+"/session/session-state", "established")
	s.waitFor(t, conn+"/session/prefixes-received", float64(2))
	s.waitFor(t, conn+"/session/prefixes-sent", float64(2))
	s.waitFor(t, conn+"/tunnel/device", "nrc9001")
	s.waitFor(t, conn+"/status/oper-status", "up")
	s.waitFor(t, conn+"/status/sync-state", "in-sync")
	s.waitFor(t, "/sites/site[name="+s.other+"]/status/oper-status", "up")
}

// waitDisconnected waits until the site sees its connection's session
// down and nothing received over it, and its status says so.
func (s *geoSite) waitDisconnected(t *testing.T) {
	t.Helper()
	s.waitFor(t, conn+"/session/prefixes-received", float64(0))
	if st := s.leaf(t, conn+"/session/session-state"); st == "established" {
		t.Errorf("%s: session still established", s.name)
	}
	s.waitFor(t, conn+"/status/oper-status", "down")
	if st := s.leaf(t, conn+"/status/sync-state"); st == "in-sync" {
		t.Errorf("%s: in-sync with the session down", s.name)
	}
}

// waitFor polls a leaf until it has want; sessions take the BGP timers'
// time (GoBGP retries a connection every 5 s).
func (s *geoSite) waitFor(t *testing.T, p string, want any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := s.get(t, p, gpb.GetRequest_ALL)
		if err == nil && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s = %v (%v), want %v\nnetreadyd log:\n%s", s.name, p, v, err, want, s.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// underlay checks whether the two sites' hosts reach each other's
// underlay address (through the gateways' tunnel, the only way).
func underlay(t *testing.T, b, d *geoSite, want bool) {
	t.Helper()
	for _, p := range [][2]*geoSite{{b, d}, {d, b}} {
		err := exec.Command("ip", "netns", "exec", p[0].lab.HostNS(p[0].host), "ping", "-c", "1", "-W", "1", p[1].hostAddr.String()).Run()
		if (err == nil) != want {
			t.Errorf("%s reaches %s's host: %v, want %v", p[0].name, p[1].name, err == nil, want)
		}
	}
}

// twoSiteLab builds each site's host and gateway (lab.New: the host on
// the site's underlay bridge in the fabric namespace) and the WAN between
// the gateways, a veth pair; each host routes the other site's host
// address onto its underlay link.
func twoSiteLab(t *testing.T, b, d *geoSite) {
	t.Helper()
	for _, s := range []*geoSite{b, d} {
		s.lab = lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{s.host: s.hostAddr})
	}
	for _, c := range []struct {
		ns   string
		args []string
	}{
		{b.gateway(), []string{"link", "add", "wan0", "type", "veth", "peer", "name", "wan0", "netns", d.gateway()}},
		{b.gateway(), []string{"addr", "add", b.gwAddr.String() + "/24", "dev", "wan0"}},
		{d.gateway(), []string{"addr", "add", d.gwAddr.String() + "/24", "dev", "wan0"}},
		{b.gateway(), []string{"link", "set", "wan0", "mtu", "1600", "up"}}, // room for VXLAN around 1500
		{d.gateway(), []string{"link", "set", "wan0", "mtu", "1600", "up"}},
		{b.gateway(), []string{"link", "set", "lo", "up"}},
		{d.gateway(), []string{"link", "set", "lo", "up"}},
		{b.lab.HostNS(b.host), []string{"route", "add", d.hostAddr.String() + "/32", "dev", "ul0"}},
		{d.lab.HostNS(d.host), []string{"route", "add", b.hostAddr.String() + "/32", "dev", "ul0"}},
	} {
		if out, err := b.lab.IP(c.ns, c.args...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
}

// doc is the site's configuration from testdata/geolab, pointed at the
// lab's namespaces.
func (s *geoSite) doc(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "geolab", s.name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := "nr" + s.name[len(s.name)-1:] + "-" // as testdata/lab/geolab.sh names them
	return []byte(strings.ReplaceAll(string(data), `"value": "`+prefix+`"`, `"value": "`+s.lab.Prefix()+`"`))
}

// buildNetreadyd compiles the netreadyd binary the sites run.
func buildNetreadyd(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("two sites: needs root (network namespaces)")
	}
	bin := filepath.Join(t.TempDir(), "netreadyd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/netready/netready/cmd/netreadyd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start runs the site's netreadyd in its gateway's network namespace (so
// its BGP speaker speaks from the gateway's address) and connects to it
// there. nsenter --net, not "ip netns exec": that one gives the process a
// mount namespace of its own, where the VRF namespaces its driver makes
// would be mounted out of everyone else's sight.
func (s *geoSite) start(t *testing.T, bin string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("nsenter", "--net="+filepath.Join(linuxfwd.NetnsDir, s.gateway()), bin, "--listen", "127.0.0.1:0", "--data-dir", dir,
		"--gateway-netns", s.gateway(), "--gateway-bridge", "br0", "--label-min", s.labelMin, "--log-level", "debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s.logs = &tailLog{}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logs.add(sc.Text())
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving gNMI" {
				addrc <- rec.Addr
			}
		}
	}()
	var a string
	select {
	case a = <-addrc:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: netreadyd did not start:\n%s", s.name, s.logs)
	}
	ts := &testServer{dir: dir, creds: password{"admin", adminPassword(t, dir)}}
	ts.conn = dialAs(t, a, dir, ts.creds, grpc.WithContextDialer(dialIn(s.gateway())))
	ts.client = gpb.NewGNMIClient(ts.conn)
	t.Cleanup(func() { ts.conn.Close() })
	s.realized = &realized{testServer: ts, lab: s.lab}
}

// dialIn dials TCP from inside a named network namespace: the socket
// belongs to the namespace it was created in.
func dialIn(ns string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		fd, err := netns.GetFromName(ns)
		if err != nil {
			return nil, err
		}
		defer fd.Close()
		var c net.Conn
		err = linuxfwd.InNamespace(fd, func() error {
			var d net.Dialer
			c, err = d.DialContext(ctx, "tcp", addr)
			return err
		})
		return c, err
	}
}

// tailLog keeps the newest lines of a process's log, for failures.
type tailLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *tailLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines = append(l.lines, s); len(l.lines) > 40 {
		l.lines = l.lines[1:]
	}
}

func (l *tailLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(strings.Join(l.lines, "\n"))
}
