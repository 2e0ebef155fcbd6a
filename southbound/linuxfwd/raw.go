package linuxfwd

import (
	"errors"
	"net"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Raw RTM_NEWLINK requests, for what the netlink package cannot say in one
// request: a VXLAN device without local bypass (IFLA_VXLAN_LOCALBYPASS,
// see addVXLAN), a veth pair whose both ends come up at once, links set
// by name.

// request is an acknowledged rtnetlink request of type typ on sock.
func request(sock *nl.SocketHandle, typ, flags int) *nl.NetlinkRequest {
	return &nl.NetlinkRequest{
		NlMsghdr: unix.NlMsghdr{
			Len:   uint32(unix.SizeofNlMsghdr),
			Type:  uint16(typ),
			Flags: uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK | flags),
		},
		Sockets: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: sock},
	}
}

func newLinkRequest(sock *nl.SocketHandle, flags int) *nl.NetlinkRequest {
	return request(sock, unix.RTM_NEWLINK, flags)
}

func upInfomsg(index int) *nl.IfInfomsg {
	m := nl.NewIfInfomsg(unix.AF_UNSPEC)
	m.Index = int32(index)
	m.Flags = unix.IFF_UP
	m.Change = unix.IFF_UP
	return m
}

// addVeth creates, through sock (a socket in the VRF namespace), the veth
// pair of a port: name with index in the VRF namespace and peer in the
// namespace peerNS, both with MTU, the first one up (the peer is brought
// up by setLink).
func addVeth(sock *nl.SocketHandle, name string, index int, peer string, peerNS netns.NsHandle) error {
	req := newLinkRequest(sock, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	req.AddData(upInfomsg(index))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	req.AddData(nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(MTU)))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(linkGroup)))
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("veth"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	p := data.AddRtAttr(nl.VETH_INFO_PEER, nil)
	nl.NewIfInfomsgChild(p, unix.AF_UNSPEC) // not up: veth_open fails before the pair is linked
	p.AddRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(peer))
	p.AddRtAttr(unix.IFLA_MTU, nl.Uint32Attr(MTU))
	p.AddRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(peerNS)))
	req.AddData(info)
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// addVXLAN creates, through sock (a socket in the host namespace, where
// the device's UDP socket lives), a VXLAN device in the namespace target:
// name with index (0: any), VNI vni on port VXLANPort, no learning, and
// no local bypass: when the remote is a local address, the frame goes
// through the host's UDP socket rather than straight to the receiving
// device, which would otherwise reuse the sender's routing decision and
// loop.
func addVXLAN(sock *nl.SocketHandle, name string, index int, vni uint32, mac net.HardwareAddr, target netns.NsHandle) error {
	req := newLinkRequest(sock, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	req.AddData(upInfomsg(index))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	if mac != nil {
		req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, mac))
	}
	req.AddData(nl.NewRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(target))))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(linkGroup)))
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vxlan"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	data.AddRtAttr(unix.IFLA_VXLAN_ID, nl.Uint32Attr(vni))
	data.AddRtAttr(unix.IFLA_VXLAN_PORT, nl.BEUint16Attr(VXLANPort))
	data.AddRtAttr(unix.IFLA_VXLAN_LEARNING, nl.Uint8Attr(0))
	data.AddRtAttr(unix.IFLA_VXLAN_LOCALBYPASS, nl.Uint8Attr(0))
	req.AddData(info)
	return execute(req)
}

// setLink sets, through sock, the alias, MTU (when > 0) and up state of
// the link with the given index, or name when index is 0.
func setLink(sock *nl.SocketHandle, index int, name, alias string, mtu int) error {
	req := newLinkRequest(sock, 0)
	req.AddData(upInfomsg(index))
	if index == 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	}
	req.AddData(nl.NewRtAttr(unix.IFLA_IFALIAS, []byte(alias)))
	if mtu > 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(mtu))))
	}
	return execute(req)
}

