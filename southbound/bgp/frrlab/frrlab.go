// Package frrlab runs a real FRR bgpd for tests: in its own network
// namespace, reached from the test's namespace over a veth pair, without
// zebra or systemd, and removed when the test ends. Tests use it as the
// WAN gateway or foreign controller the BGP speaker peers with.
package frrlab

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BGPD is bgpd running in a namespace, peered with one neighbor address
// in the test's namespace.
type BGPD struct {
	t   testing.TB
	dir string
	ns  string
	// Local is the address on the test's side of the veth pair (the
	// speaker's), Addr bgpd's; both use Port.
	Local, Addr netip.Addr
	Port        uint16
	AS          uint32
}

// Start creates the namespace and link and starts bgpd with AS as, one
// neighbor (Local, AS peerAS, port Port) activated in address-families
// ipv4 vpn and ipv6 vpn. It skips the test unless it runs as root; bgpd missing is a
// failure (.ci/deps installs FRR).
func Start(t testing.TB, as, peerAS uint32) *BGPD {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("frrlab: needs root (network namespaces)")
	}
	for _, bin := range []string{"/usr/lib/frr/bgpd", "vtysh", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("frrlab: %s is missing; .ci/deps installs it", bin)
		}
	}
	n := random(t, 1<<14)
	b := &BGPD{t: t, AS: as, ns: fmt.Sprintf("nrbgp%d", n), Port: uint16(20000 + n%20000),
		Local: netip.AddrFrom4([4]byte{100, 64 + byte(n>>8), byte(n), 1}),
		Addr:  netip.AddrFrom4([4]byte{100, 64 + byte(n>>8), byte(n), 2}),
	}
	// Not t.TempDir: its parent is private to root and bgpd runs as frr.
	dir, err := os.MkdirTemp("", "nrfrr")
	if err != nil {
		t.Fatal(err)
	}
	b.dir = dir
	t.Cleanup(b.remove)
	b.link()
	b.run(peerAS)
	return b
}

func random(t testing.TB, n int64) int {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return int(v.Int64())
}

