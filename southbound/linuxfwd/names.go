package linuxfwd

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Kind is the driver kind this package registers (a backend's driver leaf).
const Kind = "linux-vforwarder"

// DefaultPrefix is the netns-prefix used when the backend sets none.
const DefaultPrefix = "nr-"

// MaxLabel is the largest label the driver can realize: a label is
// encoded in a link-local next-hop address 169.254.<label>>8>.<label&255>
// and the last /24 of 169.254.0.0/16 is left alone.
const MaxLabel = 65279

// MTU of the port veth pairs: the underlay's 1500 less the VXLAN overhead.
const MTU = 1450

// VXLANPort is the UDP port of every VXLAN device the driver creates.
const VXLANPort = 4789

// Fixed names and numbers inside a VRF namespace.
const (
	sendLink     = "nrx" // the VRF's VXLAN send device
	sendIndex    = 2     // its ifindex (lo is 1)
	tableBase    = 1000  // a port's delivery table is tableBase + label
	rulePriority = 100   // priority of the "iif x<label>" delivery rules
	routeProto   = 78    // rtm_protocol of the driver's routes ("N")
	linkGroup    = 78    // group of the driver's links in a VRF namespace
	doomGroup    = 79    // group of the links to delete at the next flush
)

var prefixRE = regexp.MustCompile(`^[a-z0-9-]{1,8}$`)

// HostNamespace is the name of the network namespace standing for host.
func HostNamespace(prefix, host string) string { return prefix + host }

// VRFNamespace is the name of the network namespace of the VRF with the
// given label on host. The separator '@' cannot occur in a host name (see
// netready-types:name), so a VRF namespace is never mistaken for another
// host's namespace.
func VRFNamespace(prefix, host string, label uint32) string {
	return prefix + host + "@" + strconv.FormatUint(uint64(label), 10)
}

// GuestLink is the name of a port's guest end, created in the host
// namespace, where whoever plays the guest picks it up (see PortAlias).
func GuestLink(prefix string, label uint32) string {
	return prefix + "g" + strconv.FormatUint(uint64(label), 10)
}

// PortAlias is the interface alias (IFLA_IFALIAS) of both ends of a port's
// veth pair: "tenant/vpn/interface".
func PortAlias(tenant, vpn, iface string) string { return tenant + "/" + vpn + "/" + iface }

// LabelMAC is the MAC address standing for a label: the address of the
// port's receive VXLAN device and of its neighbour entry in other VRFs.
func LabelMAC(label uint32) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x4e, 0x52, byte(label >> 16), byte(label >> 8), byte(label)}
}

// labelGateway is the link-local next hop standing for a label on nrx.
func labelGateway(label uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{169, 254, byte(label >> 8), byte(label)})
}

// labelGateway6 is the next hop standing for a label in IPv6 routes on
// nrx: fe80::a9fe:<label> (a9fe being 169.254). This kernel refuses an
// IPv4 gateway in an IPv6 route ("IPv6 does not support RTA_VIA
// attribute"), so IPv6 routes name a link-local IPv6 gateway whose
// permanent neighbour entry is LabelMAC(label), like labelGateway's: the
// inner frame is the same whatever its family.
func labelGateway6(label uint32) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 12: 0xa9, 13: 0xfe, 14: byte(label >> 8), 15: byte(label)})
}

// labelGatewayFor returns the gateway standing for label in a route to p.
func labelGatewayFor(p netip.Prefix, label uint32) netip.Addr {
	if p.Addr().Is4() {
		return labelGateway(label)
	}
	return labelGateway6(label)
}

// gatewayLabel is the inverse of labelGateway and labelGateway6.
func gatewayLabel(a netip.Addr) (uint32, bool) {
	if a.Is6() {
		b := a.As16()
		if labelGateway6(uint32(b[14])<<8|uint32(b[15])) != a.WithZone("") {
			return 0, false
		}
		return uint32(b[14])<<8 | uint32(b[15]), true
	}
	if !a.Is4() {
		return 0, false
	}
	b := a.As4()
	if b[0] != 169 || b[1] != 254 {
		return 0, false
	}
	return uint32(b[2])<<8 | uint32(b[3]), true
}

// PortGateway6 is the IPv6 address every port's VRF end holds (no DAD):
// the next hop a guest gives its IPv6 routes (`default via fe80::1 dev
// eth0`). IPv4 needs none: the VRF end answers ARP for every address by
// proxy, and Linux has no such proxy for neighbour discovery short of an
// entry per address.
const PortGateway6 = "fe80::1"

// portGateway6 is PortGateway6 as an address.
func portGateway6() netip.Addr { return netip.MustParseAddr(PortGateway6) }

func portLink(label uint32) string { return "p" + strconv.FormatUint(uint64(label), 10) }
func recvLink(label uint32) string { return "x" + strconv.FormatUint(uint64(label), 10) }

// Deterministic interface indexes inside a VRF namespace, so routes can
// name devices without looking them up.
func portIndex(label uint32) int { return int(label) * 2 }
func recvIndex(label uint32) int { return int(label)*2 + 1 }

func portTable(label uint32) int { return tableBase + int(label) }

// parseLabelled returns the label of a name made of prefix and decimal
// digits (p17, x17, nr-g17), or false.
func parseLabelled(name, prefix string) (uint32, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok || s == "" || len(s) > 7 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// checkLabel reports a label the driver cannot realize.
func checkLabel(what string, label uint32) error {
	if label == 0 {
		return fmt.Errorf("%s has no label", what)
	}
	if label > MaxLabel {
		return fmt.Errorf("%s has label %d: %s supports labels up to %d", what, label, Kind, MaxLabel)
	}
	return nil
}
