package linuxfwd_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/routing"
)

func TestOptions(t *testing.T) {
	t.Parallel()
	reg := southbound.Registry{}
	linuxfwd.Register(reg)
	for _, tc := range []struct {
		opts map[string]string
		err  string
	}{
		{nil, ""},
		{map[string]string{"netns-prefix": "x1-"}, ""},
		{map[string]string{"netns-prefix": ""}, "netns-prefix"},
		{map[string]string{"netns-prefix": "waytoolong"}, "netns-prefix"},
		{map[string]string{"netns-prefix": "Bad"}, "netns-prefix"},
		{map[string]string{"bogus": "1"}, `unknown option "bogus"`},
	} {
		d, err := reg.Open(context.Background(), southbound.Backend{Name: "b", Driver: linuxfwd.Kind, Options: tc.opts})
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.opts, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: error %v, want one about %s", tc.opts, err, tc.err)
		}
		if d != nil {
			d.Close()
		}
	}
	d, _ := linuxfwd.New(southbound.Backend{Name: "b"})
	if d.Prefix() != linuxfwd.DefaultPrefix {
		t.Errorf("default prefix %q", d.Prefix())
	}
}

// vrfNamespaces returns the lab's VRF namespaces.
func (r *rig) vrfNamespaces() []string {
	var out []string
	for _, n := range r.lab.Namespaces() {
		if strings.Contains(n, "@") {
			out = append(out, n)
		}
	}
	return out
}

func TestApplyIdempotent(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	res := r.compute(anyToAnyModel())
	var empty routing.Result

	// Creating twice is creating once.
	r.applyDiff(empty, res)
	r.applyDiff(empty, res)
	r.res = res
	if drift := r.reconcile(res); len(drift) != 0 {
		t.Errorf("drift after applying the creates twice:\n%s", strings.Join(drift, "\n"))
	}
	if got := len(r.vrfNamespaces()); got != 4 {
		t.Errorf("%d VRF namespaces (%v), want 4", got, r.vrfNamespaces())
	}
	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	mustPing(t, g1, "10.1.1.6")

	// A driver that starts on existing state (another instance of the
	// backend) learns it from the kernel.
	fresh := r.driver("vendor-b")
	if drift, err := fresh.Reconcile(ctx(t), views(res, "vendor-b")); err != nil || len(drift) != 0 {
		t.Errorf("fresh driver: reconcile: %v, drift %v", err, drift)
	}
	fresh2 := r.driver("vendor-a")
	less := r.compute(func() routing.Model {
		m := anyToAnyModel()
		m.VPNs[0].Bindings = m.VPNs[0].Bindings[1:] // without g1 (host-a)
		return m
	}())
	r.drivers["vendor-a"] = fresh2
	r.applyDiff(res, less)
	r.res = less
	if drift := r.reconcile(less); len(drift) != 0 {
		t.Errorf("drift after a fresh driver's apply:\n%s", strings.Join(drift, "\n"))
	}

	// Deleting twice is deleting once; so is deleting what never was.
	r.applyDiff(less, empty)
	r.applyDiff(less, empty)
	if ns := r.vrfNamespaces(); len(ns) != 0 {
		t.Errorf("VRF namespaces left after deleting everything: %v", ns)
	}
	none := []routing.Change{
		{Op: routing.Delete, Kind: routing.KindRoute, Host: "host-a", VRF: "no/such", Prefix: netip.MustParsePrefix("10.0.0.0/8")},
		{Op: routing.Delete, Kind: routing.KindPort, Host: "host-a", VRF: "no/such", Port: "eth9"},
		{Op: routing.Delete, Kind: routing.KindVRF, Host: "host-a", VRF: "no/such"},
	}
	if err := r.drivers["vendor-a"].Apply(ctx(t), none); err != nil {
		t.Errorf("deleting what does not exist: %v", err)
	}
	if drift := r.reconcile(empty); len(drift) != 0 {
		t.Errorf("drift after deleting everything:\n%s", strings.Join(drift, "\n"))
	}
}