// delLink deletes the link named name; a missing link is not an error.
func delLink(sock *nl.SocketHandle, name string) error {
	return delLinks(sock, nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
}

// delGroup deletes every link of group in one go (the kernel unregisters
// them as a batch, with one wait for RCU instead of one per link); none is
// not an error.
func delGroup(sock *nl.SocketHandle, group uint32) error {
	return delLinks(sock, nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(group)))
}

// delLinks deletes the links sel selects; none is not an error.
func delLinks(sock *nl.SocketHandle, sel *nl.RtAttr) error {
	req := request(sock, unix.RTM_DELLINK, 0)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(sel)
	if err := execute(req); err != nil && !errors.Is(err, unix.ENODEV) {
		return err
	}
	return nil
}

// setGroup moves the link named name to group; a missing link is not an
// error.
func setGroup(sock *nl.SocketHandle, name string, group uint32) error {
	req := newLinkRequest(sock, 0)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(group)))
	if err := execute(req); err != nil && !errors.Is(err, unix.ENODEV) {
		return err
	}
	return nil
}

// linkUp brings the link with the given index up.
func linkUp(sock *nl.SocketHandle, index int) error {
	req := newLinkRequest(sock, 0)
	req.AddData(upInfomsg(index))
	return execute(req)
}

func execute(req *nl.NetlinkRequest) error {
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// Neighbour table attributes (linux/neighbour.h).
const (
	ndtaName               = 1
	ndtaParms              = 6
	ndtpaIfindex           = 1
	ndtpaBaseReachableTime = 4
	ndtpaRetransTime       = 5
	ndtpaDelayProbeTime    = 7
	ndtpaProxyDelay        = 13
)

// Neighbour timers of a probed port (see Probe), in milliseconds: a
// confirmation holds 0.5 to 1.5 s, a stale entry in use is probed at
// once, and its 3 unicast probes (ucast_solicit) go 200 ms apart, so an
// instance that stops answering is FAILED about 2 s after its last
// answer. The kernel's defaults (30 s, 5 s, 1 s) would take a minute.
const (
	probeReachableMS = 1000
	probeRetransMS   = 200
	probeDelayMS     = 0
)

// setProbeTimers sets the neighbour timers of the link index for
// liveness probing.
func setProbeTimers(sock *nl.SocketHandle, index int) error {
	req := request(sock, unix.RTM_SETNEIGHTBL, 0)
	req.AddData(rawData{unix.AF_INET, 0, 0, 0}) // struct ndtmsg
	req.AddData(nl.NewRtAttr(ndtaName, nl.ZeroTerminated("arp_cache")))
	p := nl.NewRtAttr(ndtaParms, nil)
	p.AddRtAttr(ndtpaIfindex, nl.Uint32Attr(uint32(index)))
	p.AddRtAttr(ndtpaBaseReachableTime, nl.Uint64Attr(probeReachableMS))
	p.AddRtAttr(ndtpaRetransTime, nl.Uint64Attr(probeRetransMS))
	p.AddRtAttr(ndtpaDelayProbeTime, nl.Uint64Attr(probeDelayMS))
	req.AddData(p)
	return execute(req)
}

// setProxyDelay sets the ARP proxy_delay of the link index to 0, so proxy
// ARP answers at once (the default delays the first answer by up to
// 0.8 s). A new namespace has no neigh/default to inherit it from.
func setProxyDelay(sock *nl.SocketHandle, index int) error {
	req := request(sock, unix.RTM_SETNEIGHTBL, 0)
	req.AddData(rawData{unix.AF_INET, 0, 0, 0}) // struct ndtmsg
	req.AddData(nl.NewRtAttr(ndtaName, nl.ZeroTerminated("arp_cache")))
	p := nl.NewRtAttr(ndtaParms, nil)
	p.AddRtAttr(ndtpaIfindex, nl.Uint32Attr(uint32(index)))
	p.AddRtAttr(ndtpaProxyDelay, nl.Uint64Attr(0))
	req.AddData(p)
	return execute(req)
}

// rawData is a fixed part of a request, such as a struct header.
type rawData []byte

func (d rawData) Len() int          { return len(d) }
func (d rawData) Serialize() []byte { return d }
