package ebpffwd

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/netready/netready/southbound/routing"
)

// Kind is the driver kind this package registers (a backend's driver leaf).
const Kind = "ebpf-vforwarder"

// DefaultPrefix is the netns-prefix used when the backend sets none (the
// same as linux-vforwarder's: a host namespace is named the same way).
const DefaultPrefix = "nr-"

// DefaultBPFFS is where the driver pins its maps when the backend's bpffs
// option does not say.
const DefaultBPFFS = "/sys/fs/bpf"

// MaxLabel is the largest label: a VXLAN network identifier has 24 bits,
// routing assigns at most 20.
const MaxLabel = routing.DefaultMaxLabel

// MTU of the vNIC veth pairs: the underlay's 1500 less the VXLAN overhead,
// as linux-vforwarder's ports.
const MTU = 1450

// VXLANPort is the UDP port of the tunnel device, linux-vforwarder's.
const VXLANPort = 4789

// maxHops is MAX_HOPS in fwd.c: the most active next hops of one route.
const maxHops = 16

// doomGroup is the link group of vNIC host ends to delete at the next
// flush (see host.flush).
const doomGroup = 81

// Kinds of entries in the names map (struct name's kind in fwd.c).
const (
	nameVRF  = 1
	namePort = 2
)

// hostAliasPrefix starts the alias of a vNIC's host end: the rest is its
// VNICKey.
const hostAliasPrefix = "vnic "

var prefixRE = regexp.MustCompile(`^[a-z0-9-]{1,8}$`)

// HostNamespace is the name of the network namespace standing for host.
func HostNamespace(prefix, host string) string { return prefix + host }

// PinDir is the bpffs directory holding a host's pinned maps.
func PinDir(bpffs, prefix, host string) string {
	return filepath.Join(bpffs, "netready", HostNamespace(prefix, host))
}

// TunnelLink is the name of a host's collect-metadata VXLAN device.
func TunnelLink(prefix string) string { return prefix + "vx" }

// HostLink and GuestLink name the ends of vNIC n's veth pair: the host end
// carries the program, the guest end is left in the host namespace for a
// guest to take (see GuestAlias).
func HostLink(prefix string, n int) string  { return prefix + "e" + strconv.Itoa(n) }
func GuestLink(prefix string, n int) string { return prefix + "n" + strconv.Itoa(n) }

// VNICKey names a vNIC on its host: "tenant/vnic", the vNIC being
// Port.VNIC, or the interface itself when that is empty. Every service
// bound to one of the vNIC's VLANs shares it. The host end's alias is
// hostAliasPrefix followed by the key, so the driver knows the vNIC again
// after its guest end has left for a guest's namespace.
func VNICKey(tenant string, p routing.Port) string {
	if p.VNIC == "" {
		return tenant + "/" + p.Interface
	}
	return tenant + "/" + p.VNIC
}

// GuestAlias is the interface alias given to a vNIC's guest end when the
// port p creates it: linux-vforwarder's port alias, "tenant/vpn/interface",
// when p is untagged, so the same guest tooling takes it on either vendor;
// the vNIC's key when p is a VLAN of it.
func GuestAlias(tenant, vpn string, p routing.Port) string {
	if p.VLAN == 0 {
		return tenant + "/" + vpn + "/" + p.Interface
	}
	return VNICKey(tenant, p)
}

// LabelMAC is the inner destination MAC of frames tunnelled to a label,
// linux-vforwarder's (its receiving device has that address).
func LabelMAC(label uint32) [6]byte {
	return [6]byte{0x02, 0x4e, 0x52, byte(label >> 16), byte(label >> 8), byte(label)}
}

// parseIndexed returns n of a name made of prefix and decimal digits.
func parseIndexed(name, prefix string) (int, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok || s == "" || len(s) > 6 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
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

// tenantVPN splits a VRF ID ("tenant/vpn" or "tenant/vpn/interface").
func tenantVPN(id string) (tenant, vpn string) {
	parts := strings.SplitN(id, "/", 3)
	if len(parts) < 2 {
		return id, ""
	}
	return parts[0], parts[1]
}

// be32 is an IPv4 address as fwd.c's __be32 fields hold it in memory.
func be32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func fromBE32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
}
