package routing

import "slices"

// Label range. Labels below FirstLabel are left free, as MPLS reserves
// them; DefaultMaxLabel is the largest 20-bit (MPLS) label, which also fits
// a VXLAN network identifier.
const (
	FirstLabel      = 16
	DefaultMaxLabel = 1<<20 - 1
)

// labelKey names what a label is for in Assignments.Labels: a VRF ID, or a
// binding ("tenant/vpn/interface").
func vrfLabelKey(id string) string          { return "vrf " + id }
func portLabelKey(vpn, iface string) string { return "port " + vpn + "/" + iface }

// assignLabels gives every VRF instance and every active binding its
// label: what a forwarder puts on traffic so the receiving host delivers it
// to that VRF, or straight to that bound interface (a per-interface label,
// as in RFC 4364 section 4.3.2), without a second lookup.
//
// Labels are unique across the whole Result (one number space for every
// host, so a label also names its binding to every other host) and stable:
// a VRF or binding keeps its label from prior for as long as it is active.
// New ones take the lowest free labels from MinLabel up, in key order. Labels of VRFs and
// bindings that are no longer active are released at once: unlike RDs
// they are never announced outside the forwarders this run reprograms.
func (c *computation) assignLabels(prior map[string]uint32) map[string]uint32 {
	var keys []string
	for _, v := range c.vrfs {
		keys = append(keys, vrfLabelKey(v.id))
		for _, b := range v.binds {
			keys = append(keys, portLabelKey(v.vpn.key, b.iface))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys) // a per-VPN VRF ID is instantiated on several hosts

	out := make(map[string]uint32, len(keys))
	used := make(map[uint32]bool, len(keys))
	var fresh []string
	for _, k := range keys {
		l, ok := prior[k]
		if ok && l >= FirstLabel && l <= c.opt.MaxLabel && !used[l] {
			out[k], used[l] = l, true
			continue
		}
		fresh = append(fresh, k)
	}
	next := c.opt.MinLabel
	for _, k := range fresh {
		for next <= c.opt.MaxLabel && used[next] {
			next++
		}
		if next > c.opt.MaxLabel {
			c.warn.add("label range exhausted: %d labels above %d needed; %s and later ones get none", len(fresh), c.opt.MaxLabel, k)
			c.unlabelled = k
			break
		}
		out[k], used[next] = next, true
	}
	for _, v := range c.vrfs {
		v.label = out[vrfLabelKey(v.id)]
		for _, b := range v.binds {
			b.label = out[portLabelKey(v.vpn.key, b.iface)]
		}
	}
	return out
}
