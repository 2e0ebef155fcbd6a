// Package lab builds, for tests, the machines the linux-vforwarder driver
// (southbound/linuxfwd) works on: host network namespaces joined by an
// underlay, and guests (namespaces standing for VMs) that take the ports
// the driver creates, send and count traffic.
//
//	l := lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{
//		"host-a": netip.MustParseAddr("192.0.2.1"),
//		"host-b": netip.MustParseAddr("192.0.2.2"),
//	})
//	d, _ := linuxfwd.New(l.Backend("vendor-a"))
//	... d.Apply(ctx, changes) ...
//	g1 := l.Guest("host-a", "blue/blue/g1", netip.MustParsePrefix("10.1.1.5/24"))
//	g3 := l.Guest("host-b", "blue/blue/g3", netip.MustParsePrefix("10.1.1.6/24"))
//	if err := g1.Ping(netip.MustParseAddr("10.1.1.6")); err != nil { ... }
//
// Everything a Lab creates is in namespaces whose names start with its
// prefix, and is removed when the test ends (t.Cleanup), including the
// driver's VRF namespaces. Labs need root; New skips the test otherwise.
// The host namespaces are <prefix><host>; the lab's own namespaces are
// <prefix>_fabric (the underlay bridge) and <prefix>_vm<n> (guests): '_'
// cannot start a host name, so they never collide with a host.
package lab

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// UDPPort is the port every guest counts UDP datagrams on (see
// Guest.UDPReceived) and SendUDP sends to.
const UDPPort = 5001

// Lab is a set of host namespaces on one underlay, and their guests.
type Lab struct {
	t      testing.TB
	prefix string
	hosts  map[string]netip.Addr

	mu     sync.Mutex
	guests []*Guest
}

// RandomPrefix returns a fresh namespace prefix: "nt", three random
// characters and "-", so that parallel tests do not collide.
func RandomPrefix() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 3)
	rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return "nt" + string(b) + "-"
}

// New creates the host namespaces <prefix><host>, each with its underlay
// address (IPv4, /32 on its link ul0) and routes to the others' through
// a bridge in <prefix>_fabric, and loopback up. It skips the test unless
// it runs as root and can create network namespaces, and fails it when
// iproute2 is missing.
func New(t testing.TB, prefix string, hosts map[string]netip.Addr) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("lab: the ip command (iproute2) is missing; .ci/deps installs it")
	}
	if err := canUnshare(); err != nil {
		t.Skipf("lab: cannot create network namespaces: %v", err)
	}
	l := &Lab{t: t, prefix: prefix, hosts: hosts}
	l.removeAll()
	t.Cleanup(l.cleanup)

	names := make([]string, 0, len(hosts))
	for h, a := range hosts {
		if !a.Is4() {
			t.Fatalf("lab: host %s: underlay address %v is not IPv4", h, a)
		}
		names = append(names, h)
	}
	slices.Sort(names)
	fab := l.FabricNS()
	if err := firstNetns(fab); err != nil {
		t.Fatalf("lab: %v", err)
	}
	l.mustIP("-n", fab, "link", "add", "br0", "type", "bridge")
	l.mustIP("-n", fab, "link", "set", "br0", "up")
	for _, h := range names {
		if err := l.addHost(h); err != nil {
			t.Fatalf("lab: %v", err)
		}
	}
	return l
}

// addHost creates a host's namespace, its link to the fabric, its
// underlay address and its routes to the other hosts.
func (l *Lab) addHost(h string) error {
	names := make([]string, 0, len(l.hosts))
	for n := range l.hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	ns, fab := l.HostNS(h), l.FabricNS()
	up := fmt.Sprintf("u%d", slices.Index(names, h))
	cmds := [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", fab, "link", "add", up, "type", "veth", "peer", "name", "ul0", "netns", ns},
		{"-n", fab, "link", "set", up, "master", "br0", "up"},
		{"-n", ns, "addr", "add", l.hosts[h].String() + "/32", "dev", "ul0"},
		{"-n", ns, "link", "set", "ul0", "up"},
	}
	for _, o := range names {
		if o != h {
			cmds = append(cmds, []string{"-n", ns, "route", "add", l.hosts[o].String() + "/32", "dev", "ul0"})
		}
	}
	for _, c := range cmds {
		if _, err := ip(c...); err != nil {
			return err
		}
	}
	return nil
}