func TestApplyRelabel(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	m := anyToAnyModel()
	m.VPNs = m.VPNs[:1] // blue only
	res1, _ := routing.Compute(m, routing.Assignments{})
	r.applyDiff(routing.Result{}, res1)

	// Computed afresh with a VPN sorting first, every label moves: the VRFs
	// are updated (renamed, nrx recreated) and the ports recreated.
	m.VPNs = append(m.VPNs, routing.VPN{
		Tenant: "aaa", Name: "aaa", Policy: routing.AnyToAny,
		ImportRTs: []string{"64512:300"}, ExportRTs: []string{"64512:300"},
		Bindings: []routing.Binding{bind("a1", "host-a", 100, "10.7.7.7")},
	})
	res2, _ := routing.Compute(m, routing.Assignments{})
	if label(t, res1, "host-a", "blue/blue") == label(t, res2, "host-a", "blue/blue") {
		t.Fatal("the labels did not move; the test needs another model")
	}
	changes := routing.Diff(res1, res2)
	if !slices.ContainsFunc(changes["vendor-a"], func(c routing.Change) bool {
		return c.Kind == routing.KindVRF && c.Op == routing.Update
	}) {
		t.Fatalf("no VRF update in %v", changes["vendor-a"])
	}
	r.applyDiff(res1, res2)
	r.res = res2
	if drift := r.reconcile(res2); len(drift) != 0 {
		t.Errorf("drift after relabelling:\n%s", strings.Join(drift, "\n"))
	}
	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	r.guest("host-b", "blue", "blue", "g4", "10.3.7.10/24")
	mustPing(t, g1, "10.1.1.6")
	mustPing(t, g1, "10.3.7.10")
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	res := r.compute(anyToAnyModel())
	r.res = res

	// An empty backend: everything is created, one line per VRF.
	drift := r.reconcile(res)
	if len(drift) != 4 {
		t.Errorf("drift on an empty backend: got\n%s\nwant one line per VRF (4)", strings.Join(drift, "\n"))
	}
	for _, want := range []string{"host-a: VRF blue/blue: missing", "host-b: VRF red/red: missing"} {
		if !slices.ContainsFunc(drift, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("drift lacks %q:\n%s", want, strings.Join(drift, "\n"))
		}
	}
	if drift := r.reconcile(res); len(drift) != 0 {
		t.Errorf("drift right after reconciling:\n%s", strings.Join(drift, "\n"))
	}
	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	r.guest("host-b", "blue", "blue", "g4", "10.3.7.10/24")
	mustPing(t, g1, "10.1.1.6")

	// A route deleted by hand.
	blueA := label(t, res, "host-a", "blue/blue")
	if err := r.lab.DeleteRoute("host-a", blueA, netip.MustParsePrefix("10.1.1.6/32")); err != nil {
		t.Fatal(err)
	}
	mustNotPing(t, g1, "10.1.1.6")
	drift = r.reconcile(res)
	if want := "host-a: VRF blue/blue: route 10.1.1.6/32 missing: added"; !slices.Equal(drift, []string{want}) {
		t.Errorf("drift after deleting a route: got\n%s\nwant %s", strings.Join(drift, "\n"), want)
	}
	mustPing(t, g1, "10.1.1.6")

	// An extra VRF namespace with the prefix.
	extra := linuxfwd.VRFNamespace(r.lab.Prefix(), "host-a", 999)
	if _, err := r.lab.IP("", "netns", "add", extra); err != nil {
		t.Fatal(err)
	}
	drift = r.reconcile(res)
	if want := "host-a: extra namespace " + extra + " (no VRF) removed"; !slices.Equal(drift, []string{want}) {
		t.Errorf("drift with an extra namespace: got\n%s\nwant %s", strings.Join(drift, "\n"), want)
	}
	if _, err := os.Stat(filepath.Join(linuxfwd.NetnsDir, extra)); err == nil {
		t.Errorf("%s still exists", extra)
	}

	// Many differences at once, each reported and fixed.
	blueB := label(t, res, "host-b", "blue/blue")
	nsA, nsB := r.lab.VRFNS("host-a", blueA), r.lab.VRFNS("host-b", blueB)
	g4 := res.Hosts["host-b"].VRF("blue/blue").Ports[1]            // g4
	g1Label := res.Hosts["host-a"].VRF("blue/blue").Ports[0].Label // g1
	for _, c := range [][]string{
		{nsA, "link", "add", "junk0", "type", "veth", "peer", "name", "junk1"},     // 2 extra links
		{nsA, "rule", "add", "from", "10.9.0.0/16", "lookup", "main", "pref", "5"}, // extra rule
		{nsA, "route", "add", "10.99.0.0/16", "via", "169.254.0.99", "dev", "nrx", "onlink"},
		{nsA, "route", "replace", "10.3.7.10/32", "via", "10.1.1.5", "dev", "p" + itoa(g1Label), "onlink"}, // wrong route
		{nsA, "neigh", "add", "169.254.3.3", "lladdr", "02:00:00:00:00:01", "dev", "nrx", "nud", "permanent"},
		{nsB, "link", "set", "x" + itoa(g4.Label), "down"},
		{nsB, "rule", "del", "iif", "x" + itoa(g4.Label), "lookup", itoa(1000 + g4.Label)},
		{nsB, "neigh", "del", "169.254.0." + itoa(g1Label), "dev", "nrx"},
		{r.lab.HostNS("host-a"), "link", "add", linuxfwd.GuestLink(r.lab.Prefix(), 4242), "type", "veth", "peer", "name", "other0"},
	} {
		if out, err := r.lab.IP(c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	if out, err := r.lab.IP(nsA, "link", "set", "nrx", "alias", "wrong"); err != nil {
		t.Fatal(err, out)
	}
	drift = r.reconcile(res)
	t.Logf("drift:\n%s", strings.Join(drift, "\n"))
	for _, want := range []string{
		"host-a: VRF blue/blue: extra link junk0 removed",
		"host-a: VRF blue/blue: extra rule pref 5 from 10.9.0.0/16 lookup 254 removed",
		"host-a: VRF blue/blue: extra route 10.99.0.0/16 removed",
		"host-a: VRF blue/blue: route 10.3.7.10/32 via",
		"host-a: VRF blue/blue: extra neighbour 169.254.3.3",
		"host-a: VRF blue/blue: nrx alias",
		"host-a: extra guest link " + linuxfwd.GuestLink(r.lab.Prefix(), 4242) + " removed",
		"host-b: VRF blue/blue: port g4: x" + itoa(g4.Label) + " down: fixed",
		"host-b: VRF blue/blue: port g4: rule iif",
		"host-b: VRF blue/blue: label " + itoa(g1Label) + ": neighbour",
	} {
		if !slices.ContainsFunc(drift, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("drift lacks %q", want)
		}
	}
	if drift := r.reconcile(res); len(drift) != 0 {
		t.Errorf("drift right after reconciling:\n%s", strings.Join(drift, "\n"))
	}
	mustPing(t, g1, "10.1.1.6")
	mustPing(t, g1, "10.3.7.10")
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestMissingHost(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	res := r.apply(anyToAnyModel())
	if err := r.lab.DeleteHost("host-b"); err != nil {
		t.Fatal(err)
	}
	m := anyToAnyModel()
	m.VPNs[0].Bindings = m.VPNs[0].Bindings[:2] // without g3 and g4 (host-b)
	less := r.compute(m)
	want := []string{"host-b", r.lab.HostNS("host-b"), "not found"}
	err := r.drivers["vendor-b"].Apply(ctx(t), routing.Diff(res, less)["vendor-b"])
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("apply without the host's namespace: error %v, want one with %q", err, w)
		}
	}
	_, err = r.drivers["vendor-b"].Reconcile(ctx(t), views(res, "vendor-b"))
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("reconcile without the host's namespace: error %v, want one with %q", err, w)
		}
	}
	// A host that should hold nothing is in sync without its namespace (a
	// host configured before it is up).
	if drift, err := r.drivers["vendor-b"].Reconcile(ctx(t), []*routing.HostView{{Host: "host-b", Backend: "vendor-b"}}); err != nil || len(drift) != 0 {
		t.Errorf("reconcile of an empty host without its namespace: %v, drift %v", err, drift)
	}
	// The other backend does not care.
	if err := r.drivers["vendor-a"].Apply(ctx(t), routing.Diff(res, less)["vendor-a"]); err != nil {
		t.Errorf("vendor-a: %v", err)
	}
	if drift, err := r.drivers["vendor-a"].Reconcile(ctx(t), views(less, "vendor-a")); err != nil || len(drift) != 0 {
		t.Errorf("vendor-a: reconcile: %v, drift %v", err, drift)
	}

	// The host comes back, empty: reconciliation restores it.
	if err := r.lab.RestoreHost("host-b"); err != nil {
		t.Fatal(err)
	}
	drift, err := r.drivers["vendor-b"].Reconcile(ctx(t), views(less, "vendor-b"))
	if err != nil || len(drift) == 0 {
		t.Errorf("vendor-b: reconcile after the host came back: %v, drift %v", err, drift)
	}
	t.Logf("drift after the host came back:\n%s", strings.Join(drift, "\n"))
	r.res = less
	if drift := r.reconcile(less); len(drift) != 0 {
		t.Errorf("drift right after reconciling:\n%s", strings.Join(drift, "\n"))
	}
	g5 := r.guest("host-a", "red", "red", "g5", "10.1.1.5/24")
	r.guest("host-b", "red", "red", "g6", "10.1.1.6/24")
	mustPing(t, g5, "10.1.1.6")
}

