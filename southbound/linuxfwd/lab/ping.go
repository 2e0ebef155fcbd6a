package lab

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/netready/netready/southbound/linuxfwd"
)

// PingTimeout bounds Guest.Ping.
const PingTimeout = time.Second

// Ping sends ICMP echo requests to dst from the guest, one every 100 ms,
// and returns nil at the first answer, or an error after PingTimeout.
func (g *Guest) Ping(dst netip.Addr) error { return g.PingWithin(dst, PingTimeout) }

// PingWithin is Ping with its own bound, for a first packet that may
// wait for the guest's ARP: Linux resends an unanswered ARP request only
// after a second (retrans_time_ms), so one request lost while a link
// settles costs a whole second.
func (g *Guest) PingWithin(dst netip.Addr, timeout time.Duration) error {
	network, reqType, repType := "ip4:icmp", byte(8), byte(0)
	if dst.Is6() && !dst.Is4In6() {
		network, reqType, repType = "ip6:ipv6-icmp", 128, 129
	}
	dst = dst.Unmap()
	var c net.PacketConn
	err := linuxfwd.InNamespace(g.fd, func() error {
		var err error
		c, err = net.ListenPacket(network, "")
		return err
	})
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w", dst, g.Alias, err)
	}
	defer c.Close()

	var idb [2]byte
	rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	deadline := time.Now().Add(timeout)
	to := &net.IPAddr{IP: dst.AsSlice()}
	buf := make([]byte, 1500)
	for seq := uint16(1); time.Now().Before(deadline); seq++ {
		msg := make([]byte, 8+16)
		msg[0] = reqType
		binary.BigEndian.PutUint16(msg[4:], id)
		binary.BigEndian.PutUint16(msg[6:], seq)
		copy(msg[8:], "netready lab pin")
		if reqType == 8 {
			binary.BigEndian.PutUint16(msg[2:], checksum(msg))
		} // the kernel computes ICMPv6 checksums
		if _, err := c.WriteTo(msg, to); err != nil {
			return fmt.Errorf("ping %s from %s: %w", dst, g.Alias, err)
		}
		wait := time.Now().Add(100 * time.Millisecond)
		if wait.After(deadline) {
			wait = deadline
		}
		c.SetReadDeadline(wait)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				break // timeout: send the next one
			}
			src, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			if n < 8 || src.Unmap() != dst || buf[0] != repType || binary.BigEndian.Uint16(buf[4:]) != id {
				continue
			}
			return nil
		}
	}
	return fmt.Errorf("ping %s from %s (%s): no answer in %v", dst, g.Alias, g.NS, timeout)
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
