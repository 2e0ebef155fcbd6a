package ebpffwd_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// l2Rig applies L2 models to the rig's two vendors.
type l2Rig struct {
	*rig
	l2res l2.Result
}

func l2Hosts() []l2.Host {
	return []l2.Host{{Name: "host-a", Backend: "vendor-a", Addr: ulA}, {Name: "host-b", Backend: "vendor-b", Addr: ulB}}
}

func l2Bind(iface, host string) l2.Binding {
	return l2.Binding{Interface: iface, Host: host, AdminUp: true}
}

// applyL2 computes m and applies the diff from the last L2 result on
// every backend.
func (r *l2Rig) applyL2(m l2.Model) {
	r.t.Helper()
	res := l2.Compute(m)
	for b, changes := range l2.Diff(r.l2res, res) {
		if err := r.drivers[b].(southbound.L2Forwarder).ApplyL2(ctx(r.t), changes); err != nil {
			r.t.Fatalf("ApplyL2 on %s: %v", b, err)
		}
	}
	r.l2res = res
}

// reconcileL2 reconciles the L2 segments of every backend, returning the
// drift.
func (r *l2Rig) reconcileL2() []string {
	r.t.Helper()
	var all []string
	for _, b := range []string{"vendor-a", "vendor-b"} {
		drift, err := r.drivers[b].(southbound.L2Forwarder).ReconcileL2(ctx(r.t), l2.ViewsOf(r.l2res, b, "host-a", "host-b"))
		if err != nil {
			r.t.Fatalf("ReconcileL2 on %s: %v", b, err)
		}
		all = append(all, drift...)
	}
	return all
}

// l2Guest takes the guest end of the untagged L2 port iface of segment.
func (r *l2Rig) l2Guest(host, segment, iface, addr string) *lab.Guest {
	r.t.Helper()
	return r.lab.Guest(host, linuxfwd.L2PortAlias(segment, iface), netip.MustParsePrefix(addr))
}

// hostLinks lists the names of the links in a host's namespace.
func hostLinks(t *testing.T, l *lab.Lab, host string) []string {
	t.Helper()
	ns, err := netns.GetFromName(l.HostNS(host))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range links {
		out = append(out, k.Attrs().Name)
	}
	return out
}

// L2 networks across vendors: red and green on one subnet, each with a
// port on host-a (linux-vforwarder) and ports on host-b
// (ebpf-vforwarder). Guests of a network reach each other (ARP flooded
// over VXLAN 8472 and answered by the guests), on one host and across;
// datagrams to an address both networks use reach only the sender's
// network; a reconciliation finds nothing, repairs maps emptied by hand,
// and deleting the networks leaves no L2 device on host-b.
func TestMixedL2Network(t *testing.T) {
	r := &l2Rig{rig: newRig(t)}
	m := l2.Model{Hosts: l2Hosts(), Networks: []l2.Network{
		{Tenant: "acme", Name: "red", SegmentID: 5000, Bindings: []l2.Binding{l2Bind("ra", "host-a"), l2Bind("rb", "host-b"), l2Bind("rc", "host-b")}},
		{Tenant: "acme", Name: "green", Bindings: []l2.Binding{l2Bind("ga", "host-a"), l2Bind("gb", "host-b")}},
	}}
	r.applyL2(m)
	ra := r.l2Guest("host-a", "acme/red", "ra", "10.5.0.1/24")
	rb := r.l2Guest("host-b", "acme/red", "rb", "10.5.0.2/24")
	rc := r.l2Guest("host-b", "acme/red", "rc", "10.5.0.3/24")
	ga := r.l2Guest("host-a", "acme/green", "ga", "10.5.0.1/24")
	gb := r.l2Guest("host-b", "acme/green", "gb", "10.5.0.2/24")

	mustPing(t, ra, "10.5.0.2") // A (Linux bridge) → B (eBPF)
	mustPing(t, rb, "10.5.0.1") // B → A
	mustPing(t, rb, "10.5.0.3") // on B
	mustPing(t, rc, "10.5.0.1")
	mustPing(t, gb, "10.5.0.1")
	mustNotPing(t, gb, "10.5.0.3") // red's, on the same host

	// Each network reaches its own 10.5.0.1 and 10.5.0.2, both ways.
	const n = 15
	for _, c := range []struct {
		from, to *lab.Guest
		dst      string
		n        int64
	}{
		{ra, rb, "10.5.0.2", n}, {ga, gb, "10.5.0.2", 2 * n},
		{rb, ra, "10.5.0.1", 3 * n}, {gb, ga, "10.5.0.1", 4 * n},
	} {
		before := c.to.UDPReceived()
		if err := c.from.SendUDP(netip.MustParseAddr(c.dst), int(c.n)); err != nil {
			t.Fatal(err)
		}
		lab.WaitUDP(before+c.n, 2*time.Second, c.to)
		time.Sleep(20 * time.Millisecond)
		if got := c.to.UDPReceived() - before; got != c.n {
			t.Errorf("%s → %s: %s received %d datagrams, want %d", c.from.Alias, c.dst, c.to.Alias, got, c.n)
		}
	}
	if got := ra.UDPReceived() + rb.UDPReceived() + rc.UDPReceived(); got != 4*n {
		t.Errorf("red received %d datagrams in all, want %d (green's leaked in?)", got, 4*n)
	}

	if drift := r.reconcileL2(); len(drift) != 0 {
		t.Errorf("drift after ApplyL2:\n%s", strings.Join(drift, "\n"))
	}
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("L3 drift with L2 ports only (L3 must leave their vNICs alone):\n%s", strings.Join(drift, "\n"))
	}

	// Emptied by hand: the flood list and the bindings of host-b.
	pins := ebpffwd.PinDir(ebpffwd.DefaultBPFFS, r.lab.Prefix(), "host-b")
	for _, name := range []string{"segments", "l2_bindings"} {
		mp, err := ebpf.LoadPinnedMap(pins+"/"+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, mp.KeySize())
		for mp.NextKey(nil, key) == nil {
			if err := mp.Delete(key); err != nil {
				t.Fatal(err)
			}
		}
		mp.Close()
	}
	mustNotPing(t, rb, "10.5.0.1")
	drift := r.reconcileL2()
	for _, want := range []string{"host-b: L2 acme/red: segments map entry missing", "host-b: L2 acme/red: port rb missing"} {
		if !slices.Contains(drift, want) {
			t.Errorf("drift %q not reported; got:\n%s", want, strings.Join(drift, "\n"))
		}
	}
	mustPing(t, rb, "10.5.0.1")
	if drift := r.reconcileL2(); len(drift) != 0 {
		t.Errorf("drift after repair:\n%s", strings.Join(drift, "\n"))
	}

	r.applyL2(l2.Model{Hosts: l2Hosts()})
	for _, name := range hostLinks(t, r.lab, "host-b") {
		if name == ebpffwd.L2TunnelLink(r.lab.Prefix()) || strings.HasPrefix(name, r.lab.Prefix()+"e") {
			t.Errorf("host-b still has %s after the networks were deleted", name)
		}
	}
}