func TestContext(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	res := r.compute(anyToAnyModel())
	c, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.drivers["vendor-a"].Apply(c, routing.Diff(routing.Result{}, res)["vendor-a"])
	if err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Errorf("apply with a cancelled context: %v", err)
	}
	if ns := r.vrfNamespaces(); len(ns) != 0 {
		t.Errorf("apply with a cancelled context created %v", ns)
	}
	if _, err := r.drivers["vendor-a"].Reconcile(c, views(res, "vendor-a")); err == nil {
		t.Error("reconcile with a cancelled context succeeded")
	}
}

func TestIPv6AndLimits(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	m := routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{{
		Tenant: "blue", Name: "blue", Policy: routing.AnyToAny,
		ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
		Bindings: []routing.Binding{
			bind("g1", "host-a", 100, "10.1.1.5", "2001:db8::5"),
			bind("g2", "host-a", 100, "2001:db8::6"),
		},
	}}}
	// IPv6 routes with local next hops are realized.
	res := r.apply(m)
	if drift := r.reconcile(res); len(drift) != 0 {
		t.Errorf("drift:\n%s", strings.Join(drift, "\n"))
	}
	out, err := r.lab.IP(r.lab.VRFNS("host-a", label(t, res, "host-a", "blue/blue")), "-6", "route", "show", "proto", "78")
	if err != nil || !strings.Contains(out, "2001:db8::6 via 2001:db8::6 dev p") || !strings.Contains(out, "2001:db8::5 via 2001:db8::5 dev p") {
		t.Errorf("IPv6 routes: %v\n%s", err, out)
	}

	// Tunnelled ones too, through the label's IPv6 gateway on nrx.
	m.VPNs[0].Bindings = append(m.VPNs[0].Bindings, bind("g3", "host-b", 100, "10.1.1.6"))
	more := r.compute(m)
	if err := r.drivers["vendor-b"].Apply(ctx(t), routing.Diff(res, more)["vendor-b"]); err != nil {
		t.Fatalf("tunnelled IPv6 route: %v", err)
	}
	out, err = r.lab.IP(r.lab.VRFNS("host-b", label(t, more, "host-b", "blue/blue")), "-6", "route", "show", "2001:db8::5")
	if err != nil || !strings.Contains(out, "2001:db8::5 via fe80::a9fe:") || !strings.Contains(out, "dev nrx") {
		t.Errorf("tunnelled IPv6 route: %v\n%s", err, out)
	}
	if drift, err := r.drivers["vendor-b"].Reconcile(ctx(t), views(more, "vendor-b")); err != nil || len(drift) != 0 {
		t.Errorf("drift: %v\n%s", err, strings.Join(drift, "\n"))
	}

	// So are labels the driver cannot encode.
	big := []routing.Change{{Op: routing.Create, Kind: routing.KindVRF, Host: "host-a", VRF: "x/y",
		Spec: &routing.VRF{ID: "x/y", Tenant: "x", VPN: "y", Label: linuxfwd.MaxLabel + 1}}}
	err = r.drivers["vendor-a"].Apply(ctx(t), big)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "65280") {
		t.Errorf("label above the maximum: error %v", err)
	}
}