// RestoreHost creates again the namespace of a host deleted by DeleteHost,
// as New made it. What the driver had in it (guest ends, VXLAN sockets and
// so the VXLAN devices of the host's VRFs) is gone: Reconcile puts it
// back.
func (l *Lab) RestoreHost(host string) error {
	if _, ok := l.hosts[host]; !ok {
		return fmt.Errorf("no host %s in the lab", host)
	}
	// The fabric end of the old link goes with the old namespace, when
	// the kernel gets round to it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := l.addHost(host)
		if err == nil {
			return nil
		}
		linuxfwd.DeleteNamespace(l.HostNS(host))
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// firstNetns adds the namespace name holding a lock shared by every
// process: the first "ip netns add" on a machine makes /run/netns a shared
// mount point, and two doing it at once would stack two mounts, each
// hiding the namespaces made on the other.
func firstNetns(name string) error {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "netready-lab-netns.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	_, err = ip("netns", "add", name)
	return err
}

func canUnshare() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		errc <- unix.Unshare(unix.CLONE_NEWNET)
	}()
	return <-errc
}

// Prefix returns the lab's namespace prefix (the driver's netns-prefix).
func (l *Lab) Prefix() string { return l.prefix }

// Backend returns the configuration of a linux-vforwarder backend named
// name that serves the lab's hosts.
func (l *Lab) Backend(name string) southbound.Backend {
	return southbound.Backend{
		Name: name, Driver: linuxfwd.Kind,
		Options: map[string]string{"netns-prefix": l.prefix},
		Timeout: 30 * time.Second,
	}
}

// HostNS returns the name of a host's namespace.
func (l *Lab) HostNS(host string) string { return linuxfwd.HostNamespace(l.prefix, host) }

// VRFNS returns the name of the namespace the driver uses for the VRF with
// the given label on host.
func (l *Lab) VRFNS(host string, label uint32) string {
	return linuxfwd.VRFNamespace(l.prefix, host, label)
}

// FabricNS returns the name of the underlay's namespace.
func (l *Lab) FabricNS() string { return l.prefix + "_fabric" }

