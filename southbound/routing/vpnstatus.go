package routing

import (
	"maps"
	"slices"
	"strings"
)

// VPNStatus says why VPN vpn ("tenant/vpn") holds less in the network
// than its configuration asks, though the configuration is valid: its
// members on different hosts cannot reach each other (no import or no
// export route target), or a prefix reaches one of its VRFs from several
// VPNs and only one is used. nil when there is nothing to say or no such
// VPN. The caller puts it in the VPN's status, so that an operator sees
// what the route computation could not do.
//
// It costs the VPN's VRF instances and the prefixes with warnings in
// them: the warnings are kept per route (vrfInst.warned) by every run.
func (x *Incremental) VPNStatus(vpn string) []string {
	rec := x.vpns[vpn]
	if rec == nil {
		return nil
	}
	why := slices.Clone(rec.headWarn)
	for _, inst := range rec.insts {
		for _, ws := range inst.warned {
			for _, w := range ws {
				if strings.Contains(w, conflictMark) {
					why = append(why, w)
				}
			}
		}
	}
	slices.Sort(why)
	return slices.Compact(why)
}

// Recomputed names, sorted, the VPNs ("tenant/vpn") with a VRF instance
// that the last run created, removed or recomputed in part: those whose
// VPNStatus may have changed. A run reaches the VPNs importing what it
// touched, so a VPN's conflicts can change without the VPN itself being
// touched; after a full computation it names every VPN with an instance.
func (x *Incremental) Recomputed() []string {
	keys := map[string]struct{}{}
	for k := range x.dirty {
		keys[vpnOfVRF(k.id)] = struct{}{}
	}
	return slices.Sorted(maps.Keys(keys))
}

// vpnOfVRF is the VPN key of a VRF ID ("tenant/vpn", or
// "tenant/vpn/interface" for a per-port VRF).
func vpnOfVRF(id string) string {
	if i := strings.IndexByte(id, '/'); i >= 0 {
		if j := strings.IndexByte(id[i+1:], '/'); j >= 0 {
			return id[:i+1+j]
		}
	}
	return id
}
