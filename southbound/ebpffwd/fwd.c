//go:build ignore

// The eBPF vForwarder's data plane: two TCX ingress programs and the maps
// the driver (driver.go) fills. See doc.go for the design and
// docs/southbound.md for the packet path and what goes on the wire.
//
// Every packet is either forwarded (bpf_redirect) or dropped here: tenant
// traffic never reaches the host namespace's own IP stack.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char __license[] SEC("license") = "Dual MIT/GPL";

// MAX_HOPS is the most active next hops of one route. A power of two, so
// that masking the chosen index proves it in bounds to the verifier.
#define MAX_HOPS 16
#define VLAN_VID_MASK 0x0fff
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define TUNNEL_TTL 64

// An IPv4-over-Ethernet ARP packet (RFC 826).
struct arp4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

// A binding is a (vNIC, VLAN) pair; the vNIC is known by the ifindex of
// its host-side veth end, VLAN 0 is untagged.
struct vnic_key {
	__u32 ifindex;
	__u32 vlan;
};

// A port is a bound interface on this host, by label: where traffic for
// the label goes (ifindex, vlan, guest_mac) and the VRF its own traffic
// is routed in.
struct port {
	__u32 vrf;     // the VRF's label
	__u32 ifindex; // the vNIC's host-side veth end
	__u32 vlan;    // 0: untagged
	__u8 guest_mac[ETH_ALEN];
	__u8 host_mac[ETH_ALEN]; // answers ARP, source of delivered frames
};

// Routes are keyed by VRF label and IPv4 prefix: prefixlen counts the 32
// bits of vrf, so one trie holds every VRF of the host.
struct route_key {
	__u32 prefixlen;
	__u32 vrf;
	__be32 addr;
};

// A next hop delivers to the port with this label: on this host when
// underlay is 0, else through VXLAN to underlay with VNI label.
struct hop {
	__u32 label;
	__be32 underlay;
};

// A route's active hops: ECMP over all n of them (n is 1 for fail-over).
struct route {
	__u32 n;
	__u32 pad;
	struct hop hops[MAX_HOPS];
};

// Per-port traffic, per CPU: in from the guest, out to it. Octets are
// untagged Ethernet frame lengths.
struct counters {
	__u64 in_packets;
	__u64 in_octets;
	__u64 out_packets;
	__u64 out_octets;
};

// What a label stands for, read only by the driver: kernel state alone
// then tells a restarted driver which VRFs and ports it holds.
struct name {
	__u32 kind; // 1 VRF, 2 port
	__u32 vrf;  // for a port: its VRF's label
	__u8 name[248];
};

// Host-wide settings: the collect-metadata VXLAN devices tunnelled
// traffic leaves by (L3 labels on UDP 4789, L2 segments on UDP 8472).
struct settings {
	__u32 tunnel_ifindex;
	__u32 l2_tunnel_ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct vnic_key);
	__type(value, __u32); // port label
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); // label
	__type(value, struct port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1048576);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct route_key);
	__type(value, struct route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); // port label
	__type(value, struct counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC); // 256 bytes an entry: only what is used
	__type(key, __u32); // label
	__type(value, struct name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

// count adds one frame of len octets to a port's counters. The driver
// creates the entry with the port, so a deleted port is not counted again.
static __always_inline void count(__u32 label, __u32 len, int out)
{
	struct counters *c = bpf_map_lookup_elem(&counters, &label);
	if (!c)
		return;
	if (out) {
		c->out_packets++;
		c->out_octets += len;
	} else {
		c->in_packets++;
		c->in_octets += len;
	}
}

static __always_inline struct route *lookup(__u32 vrf, __be32 addr)
{
	struct route_key k = {.prefixlen = 64, .vrf = vrf, .addr = addr};
	return bpf_map_lookup_elem(&routes, &k);
}

// deliver hands an IPv4 frame to the port with the given label on this
// host: guest MACs, the port's tag pushed (as metadata, as a NIC with VLAN
// offload would), out of the vNIC's host end into the guest.
static __always_inline int deliver(struct __sk_buff *skb, __u32 label)
{
	struct port *p = bpf_map_lookup_elem(&ports, &label);
	if (!p)
		return TC_ACT_SHOT;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	__builtin_memcpy(eth->h_dest, p->guest_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, p->host_mac, ETH_ALEN);
	count(label, skb->len, 1);
	if (p->vlan && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), p->vlan))
		return TC_ACT_SHOT;
	return bpf_redirect(p->ifindex, 0);
}

