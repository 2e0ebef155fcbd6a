package routing

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// maxListed bounds the conflicts VPNStatus names one by one: beyond it,
// one line per VRF gives their number, so that neither the status nor the
// cost of computing it grows with the conflicts (three VPNs with the same
// 10,000 addresses importing each other have 10,000 in every VRF).
const maxListed = 8

// VPNStatus says why VPN vpn ("tenant/vpn") holds less in the network
// than its configuration asks, though the configuration is valid: its
// members on different hosts cannot reach each other (no import or no
// export route target), or prefixes reach one of its VRFs from several
// VPNs and only one is used. nil when there is nothing to say or no such
// VPN. The caller puts it in the VPN's status, so that an operator sees
// what the route computation could not do.
//
// It costs the VPN's VRF instances, plus, when they have at most
// maxListed conflicts, the prefixes with warnings in them: every run
// keeps the warnings per route (vrfInst.warned) and counts the conflicts.
func (x *Incremental) VPNStatus(vpn string) []string {
	rec := x.vpns[vpn]
	if rec == nil {
		return nil
	}
	why := slices.Clone(rec.headWarn)
	total := 0
	for _, inst := range rec.insts {
		total += inst.conflicts
	}
	for _, inst := range rec.insts {
		switch {
		case inst.conflicts == 0:
		case total > maxListed:
			why = append(why, fmt.Sprintf(manyConflicts, inst.id, inst.host, inst.conflicts))
		default:
			for _, ws := range inst.warned {
				for _, w := range ws {
					if strings.Contains(w, conflictMark) {
						why = append(why, w)
					}
				}
			}
		}
	}
	slices.Sort(why)
	return slices.Compact(why)
}

// manyConflicts sums up the conflicts of one VRF when there are too many
// to name.
const manyConflicts = "VRF %s on %s: %d prefixes reach it from several VPNs; one VPN's route is used for each (the VRF's own VPN first, then the first by name)"

// setWarned replaces the warnings of inst's route for p, keeping the
// counts of conflicts and noting the VPN when its VPNStatus changes: its
// number of conflicts, or the text of one while they are listed.
func (x *Incremental) setWarned(inst *vrfInst, p netip.Prefix, ws []string) {
	old := inst.warned[p]
	d := hasConflict(ws) - hasConflict(old)
	inst.conflicts += d
	inst.vpn.conflicts += d
	if x.reasons != nil && (d != 0 || inst.vpn.conflicts <= maxListed && hasConflict(ws) == 1 && !slices.Equal(ws, old)) {
		x.reasons[inst.vpn.key] = struct{}{}
	}
	swapKey(&x.warn, inst.warned, p, ws)
}

// hasConflict is 1 when ws holds an importConflict, else 0.
func hasConflict(ws []string) int {
	for _, w := range ws {
		if strings.Contains(w, conflictMark) {
			return 1
		}
	}
	return 0
}

// ReasonsChanged names, sorted, the VPNs ("tenant/vpn") whose VPNStatus
// the last run may have changed. A run reaches the VPNs importing what it
// touched, so a VPN's conflicts can change without the VPN itself being
// touched; those whose reasons stay the same (a prefix still conflicted,
// counted but not listed) are not named. After a full computation it
// names every VPN.
func (x *Incremental) ReasonsChanged() []string {
	if x.rebuilt {
		return slices.Sorted(maps.Keys(x.vpns))
	}
	return slices.Sorted(maps.Keys(x.reasons))
}