// Namespaces returns the names of every namespace with the lab's prefix,
// sorted.
func (l *Lab) Namespaces() []string {
	ents, err := os.ReadDir(linuxfwd.NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		l.t.Fatalf("lab: %v", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), l.prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// IP runs "ip -n ns args..." ("ip args..." when ns is "") and returns
// its output.
func (l *Lab) IP(ns string, args ...string) (string, error) {
	if ns == "" {
		return ip(args...)
	}
	return ip(append([]string{"-n", ns}, args...)...)
}

func ip(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (l *Lab) mustIP(args ...string) {
	l.t.Helper()
	if _, err := ip(args...); err != nil {
		l.t.Fatalf("lab: %v", err)
	}
}

// DeleteRoute deletes a route by hand from the main table of the VRF
// namespace with the given label on host (to make drift).
func (l *Lab) DeleteRoute(host string, label uint32, p netip.Prefix) error {
	_, err := l.IP(l.VRFNS(host, label), "route", "del", p.String())
	return err
}

// DeleteHost deletes a host's namespace (to make the host's backend
// fail). What the driver created in it goes when nothing holds it.
func (l *Lab) DeleteHost(host string) error {
	return linuxfwd.DeleteNamespace(l.HostNS(host))
}

func (l *Lab) removeAll() {
	for _, n := range l.Namespaces() {
		if err := linuxfwd.DeleteNamespace(n); err != nil {
			l.t.Errorf("lab: %v", err)
		}
	}
}

func (l *Lab) cleanup() {
	l.mu.Lock()
	gs := l.guests
	l.guests = nil
	l.mu.Unlock()
	for _, g := range gs {
		g.close()
	}
	l.removeAll()
}

func writeSysctl(path, value string) error {
	return os.WriteFile("/proc/sys/net/"+path, []byte(value), 0)
}

// Guest is a namespace standing for a VM, holding a port's guest end as
// eth0.
type Guest struct {
	lab   *Lab
	Host  string
	Alias string
	NS    string
	Addrs []netip.Prefix

	fd   netns.NsHandle
	h    *netlink.Handle
	conn *net.UDPConn

	mu       sync.Mutex
	received int64
	from     map[netip.Addr]int64
	done     chan struct{}
}

// Guest takes the guest end with the given alias ("tenant/vpn/interface")
// from the host's namespace into a new namespace <prefix>_vm<n>, names it
// eth0, gives it addrs, brings it up with an on-link default route (the
// VRF answers ARP for every destination it has a route to) and starts
// counting UDP datagrams to UDPPort. rp_filter is off.
func (l *Lab) Guest(host, alias string, addrs ...netip.Prefix) *Guest {
	t := l.t
	t.Helper()
	g, err := l.guest(host, alias, addrs)
	if err != nil {
		t.Fatalf("lab: guest %s on %s: %v", alias, host, err)
	}
	return g
}

func (l *Lab) guest(host, alias string, addrs []netip.Prefix) (*Guest, error) {
	hfd, err := netns.GetFromName(l.HostNS(host))
	if err != nil {
		return nil, fmt.Errorf("host namespace: %w", err)
	}
	defer hfd.Close()
	hh, err := netlink.NewHandleAt(hfd, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer hh.Close()
	links, err := hh.LinkList()
	if err != nil {
		return nil, err
	}
	var link netlink.Link
	var aliases []string
	for _, k := range links {
		if k.Attrs().Alias == alias {
			link = k
		}
		if k.Attrs().Alias != "" {
			aliases = append(aliases, k.Attrs().Alias)
		}
	}
	if link == nil {
		return nil, fmt.Errorf("no link with alias %q in %s (aliases there: %v)", alias, l.HostNS(host), aliases)
	}

	l.mu.Lock()
	n := len(l.guests)
	g := &Guest{lab: l, Host: host, Alias: alias, NS: fmt.Sprintf("%s_vm%d", l.prefix, n), Addrs: addrs,
		fd: -1, from: make(map[netip.Addr]int64), done: make(chan struct{})}
	l.guests = append(l.guests, g)
	l.mu.Unlock()

	if _, err := ip("netns", "add", g.NS); err != nil {
		return nil, err
	}
	if g.fd, err = netns.GetFromName(g.NS); err != nil {
		return nil, err
	}
	if g.h, err = netlink.NewHandleAt(g.fd, unix.NETLINK_ROUTE); err != nil {
		return nil, err
	}
	err = linuxfwd.InNamespace(g.fd, func() error {
		for _, p := range []string{"all", "default"} {
			if err := writeSysctl("ipv4/conf/"+p+"/rp_filter", "0"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := hh.LinkSetNsFd(link, int(g.fd)); err != nil {
		return nil, fmt.Errorf("move %s: %w", link.Attrs().Name, err)
	}
	eth, err := g.h.LinkByName(link.Attrs().Name)
	if err != nil {
		return nil, err
	}
	if err := g.h.LinkSetName(eth, "eth0"); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		nl := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
		if a.Addr().Is6() {
			// No on-link prefix route: the VRF end answers no neighbour
			// solicitation for the subnet's other addresses, so
			// everything goes via linuxfwd.PortGateway6.
			nl.Flags = unix.IFA_F_NODAD | unix.IFA_F_NOPREFIXROUTE
		}
		if err := g.h.AddrAdd(eth, nl); err != nil {
			return nil, fmt.Errorf("address %s: %w", a, err)
		}
	}
	lo, err := g.h.LinkByName("lo")
	if err != nil {
		return nil, err
	}
	for _, k := range []netlink.Link{lo, eth} {
		if err := g.h.LinkSetUp(k); err != nil {
			return nil, err
		}
	}
	// A veth end drops what it sends until the kernel's link watch has
	// seen its carrier: wait for that on both ends (the driver gives the
	// VRF end the same alias).
	if err := waitOperUp(g.h, "eth0", 3*time.Second); err != nil {
		return nil, err
	}
	if err := l.waitVRFEnd(host, alias, 3*time.Second); err != nil {
		return nil, err
	}
	for _, v6 := range []bool{false, true} {
		if !slices.ContainsFunc(addrs, func(a netip.Prefix) bool { return a.Addr().Is6() == v6 }) {
			continue
		}
		rt := &netlink.Route{Dst: &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}, LinkIndex: eth.Attrs().Index, Scope: netlink.SCOPE_LINK}
		if v6 { // via the port's gateway: the VRF end answers no neighbour solicitation by proxy
			rt = &netlink.Route{Dst: &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}, LinkIndex: eth.Attrs().Index,
				Gw: net.ParseIP(linuxfwd.PortGateway6)}
		}
		if err := g.h.RouteAdd(rt); err != nil {
			return nil, fmt.Errorf("default route: %w", err)
		}
	}
	err = linuxfwd.InNamespace(g.fd, func() error {
		c, err := net.ListenUDP("udp", &net.UDPAddr{Port: UDPPort})
		g.conn = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("UDP listener: %w", err)
	}
	go g.count()
	return g, nil
}

// waitVRFEnd waits until the veth end with the alias in one of the
// host's VRF namespaces is operationally up, and a little more.
func (l *Lab) waitVRFEnd(host, alias string, timeout time.Duration) error {
	for _, n := range l.Namespaces() {
		if !strings.HasPrefix(n, l.HostNS(host)+"@") {
			continue
		}
		fd, err := netns.GetFromName(n)
		if err != nil {
			continue
		}
		h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
		if err != nil {
			fd.Close()
			return err
		}
		links, err := h.LinkList()
		for _, k := range links {
			if k.Type() == "veth" && k.Attrs().Alias == alias {
				err = waitOperUp(h, k.Attrs().Name, timeout)
				break
			}
		}
		h.Close()
		fd.Close()
		if err != nil {
			return fmt.Errorf("VRF end in %s: %w", n, err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	return nil
}

func waitOperUp(h *netlink.Handle, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l, err := h.LinkByName(name)
		if err != nil {
			return err
		}
		if l.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not up after %v (operstate %s)", name, timeout, l.Attrs().OperState)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *Guest) count() {
	defer close(g.done)
	buf := make([]byte, 2048)
	for {
		_, from, err := g.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		g.mu.Lock()
		g.received++
		g.from[from.Addr().Unmap()]++
		g.mu.Unlock()
	}
}

func (g *Guest) close() {
	if g.conn != nil {
		g.conn.Close()
		<-g.done
	}
	if g.h != nil {
		g.h.Close()
	}
	if g.fd >= 0 {
		g.fd.Close()
	}
}

// SetForwarding makes the guest a router (ip_forward on, ICMP redirects
// off), as a hub's firewall is: traffic it receives for other
// destinations goes back out of eth0.
func (g *Guest) SetForwarding(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return linuxfwd.InNamespace(g.fd, func() error {
		if err := writeSysctl("ipv4/ip_forward", v); err != nil {
			return err
		}
		for _, p := range []string{"all", "default", "eth0"} {
			if err := writeSysctl("ipv4/conf/"+p+"/send_redirects", "0"); err != nil {
				return err
			}
		}
		return nil
	})
}

// SendUDP sends one datagram to dst:UDPPort from each of flows sockets,
// each bound to its own source port, so that L4 multipath hashing spreads
// them.
func (g *Guest) SendUDP(dst netip.Addr, flows int) error {
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	err := linuxfwd.InNamespace(g.fd, func() error {
		for range flows {
			c, err := net.ListenUDP("udp", &net.UDPAddr{})
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sockets in %s: %w", g.NS, err)
	}
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, UDPPort))
	for _, c := range conns {
		if _, err := c.WriteToUDP([]byte("netready lab"), to); err != nil {
			return fmt.Errorf("send to %s from %s: %w", to, g.NS, err)
		}
	}
	return nil
}

// UDPReceived returns the number of datagrams received on UDPPort so far.
func (g *Guest) UDPReceived() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.received
}

// UDPReceivedFrom returns the number of datagrams received on UDPPort
// from src so far.
func (g *Guest) UDPReceivedFrom(src netip.Addr) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.from[src]
}

// RxPackets returns eth0's received packet counter.
func (g *Guest) RxPackets() uint64 {
	l, err := g.h.LinkByName("eth0")
	if err != nil || l.Attrs().Statistics == nil {
		return 0
	}
	return l.Attrs().Statistics.RxPackets
}

// WaitUDP waits until the guests have received total datagrams together,
// or timeout, and returns how many they have.
func WaitUDP(total int64, timeout time.Duration, guests ...*Guest) int64 {
	deadline := time.Now().Add(timeout)
	for {
		var n int64
		for _, g := range guests {
			n += g.UDPReceived()
		}
		if n >= total || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}