// tunnel sends an IPv4 frame to the port label on the host at underlay, as
// linux-vforwarder does: VXLAN on UDP 4789 with VNI label, inner
// destination MAC 02:4e:52 followed by the label's three bytes.
static __always_inline int tunnel(struct __sk_buff *skb, struct hop *h, __u8 *src_mac)
{
	__u32 zero = 0;
	struct settings *s = bpf_map_lookup_elem(&settings, &zero);
	if (!s || !s->tunnel_ifindex)
		return TC_ACT_SHOT;
	struct bpf_tunnel_key key = {
		.tunnel_id = h->label,
		.remote_ipv4 = bpf_ntohl(h->underlay), // the helper wants host order
		.tunnel_ttl = TUNNEL_TTL,
	};
	// No UDP checksum, as the kernel's VXLAN devices send by default.
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX))
		return TC_ACT_SHOT;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	__u8 dst[ETH_ALEN] = {0x02, 0x4e, 0x52, h->label >> 16, h->label >> 8, h->label};
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src_mac, ETH_ALEN);
	return bpf_redirect(s->tunnel_ifindex, 0);
}

// answer_arp answers, from the vNIC's host MAC, an ARP request for any
// address the port's VRF has a route to (as proxy ARP would), in place:
// the request goes back out as the reply, with the port's tag.
static __always_inline int answer_arp(struct __sk_buff *skb, struct port *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct arp4 *arp = (void *)(eth + 1);
	if ((void *)(arp + 1) > data_end)
		return TC_ACT_SHOT;
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != ETH_ALEN ||
	    arp->plen != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
		return TC_ACT_SHOT;
	__be32 spa = arp->spa, tpa = arp->tpa;
	if (spa == 0 || spa == tpa) // address probes and announcements ask nobody
		return TC_ACT_SHOT;
	if (!lookup(p->vrf, tpa))
		return TC_ACT_SHOT;
	__builtin_memcpy(eth->h_dest, arp->sha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, p->host_mac, ETH_ALEN);
	arp->op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	arp->tpa = spa;
	__builtin_memcpy(arp->sha, p->host_mac, ETH_ALEN);
	arp->spa = tpa;
	if (p->vlan && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), p->vlan))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

// vlan_of returns the VLAN id of a frame: from the skb's metadata when
// the receive path has already taken the tag out of the frame (it does
// on ingress), else from an 802.1Q header still in it.
static __always_inline __u32 vlan_of(struct __sk_buff *skb)
{
	if (skb->vlan_present)
		return skb->vlan_tci & VLAN_VID_MASK;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__be16 *tci = (void *)(eth + 1);
	if ((void *)(tci + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_8021Q))
		return 0;
	return bpf_ntohs(*tci) & VLAN_VID_MASK;
}

#include "l2.h"

// from_vnic runs on the host end of every vNIC: traffic a guest sends.
SEC("tcx/ingress")
int from_vnic(struct __sk_buff *skb)
{
	__u32 vlan = vlan_of(skb);
	struct vnic_key vk = {.ifindex = skb->ifindex, .vlan = vlan};
	__u32 *lp = bpf_map_lookup_elem(&bindings, &vk);
	if (!lp)
		return l2_from_vnic(skb, vlan); // an L2 network's, or nothing's
	__u32 label = *lp;
	struct port *p = bpf_map_lookup_elem(&ports, &label);
	if (!p)
		return TC_ACT_SHOT;
	// The tag selected the binding; inside the network frames are
	// untagged, on the wire and in the counters.
	if (vlan && bpf_skb_vlan_pop(skb))
		return TC_ACT_SHOT;

	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return answer_arp(skb, p);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_SHOT; // IPv4 only (see doc.go)
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	count(label, skb->len, 0);
	if (ip->ttl <= 1)
		return TC_ACT_SHOT;
	struct route *r = lookup(p->vrf, ip->daddr);
	if (!r || r->n == 0)
		return TC_ACT_SHOT;
	// Decrement the TTL, updating the checksum as RFC 1141 does (and the
	// kernel's ip_decrease_ttl).
	__u32 check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;

	__u32 i = 0;
	if (r->n > 1) // ECMP: one flow, one hop (the kernel's L4 flow hash)
		i = bpf_get_hash_recalc(skb) % r->n;
	struct hop h = r->hops[i & (MAX_HOPS - 1)];
	__u8 src[ETH_ALEN];
	__builtin_memcpy(src, p->host_mac, ETH_ALEN);
	if (h.underlay == 0)
		return deliver(skb, h.label);
	return tunnel(skb, &h, src);
}

// from_tunnel runs on the host's collect-metadata VXLAN device: traffic
// other hosts (of either vendor) send to a port of this host. The VNI is
// the port's label; the inner frame is delivered as it is, without a
// second route lookup (so spoke traffic reaches the hub).
SEC("tcx/ingress")
int from_tunnel(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};
	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0))
		return TC_ACT_SHOT;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_SHOT;
	return deliver(skb, key.tunnel_id);
}
