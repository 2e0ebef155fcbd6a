package interconnect

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

func connRoot(t *testing.T, conns string) *tree.Node {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tree.DecodeRootJSON(sch.Root, []byte(`{"netready-georedundancy:connections": {"connection": [`+conns+`]}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(sch))
	if err := txn.Merge(nil, p); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

const ends = `"local": {"site": "dc-b", "address": "198.51.100.1", "interface": "wan0"}, "remote": {"site": "dc-d", "address": "198.51.100.2"}`

// A vxlan connection is a tunnel from its local address to its remote
// one with its VNI; none, or admin down, is no tunnel.
func TestTunnels(t *testing.T) {
	got, err := tunnels(connRoot(t, `{"name": "c1", `+ends+`, "isolation": "vxlan", "segmentation-id": 9001, "mtu": 1400},
		{"name": "c2", `+ends+`},
		{"name": "c3", `+ends+`, "isolation": "vxlan", "segmentation-id": 9003, "admin-state": "down"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Tunnel{Connection: "c1", VNI: 9001, Local: netip.MustParseAddr("198.51.100.1"), Remote: netip.MustParseAddr("198.51.100.2"), Dev: "wan0", MTU: 1400}
	if len(got) != 1 || got["c1"] != want || got["c1"].Device() != "nrc9001" {
		t.Errorf("tunnels %+v, want only %+v", got, want)
	}
}

// What the kernel cannot build, and vxlan without a gateway, are refused
// at the leaf at fault.
func TestTunnelsRefused(t *testing.T) {
	const at = "/connections/connection[name=c1]/"
	for _, c := range []struct{ conn, path, msg string }{
		{`"isolation": "vlan", "segmentation-id": 100`, at + "isolation", "no 802.1Q VLAN devices"},
		{`"isolation": "mpls", "segmentation-id": 100`, at + "isolation", "no MPLS forwarding"},
		{`"isolation": "vlan", "segmentation-id": 100, "admin-state": "down"`, at + "isolation", "no 802.1Q VLAN devices"},
		{`"mtu": 1400`, at + "mtu", "isolation none has none"},
		{`"isolation": "vxlan", "segmentation-id": 9001`, at + "isolation", "netreadyd runs without one (--gateway-netns)"},
	} {
		err := New(Gateway{}, nil).Check(connRoot(t, `{"name": "c1", `+ends+`, `+c.conn+`}`))
		te, ok := err.(*tree.Error)
		if !ok || te.Kind != tree.KindConflict || te.Path != c.path || !strings.Contains(te.Msg, c.msg) {
			t.Errorf("%s: got %v, want a conflict at %s saying %q", c.conn, err, c.path, c.msg)
		}
	}
}

func TestOwned(t *testing.T) {
	for name, want := range map[string]bool{"nrc9001": true, "nrc": false, "nrcx": false, "br0": false, "nrx": false} {
		if owned(name) != want {
			t.Errorf("owned(%q) = %v", name, !want)
		}
	}
}
