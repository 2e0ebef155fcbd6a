// Package interconnect realizes the isolated underlay of the connections
// between sites (netready-georedundancy /connections/connection) at this
// site's gateway: for a connection with isolation vxlan, a VXLAN tunnel
// with the connection's VNI from the local end's address to the remote
// end's, joined to the site's underlay bridge, so the two sites' underlays
// reach each other over it and over nothing else.
//
// The gateway is a Linux network namespace holding the site's underlay
// bridge (netreadyd --gateway-netns, --gateway-bridge). Isolation kinds
// this kernel cannot build (vlan: no 802.1Q devices; mpls: no MPLS
// forwarding) are refused by Check before anything is applied.
//
// The Linker takes part in the realization transaction as an announcer
// (realize.Announcer): Announce makes the gateway hold exactly the tunnels
// of the configuration it is given, and is given the previous one again to
// step back.
package interconnect

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/netready/netready/gen/sites"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Gateway is where the tunnels are built.
type Gateway struct {
	Netns  string // the gateway's named network namespace; "" for none
	Bridge string // the site's underlay bridge in it, which tunnels join
}

// DevicePrefix starts the name of every tunnel device the Linker owns in
// the gateway namespace ("nrc" and the VNI); it touches no other link.
const DevicePrefix = "nrc"

// VXLANPort is the UDP port of the tunnels (IANA).
const VXLANPort = 4789

// Tunnel is one connection's VXLAN tunnel at the gateway.
type Tunnel struct {
	Connection    string
	VNI           uint32
	Local, Remote netip.Addr
	// Dev is the local end's interface, the tunnel's underlay device; ""
	// lets the gateway's routes choose.
	Dev string
	MTU int // 0: the kernel's default
}

// Device is the tunnel's link name in the gateway namespace.
func (t Tunnel) Device() string { return DevicePrefix + strconv.FormatUint(uint64(t.VNI), 10) }

// Linker keeps the gateway's tunnels equal to the connections configured.
// Its methods are safe for concurrent use.
type Linker struct {
	gw  Gateway
	log *slog.Logger

	mu sync.Mutex
	// held is what the gateway may hold, by connection name.
	held map[string]Tunnel
}

// New returns a Linker for gw (zero: this server has no gateway, and a
// connection asking for isolation is refused).
func New(gw Gateway, log *slog.Logger) *Linker {
	if gw.Netns != "" && gw.Bridge == "" {
		gw.Bridge = "br0"
	}
	if log == nil {
		log = slog.Default()
	}
	return &Linker{gw: gw, log: log, held: map[string]Tunnel{}}
}

// Relevant reports whether a transaction changes the connections' config.
func (l *Linker) Relevant(walk func(tree.DiffFunc)) bool {
	found := false
	walk(func(chain []*tree.Node, _, _ *tree.Node) bool {
		top := chain[0].Schema()
		mine := top.Module == "netready-georedundancy" && top.Name == "connections"
		if mine && chain[len(chain)-1].Schema().Config {
			found = true
		}
		return !found && mine
	})
	return found
}

// Check refuses a connection whose isolation this server cannot build
// (tree.KindConflict naming the leaf): the kinds the kernel lacks, vxlan
// without a gateway or from an address the gateway does not have, and two
// tunnels with one VNI.
func (l *Linker) Check(root *tree.Node) error {
	want, err := tunnels(root)
	if err != nil {
		return err
	}
	if len(want) == 0 {
		return nil
	}
	if l.gw.Netns == "" {
		t := want[slices.Sorted(maps.Keys(want))[0]]
		return conflict(t.Connection, "isolation", "vxlan needs this site's gateway to hold the tunnel; netreadyd runs without one (--gateway-netns)")
	}
	addrs, err := l.gatewayAddrs()
	if err != nil {
		return &tree.Error{Kind: tree.KindUnavailable, Path: "/connections", Msg: err.Error()}
	}
	vnis := map[uint32]string{}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t := want[name]
		if !addrs[t.Local] {
			return conflict(name, "local/address", "%s is not an address of this site's gateway (namespace %s): the tunnel cannot start there", t.Local, l.gw.Netns)
		}
		if other, dup := vnis[t.VNI]; dup {
			return conflict(name, "segmentation-id", "VNI %d is already the tunnel of connection %s", t.VNI, other)
		}
		vnis[t.VNI] = name
	}
	return nil
}

// Announce makes the gateway hold exactly the tunnels root configures
// (admin-up connections with isolation vxlan). res is not read: the
// tunnels carry the underlay, whatever it holds.
func (l *Linker) Announce(ctx context.Context, root *tree.Node, _ routing.Result) error {
	want, err := tunnels(root)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gw.Netns == "" {
		if len(want) > 0 {
			return fmt.Errorf("interconnect: %d tunnels and no gateway", len(want))
		}
		return nil
	}
	return l.sync(ctx, want)
}

// Held returns the tunnels the gateway holds, by connection name.
func (l *Linker) Held() map[string]Tunnel {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.held)
}

// tunnels reads the tunnels root configures, by connection name, and
// refuses isolation kinds this server does not build.
func tunnels(root *tree.Node) (map[string]Tunnel, error) {
	out := map[string]Tunnel{}
	for c := range (sites.Root{Node: root}).Connections() {
		name := c.Name()
		if err := realizable(c); err != nil {
			return nil, err
		}
		if c.Isolation() != sites.ConnectionIsolationVxlan || c.AdminState() == sites.AdminStateDown {
			continue
		}
		local, _ := c.LocalEnd()
		remote, _ := c.RemoteEnd()
		t := Tunnel{Connection: name, VNI: uint32(c.SegmentationID()), Dev: local.Interface(), MTU: int(c.MTU())}
		t.Local, _ = netip.ParseAddr(local.Address())
		t.Remote, _ = netip.ParseAddr(remote.Address())
		out[name] = t
	}
	return out, nil
}

// realizable refuses a connection whose isolation this server does not
// build, or that asks for what its isolation does not have.
func realizable(c sites.Connection) error {
	switch iso := c.Isolation(); iso {
	case "", sites.ConnectionIsolationNone:
		if c.MTU() != 0 { // nrt:mtu has no default: set only when configured
			return conflict(c.Name(), "mtu", "the MTU is realized on the connection's tunnel, and isolation none has none")
		}
	case sites.ConnectionIsolationVlan:
		return conflict(c.Name(), "isolation", "vlan is not realized by this server: its kernel has no 802.1Q VLAN devices (realized: none, vxlan)")
	case sites.ConnectionIsolationMpls:
		return conflict(c.Name(), "isolation", "mpls is not realized by this server: its kernel has no MPLS forwarding (realized: none, vxlan)")
	case sites.ConnectionIsolationVxlan:
	default:
		return conflict(c.Name(), "isolation", "%s is not realized by this server (realized: none, vxlan)", iso)
	}
	return nil
}

func conflict(conn, leaf, format string, args ...any) error {
	return &tree.Error{Kind: tree.KindConflict, Path: "/connections/connection[name=" + conn + "]/" + leaf, Msg: fmt.Sprintf(format, args...)}
}

// owned reports whether a link name is one of the Linker's tunnels.
func owned(name string) bool {
	_, err := strconv.ParseUint(strings.TrimPrefix(name, DevicePrefix), 10, 32)
	return strings.HasPrefix(name, DevicePrefix) && err == nil
}
