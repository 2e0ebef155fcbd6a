// L2 networks (netready-l2network) in the eBPF vForwarder: the maps and
// functions of bridge domains, included by fwd.c after its own
// definitions (struct vnic_key, struct settings and the settings map).
//
// A segment is one L2 network on this host, known by its VNI. A
// (vNIC, VLAN) bound to it (l2_bindings) sends into it; frames are
// switched by destination MAC (fdb, learnt from the source MACs of
// frames from vNICs and from the tunnel), and broadcast, multicast and
// unknown unicast are flooded to the segment's other local ports and to
// its remote hosts, one copy each (head-end replication, as
// linux-vforwarder's VXLAN devices do). Between hosts: VXLAN on UDP 8472
// with the segment's VNI, the inner frame as the guest sent it
// (untagged). ARP is flooded like any broadcast: the guests answer it.

#ifndef NETREADY_L2_H
#define NETREADY_L2_H

// The most local ports and remote hosts of one segment on one host: the
// bound of head-end replication (one bpf_clone_redirect per copy). Powers
// of two, so masking the index proves it in bounds.
#define MAX_L2_PORTS 32
#define MAX_L2_REMOTES 32
// A learnt MAC older than this is unknown again (flooded), as a Linux
// bridge's ageing time; a newer sighting elsewhere overwrites it at once.
#define FDB_AGE_NS (300ULL * 1000000000ULL)
// A MAC seen again where it is known is written back at most this often.
#define FDB_REFRESH_NS 1000000000ULL

struct l2_port {
	__u32 ifindex; // the vNIC's host end
	__u32 vlan;    // 0: untagged
};

// A segment's local ports and the underlay addresses of its remote hosts.
struct segment {
	__u32 nports;
	__u32 nremotes;
	struct l2_port ports[MAX_L2_PORTS];
	__be32 remotes[MAX_L2_REMOTES];
};

struct fdb_key {
	__u32 vni;
	__u8 mac[ETH_ALEN];
	__u8 pad[2];
};

// Where a MAC was last seen: a local port (remote 0), or a remote host.
struct fdb_entry {
	__u32 ifindex;
	__u32 vlan;
	__be32 remote;
	__u32 pad;
	__u64 seen; // bpf_ktime_get_ns
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct vnic_key);
	__type(value, __u32); // VNI
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); // VNI
	__type(value, struct segment);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} segments SEC(".maps");

// LRU: a flood of source MACs evicts the oldest, never blocks learning.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fdb_key);
	__type(value, struct fdb_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fdb SEC(".maps");

// l2_learn records that mac was seen at where (a unicast source only).
static __always_inline void l2_learn(__u32 vni, __u8 *mac, struct fdb_entry *where)
{
	if (mac[0] & 1)
		return;
	struct fdb_key k = {.vni = vni};
	__builtin_memcpy(k.mac, mac, ETH_ALEN);
	__u64 now = bpf_ktime_get_ns();
	struct fdb_entry *e = bpf_map_lookup_elem(&fdb, &k);
	if (e && e->ifindex == where->ifindex && e->vlan == where->vlan && e->remote == where->remote &&
	    now - e->seen < FDB_REFRESH_NS)
		return;
	where->seen = now;
	bpf_map_update_elem(&fdb, &k, where, BPF_ANY);
}

// l2_deliver sends a frame out of a local port, with the port's tag.
static __always_inline int l2_deliver(struct __sk_buff *skb, __u32 ifindex, __u32 vlan)
{
	if (vlan && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), vlan))
		return TC_ACT_SHOT;
	return bpf_redirect(ifindex, 0);
}

// l2_tunnel_key points the skb's tunnel metadata at a remote host.
static __always_inline int l2_tunnel_key(struct __sk_buff *skb, __u32 vni, __be32 remote)
{
	struct bpf_tunnel_key key = {
		.tunnel_id = vni,
		.remote_ipv4 = bpf_ntohl(remote),
		.tunnel_ttl = TUNNEL_TTL,
	};
	return bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX);
}

static __always_inline __u32 l2_tunnel_ifindex(void)
{
	__u32 zero = 0;
	struct settings *s = bpf_map_lookup_elem(&settings, &zero);
	return s ? s->l2_tunnel_ifindex : 0;
}