// Reconcile makes a VRF hold its learnt routes (VRF.Learnt, kept apart
// from the computed ones) as well: here a route learnt into Blue whose
// next hop is host-a with g1's label, so g3 on host-b reaches a prefix g1
// answers from, and a second Reconcile finds nothing to fix.
func TestReconcileLearntRoutes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	res := r.compute(anyToAnyModel())
	g1Label := res.Hosts["host-a"].VRF("blue/blue").Ports[0].Label // g1
	tbl := routing.NewLearntTable()
	tbl.Update([]routing.Learnt{{RD: "65001:1", Prefix: netip.MustParsePrefix("10.77.0.0/16"), NextHop: ulA, Label: g1Label, RTs: []string{"64512:100"}}}, nil)
	res = tbl.Overlay(res).Result
	if n := res.Hosts["host-b"].VRF("blue/blue").Learnt.Len(); n != 1 {
		t.Fatalf("host-b's Blue holds %d learnt routes, want 1", n)
	}
	r.res = res
	r.reconcile(res)
	if drift := r.reconcile(res); len(drift) != 0 {
		t.Errorf("drift right after reconciling:\n%s", strings.Join(drift, "\n"))
	}
	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24", "10.77.0.1/32")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	mustPing(t, g1, "10.1.1.6")
	mustPing(t, g3, "10.77.0.1")
}