// link creates the namespace and the veth pair between it and the test's
// namespace.
func (b *BGPD) link() {
	veth := b.ns + "a"
	for _, args := range [][]string{
		{"netns", "add", b.ns},
		{"link", "add", veth, "type", "veth", "peer", "name", b.ns + "b", "netns", b.ns},
		{"addr", "add", b.Local.String() + "/30", "dev", veth},
		{"link", "set", veth, "up"},
		{"-n", b.ns, "addr", "add", b.Addr.String() + "/30", "dev", b.ns + "b"},
		{"-n", b.ns, "link", "set", b.ns + "b", "up"},
		{"-n", b.ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			b.t.Fatalf("frrlab: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// run writes the configuration, hands the directory to user frr (bgpd
// drops its privileges to it) and starts bgpd daemonized.
func (b *BGPD) run(peerAS uint32) {
	conf := fmt.Sprintf(`hostname %s
log file %s/bgpd.log
log timestamp precision 6
debug bgp updates in
router bgp %d
 bgp router-id %s
 no bgp default ipv4-unicast
 no bgp ebgp-requires-policy
 neighbor %s remote-as %d
 neighbor %s port %d
 neighbor %s timers connect 1
 address-family ipv4 vpn
  neighbor %s activate
 exit-address-family
 address-family ipv6 vpn
  neighbor %s activate
 exit-address-family
`, b.ns, b.dir, b.AS, b.Addr, b.Local, peerAS, b.Local, b.Port, b.Local, b.Local, b.Local)
	cf := filepath.Join(b.dir, "bgpd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o640); err != nil {
		b.t.Fatal(err)
	}
	b.chownFRR()
	cmd := exec.Command("ip", "netns", "exec", b.ns, "/usr/lib/frr/bgpd", "-d", "-f", cf,
		"-i", b.pidFile(), "-z", filepath.Join(b.dir, "zserv.api"), "--vty_socket", b.dir,
		"-Z", "-l", b.Addr.String(), "-p", strconv.Itoa(int(b.Port)))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.t.Fatalf("frrlab: bgpd: %v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, err := b.show("show bgp summary json"); err != nil; _, err = b.show("show bgp summary json") {
		if time.Now().After(deadline) {
			b.t.Fatalf("frrlab: bgpd does not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *BGPD) chownFRR() {
	u, err := user.Lookup("frr")
	if err != nil {
		b.t.Fatalf("frrlab: user frr: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.Walk(b.dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *BGPD) pidFile() string { return filepath.Join(b.dir, "bgpd.pid") }

// remove stops bgpd (by the pid it wrote) and deletes the namespace,
// which takes the veth pair with it.
func (b *BGPD) remove() {
	if data, err := os.ReadFile(b.pidFile()); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(20 * time.Millisecond)
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = exec.Command("ip", "netns", "del", b.ns).Run()
	_ = exec.Command("ip", "link", "del", b.ns+"a").Run()
	_ = os.RemoveAll(b.dir)
}

// show runs one vtysh command against this bgpd.
func (b *BGPD) show(cmd string) ([]byte, error) {
	out, err := exec.Command("vtysh", "--vty_socket", b.dir, "-c", cmd).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("vtysh -c %q: %v: %s", cmd, err, out)
	}
	return out, nil
}

// Log returns bgpd's log, for failure messages.
func (b *BGPD) Log() string {
	data, _ := os.ReadFile(filepath.Join(b.dir, "bgpd.log"))
	return string(data)
}

// TableVersion is the version of bgpd's VPNv4 table: it grows with every
// route bgpd adds, changes or removes, so it shows changes that came and
// went between two reads.
func (b *BGPD) TableVersion() (uint64, error) {
	out, err := b.show("show bgp ipv4 vpn json")
	if err != nil {
		return 0, err
	}
	var table struct {
		TableVersion uint64 `json:"tableVersion"`
	}
	if err := json.Unmarshal(out, &table); err != nil {
		return 0, fmt.Errorf("show bgp ipv4 vpn json: %w: %s", err, out)
	}
	return table.TableVersion, nil
}

// Holds reports whether bgpd's VPNv4 table has prefix (under any RD):
// one vtysh call, for polling.
func (b *BGPD) Holds(prefix string) (bool, error) {
	out, err := b.show("show bgp ipv4 vpn json")
	if err != nil {
		return false, err
	}
	return strings.Contains(string(out), `"`+prefix+`"`), nil
}

// ReceivedAt returns when bgpd's log (debug bgp updates in) says the
// newest announcement of prefix arrived: the moment the route reached the
// peer, before bgpd's own processing puts it in its table.
func (b *BGPD) ReceivedAt(prefix string) (time.Time, bool) {
	var at time.Time
	found := false
	for _, line := range strings.Split(b.Log(), "\n") {
		if !strings.Contains(line, " rcvd RD ") || !strings.Contains(line, " "+prefix+" label ") || len(line) < 26 {
			continue
		}
		if t, err := time.ParseInLocation("2006/01/02 15:04:05.000000", line[:26], time.Local); err == nil {
			at, found = t, true
		}
	}
	return at, found
}

// VPNRoute is one VPNv4 path bgpd holds, as `show bgp ipv4 vpn` reports it.
type VPNRoute struct {
	RD, Prefix string
	Label      uint32
	NextHop    string
	// ExtCommunities is FRR's text, e.g. "RT:64512:100 ET:8".
	ExtCommunities string
	MED            uint32
}

// VPNRoutes returns every VPNv4 path bgpd holds, keyed by "RD prefix".
func (b *BGPD) VPNRoutes() (map[string]VPNRoute, error) { return b.vpnRoutes("ipv4") }

// VPNv6Routes returns every VPNv6 path bgpd holds, keyed by "RD prefix".
func (b *BGPD) VPNv6Routes() (map[string]VPNRoute, error) { return b.vpnRoutes("ipv6") }

// vpnRoutes reads the VPN table of afi ("ipv4" or "ipv6").
func (b *BGPD) vpnRoutes(afi string) (map[string]VPNRoute, error) {
	out, err := b.show("show bgp " + afi + " vpn json")
	if err != nil {
		return nil, err
	}
	var table struct {
		Routes struct {
			RDs map[string]map[string]json.RawMessage `json:"routeDistinguishers"`
		} `json:"routes"`
	}
	if err := json.Unmarshal(out, &table); err != nil {
		return nil, fmt.Errorf("show bgp %s vpn json: %w: %s", afi, err, out)
	}
	routes := map[string]VPNRoute{}
	for rd, prefixes := range table.Routes.RDs {
		for prefix := range prefixes {
			r, err := b.detail(afi, rd, prefix)
			if err != nil {
				return nil, err
			}
			routes[rd+" "+prefix] = r
		}
	}
	return routes, nil
}

// detail reads one path's label, next hop and communities.
func (b *BGPD) detail(afi, rd, prefix string) (VPNRoute, error) {
	cmd := fmt.Sprintf("show bgp %s vpn rd %s %s json", afi, rd, prefix)
	out, err := b.show(cmd)
	if err != nil {
		return VPNRoute{}, err
	}
	var d map[string]struct {
		Paths []struct {
			RemoteLabel  uint32 `json:"remoteLabel"`
			Metric       uint32 `json:"metric"`
			ExtCommunity struct {
				String string `json:"string"`
			} `json:"extendedCommunity"`
			NextHops []struct {
				IP string `json:"ip"`
			} `json:"nexthops"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(out, &d); err != nil || len(d[rd].Paths) == 0 || len(d[rd].Paths[0].NextHops) == 0 {
		return VPNRoute{}, fmt.Errorf("%s: unexpected answer (%v): %s", cmd, err, out)
	}
	p := d[rd].Paths[0]
	return VPNRoute{RD: rd, Prefix: prefix, Label: p.RemoteLabel, NextHop: p.NextHops[0].IP, ExtCommunities: p.ExtCommunity.String, MED: p.Metric}, nil
}

// WaitRoutes polls until done accepts bgpd's VPNv4 table or timeout
// passes; it returns the last table either way.
func (b *BGPD) WaitRoutes(timeout time.Duration, done func(map[string]VPNRoute) bool) (map[string]VPNRoute, error) {
	return b.wait(b.VPNRoutes, timeout, done)
}

// WaitVPNv6Routes is WaitRoutes for the VPNv6 table.
func (b *BGPD) WaitVPNv6Routes(timeout time.Duration, done func(map[string]VPNRoute) bool) (map[string]VPNRoute, error) {
	return b.wait(b.VPNv6Routes, timeout, done)
}

func (b *BGPD) wait(read func() (map[string]VPNRoute, error), timeout time.Duration, done func(map[string]VPNRoute) bool) (map[string]VPNRoute, error) {
	deadline := time.Now().Add(timeout)
	for {
		routes, err := read()
		if err == nil && done(routes) || time.Now().After(deadline) {
			return routes, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Configure runs configuration commands in bgpd's "router bgp" block,
// e.g. "address-family ipv4 vpn", "network ...".
func (b *BGPD) Configure(cmds ...string) error {
	args := []string{"--vty_socket", b.dir, "-c", "configure terminal", "-c", fmt.Sprintf("router bgp %d", b.AS)}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	if out, err := exec.Command("vtysh", args...).CombinedOutput(); err != nil || strings.Contains(string(out), "%") {
		return fmt.Errorf("vtysh %q: %v: %s", cmds, err, out)
	}
	return nil
}

// Originate makes bgpd announce prefix as a VPNv4 route (VPNv6 for an
// IPv6 prefix) with rd, label and route target rt (a route-map on the
// network statement sets it). The next hop is bgpd's own address (Addr;
// IPv4-mapped for VPNv6).
func (b *BGPD) Originate(prefix, rd string, label uint32, rt string) error {
	rm := "nr-rt-" + strings.NewReplacer(":", "-", ".", "-").Replace(rt)
	out, err := exec.Command("vtysh", "--vty_socket", b.dir, "-c", "configure terminal",
		"-c", "route-map "+rm+" permit 10", "-c", "set extcommunity rt "+rt).CombinedOutput()
	if err != nil || strings.Contains(string(out), "%") {
		return fmt.Errorf("route-map %s: %v: %s", rm, err, out)
	}
	return b.Configure(vpnFamily(prefix), fmt.Sprintf("network %s rd %s label %d route-map %s", prefix, rd, label, rm))
}

// vpnFamily is the address-family block a prefix is configured in.
func vpnFamily(prefix string) string {
	if strings.Contains(prefix, ":") {
		return "address-family ipv6 vpn"
	}
	return "address-family ipv4 vpn"
}

// Withdraw stops announcing a route Originate announced.
func (b *BGPD) Withdraw(prefix, rd string, label uint32) error {
	return b.Configure(vpnFamily(prefix), fmt.Sprintf("no network %s rd %s label %d", prefix, rd, label))
}

// Received returns how many VPNv4 prefixes bgpd accepted from its
// neighbor (pfxRcd): one vtysh call, cheap at any table size.
func (b *BGPD) Received() (int, error) {
	out, err := b.show("show bgp ipv4 vpn summary json")
	if err != nil {
		return 0, err
	}
	var sum struct {
		Peers map[string]struct {
			PfxRcd int `json:"pfxRcd"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		return 0, fmt.Errorf("show bgp ipv4 vpn summary json: %w: %s", err, out)
	}
	return sum.Peers[b.Local.String()].PfxRcd, nil
}