// l2_flood copies a frame to every local port of the segment but the one
// it came in on and, when it came from a vNIC, to every remote host (a
// frame from the tunnel is never sent back into it: the sender
// replicated it to every host already). The original is dropped.
static __always_inline int l2_flood(struct __sk_buff *skb, __u32 vni, __u32 in_ifindex, __u32 in_vlan, int from_tunnel)
{
	struct segment *s = bpf_map_lookup_elem(&segments, &vni);
	if (!s)
		return TC_ACT_SHOT;
	for (__u32 i = 0; i < MAX_L2_PORTS; i++) {
		if (i >= s->nports)
			break;
		struct l2_port p = s->ports[i & (MAX_L2_PORTS - 1)];
		if (p.ifindex == in_ifindex && p.vlan == in_vlan)
			continue;
		if (p.vlan && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), p.vlan))
			return TC_ACT_SHOT;
		bpf_clone_redirect(skb, p.ifindex, 0);
		if (p.vlan && bpf_skb_vlan_pop(skb))
			return TC_ACT_SHOT;
	}
	if (from_tunnel)
		return TC_ACT_SHOT;
	__u32 tun = l2_tunnel_ifindex();
	if (!tun)
		return TC_ACT_SHOT;
	for (__u32 i = 0; i < MAX_L2_REMOTES; i++) {
		if (i >= s->nremotes)
			break;
		// The VXLAN device reads the key as it sends the clone, so the
		// next iteration may overwrite it.
		if (l2_tunnel_key(skb, vni, s->remotes[i & (MAX_L2_REMOTES - 1)]))
			return TC_ACT_SHOT;
		bpf_clone_redirect(skb, tun, 0);
	}
	return TC_ACT_SHOT;
}

// l2_forward switches a frame of segment vni: to where its destination
// MAC was last seen, if that is recent and still of the segment, else to
// everyone (l2_flood). in_* is the port it came in on (0 from the
// tunnel).
static __always_inline int l2_forward(struct __sk_buff *skb, __u32 vni, __u32 in_ifindex, __u32 in_vlan, int from_tunnel)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	if (eth->h_dest[0] & 1) // broadcast (ARP requests) and multicast
		return l2_flood(skb, vni, in_ifindex, in_vlan, from_tunnel);
	struct fdb_key k = {.vni = vni};
	__builtin_memcpy(k.mac, eth->h_dest, ETH_ALEN);
	struct fdb_entry *e = bpf_map_lookup_elem(&fdb, &k);
	if (!e || bpf_ktime_get_ns() - e->seen > FDB_AGE_NS)
		return l2_flood(skb, vni, in_ifindex, in_vlan, from_tunnel);
	if (e->remote) {
		__u32 tun = l2_tunnel_ifindex();
		if (from_tunnel || !tun || l2_tunnel_key(skb, vni, e->remote))
			return TC_ACT_SHOT;
		return bpf_redirect(tun, 0);
	}
	if (e->ifindex == in_ifindex && e->vlan == in_vlan)
		return TC_ACT_SHOT; // already there
	// A port rebound to another segment (or to nothing) since it was
	// learnt must not receive this segment's frames.
	struct vnic_key vk = {.ifindex = e->ifindex, .vlan = e->vlan};
	__u32 *bound = bpf_map_lookup_elem(&l2_bindings, &vk);
	if (!bound || *bound != vni)
		return l2_flood(skb, vni, in_ifindex, in_vlan, from_tunnel);
	return l2_deliver(skb, e->ifindex, e->vlan);
}

// l2_from_vnic handles a frame from a vNIC whose (vNIC, VLAN) no L3
// binding claims: an L2 port's, or dropped. The tag selected the
// segment; inside it frames are untagged.
static __always_inline int l2_from_vnic(struct __sk_buff *skb, __u32 vlan)
{
	struct vnic_key vk = {.ifindex = skb->ifindex, .vlan = vlan};
	__u32 *vp = bpf_map_lookup_elem(&l2_bindings, &vk);
	if (!vp)
		return TC_ACT_SHOT; // no service bound to this VLAN
	__u32 vni = *vp;
	if (vlan && bpf_skb_vlan_pop(skb))
		return TC_ACT_SHOT;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	struct fdb_entry here = {.ifindex = skb->ifindex, .vlan = vlan};
	l2_learn(vni, eth->h_source, &here);
	return l2_forward(skb, vni, skb->ifindex, vlan, 0);
}

// from_l2_tunnel runs on the host's collect-metadata VXLAN device of UDP
// 8472: frames of L2 segments from other hosts (of either vendor).
SEC("tcx/ingress")
int from_l2_tunnel(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};
	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0))
		return TC_ACT_SHOT;
	__u32 vni = key.tunnel_id;
	if (!bpf_map_lookup_elem(&segments, &vni))
		return TC_ACT_SHOT; // not a segment of this host
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	struct fdb_entry there = {.remote = bpf_htonl(key.remote_ipv4)};
	l2_learn(vni, eth->h_source, &there);
	return l2_forward(skb, vni, 0, 0, 1);
}

#endif
