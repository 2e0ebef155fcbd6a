package routing

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Defaults of Options.
const (
	// DefaultASN is the administrator subfield of auto-assigned route
	// distinguishers when Options.ASN is 0 (the first private 2-octet ASN).
	DefaultASN = 64512
	// DefaultReleaseHold is the number of Compute runs a released
	// route distinguisher stays reserved when Options.ReleaseHold is 0.
	DefaultReleaseHold = 8
)

// Options configures Compute. The zero value is usable: auto-assigned
// route distinguishers are "64512:n" with n from 1 up.
//
// Route distinguishers are chosen per VRF ID (so the instances of a per-VPN
// VRF on several hosts share one RD) as follows:
//
//   - A VPN with explicit RDs: the per-VPN VRF of an any-to-any VPN uses
//     the first; the others are not used. The per-port VRFs of a
//     hub-and-spoke VPN use the list as a pool: a VRF keeps the pool
//     entry it had in the prior Assignments if that entry is still in the
//     list; VRFs without a pool entry (new ones, and ones that overflowed
//     earlier) take the first unused entries, hubs before spokes, then by
//     ID; when the pool is exhausted the remaining VRFs get auto-assigned
//     RDs (with a warning).
//   - Otherwise (auto): a VRF keeps the RD it has in the prior Assignments
//     if that RD is still of the form "ASN:n" with n in [Min, Max] and is
//     not configured explicitly anywhere; new VRFs get the lowest free n,
//     in VRF ID order. n is free when no VRF holds it, no VPN configures
//     it explicitly and it was not released recently.
//   - An assignment is kept, even while the VRF has no instance (all its
//     bindings down or unplaced), as long as its VPN (per-VPN VRF) or its
//     binding (per-port VRF) exists in the Model, so that the VRF gets the
//     same RD when it comes back.
//   - When that configuration is removed the RD is released: it is not
//     given to another VRF in this run nor in the next ReleaseHold runs
//     (BGP withdrawals and backend deletes of the old VRF may still be in
//     flight), except to a VRF with the same ID, which takes it back.
type Options struct {
	// ASN is the administrator subfield of auto-assigned RDs; 0 means
	// DefaultASN. An ASN above 65535 (4-octet) limits n to 65535.
	ASN uint32
	// Min and Max bound n in auto-assigned RDs "ASN:n". 0 means 1 and the
	// largest n the RD type allows (4294967295 for a 2-octet ASN, 65535
	// for a 4-octet one).
	Min, Max uint32
	// ReleaseHold is the number of further Compute runs during which a
	// released auto-assigned RD stays reserved. 0 means
	// DefaultReleaseHold; negative means no further run (a released RD is
	// still never reused in the run that released it).
	ReleaseHold int
	// MaxLabel is the largest label Compute assigns (labels start at
	// FirstLabel); 0 means DefaultMaxLabel.
	MaxLabel uint32
	// MinLabel is the smallest label Compute assigns to a new VRF or
	// binding (below FirstLabel: FirstLabel). Servers of sites that import
	// each other's routes take disjoint ranges: a forwarder tells the
	// tunnels of a VRF apart by label. Labels assigned before keep theirs.
	MinLabel uint32
}

// Assignments is the route distinguisher allocation state. Compute takes
// the Assignments returned by the previous run and returns the new ones;
// the caller persists them (they marshal to JSON) so that RDs are stable
// across runs and restarts. The zero value means nothing assigned yet.
type Assignments struct {
	// RDs maps VRF IDs to their RDs: every VRF of the Result, and the VRFs
	// whose configuration exists but which have no instance now.
	RDs map[string]string `json:"rds,omitempty"`
	// Released maps recently released auto-assigned RDs to who had them
	// and how many more runs they stay reserved.
	Released map[string]Release `json:"released,omitempty"`
	// Labels maps "vrf <VRF ID>" and "port <tenant/vpn/interface>" to the
	// labels of active VRFs and bindings (see VRF.Label, Port.Label).
	Labels map[string]uint32 `json:"labels,omitempty"`
}

// Release is a released route distinguisher still reserved.
type Release struct {
	// VRF is the ID of the VRF that had the RD; it takes it back if it
	// reappears while the RD is reserved.
	VRF string `json:"vrf"`
	// Runs is the number of further Compute runs the RD stays reserved.
	Runs int `json:"runs"`
}

// normalized returns o with defaults applied and the range clamped.
func (o Options) normalized(w *warnings) Options {
	if o.ASN == 0 {
		o.ASN = DefaultASN
	}
	limit := uint32(1<<32 - 1)
	if o.ASN > 65535 {
		limit = 65535
	}
	if o.Min == 0 {
		o.Min = 1
	}
	if o.Max == 0 {
		o.Max = limit
	}
	if o.Max > limit {
		w.add("RD range: %d:%d exceeds the largest number a 4-octet ASN allows; using %d", o.ASN, o.Max, limit)
		o.Max = limit
	}
	if o.Min > o.Max {
		w.add("RD range: min %d is above max %d; no RD can be auto-assigned", o.Min, o.Max)
	}
	if o.MaxLabel == 0 {
		o.MaxLabel = DefaultMaxLabel
	}
	o.MinLabel = max(o.MinLabel, FirstLabel)
	switch {
	case o.ReleaseHold == 0:
		o.ReleaseHold = DefaultReleaseHold
	case o.ReleaseHold < 0:
		o.ReleaseHold = 0
	}
	return o
}

// autoRD formats an auto-assigned RD.
func (o *Options) autoRD(n uint32) string {
	return strconv.FormatUint(uint64(o.ASN), 10) + ":" + strconv.FormatUint(uint64(n), 10)
}

// isAuto reports whether rd is an RD Compute may auto-assign with o.
func (o *Options) isAuto(rd string) bool {
	asn, num, ok := strings.Cut(rd, ":")
	if !ok || asn != strconv.FormatUint(uint64(o.ASN), 10) {
		return false
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != num {
		return false
	}
	return uint32(n) >= o.Min && uint32(n) <= o.Max
}

// rdRequest is one VRF ID that needs or may keep an RD.
type rdRequest struct {
	id   string
	vpn  *vpnState
	role Role
	live bool // the VRF has at least one instance in this run
}

// assignRDs chooses the RD of every live VRF ID and returns the new
// Assignments. reqs holds the live VRF IDs and the retained ones (whose
// configuration exists but which have no instance), sorted by ID.
func (c *computation) assignRDs(reqs []rdRequest, prior Assignments) (map[string]string, Assignments) {
	o := &c.opt
	rds := make(map[string]string, len(reqs))
	owner := make(map[string]string) // RD → VRF ID holding it in this run

	// RDs configured explicitly anywhere are never auto-assigned. One RD
	// on two VPNs is refused by the route-distinguisher-owner rule.
	explicit := make(map[string]string) // RD → VPN key
	for _, v := range c.vpns {
		for _, rd := range v.rds {
			if k, dup := explicit[rd]; dup && k != v.key {
				c.warn.add("VPN %s: route distinguisher %s is also configured on VPN %s", v.key, rd, k)
				continue
			}
			explicit[rd] = v.key
		}
	}

	// RDs present in the prior state are never given to a new VRF in this
	// run; a released one may be taken back by its own VRF.
	held := make(map[string]bool, len(prior.RDs)+len(prior.Released))
	for _, rd := range prior.RDs {
		held[rd] = true
	}
	// A VRF that released several takes back the most recent (most runs
	// left), then the first by RD: never map order.
	reclaim := make(map[string]string) // VRF ID → its released RD
	for rd, rel := range prior.Released {
		if rel.Runs <= 0 {
			continue
		}
		held[rd] = true
		if cur, ok := reclaim[rel.VRF]; ok {
			if c := prior.Released[cur]; c.Runs > rel.Runs || c.Runs == rel.Runs && cur < rd {
				continue
			}
		}
		reclaim[rel.VRF] = rd
	}

	// Explicit RDs.
	var auto []rdRequest
	pools := make(map[*vpnState][]rdRequest)
	for _, r := range reqs {
		switch {
		case !r.live:
			if len(r.vpn.rds) == 0 {
				auto = append(auto, r)
			}
		case len(r.vpn.rds) == 0:
			auto = append(auto, r)
		case r.vpn.cfg.Policy != HubAndSpoke:
			rds[r.id] = r.vpn.rds[0]
		default:
			pools[r.vpn] = append(pools[r.vpn], r)
		}
	}
	for _, v := range c.vpns { // VPN order keeps the warnings deterministic
		members := pools[v]
		if len(members) == 0 {
			continue
		}
		used := make(map[string]bool)
		inPool := make(map[string]bool, len(v.rds))
		for _, rd := range v.rds {
			inPool[rd] = true
		}
		var fresh []rdRequest
		for _, r := range members {
			if p, ok := prior.RDs[r.id]; ok && inPool[p] && !used[p] {
				used[p] = true
				rds[r.id] = p
				continue
			}
			fresh = append(fresh, r)
		}
		sort.SliceStable(fresh, func(i, j int) bool {
			return roleRank(fresh[i].role) < roleRank(fresh[j].role)
		})
		next := 0
		for _, r := range fresh {
			for next < len(v.rds) && used[v.rds[next]] {
				next++
			}
			if next == len(v.rds) {
				c.warn.add("VPN %s: more VRFs than explicit route distinguishers; VRF %s gets an auto-assigned one", v.key, r.id)
				auto = append(auto, r)
				continue
			}
			used[v.rds[next]] = true
			rds[r.id] = v.rds[next]
		}
	}
	sort.Slice(auto, func(i, j int) bool { return auto[i].id < auto[j].id })

	// Auto: keep valid prior assignments (or take back a released RD).
	var fresh []rdRequest
	for _, r := range auto {
		keep := ""
		for _, p := range []string{prior.RDs[r.id], reclaim[r.id]} {
			if p == "" || !o.isAuto(p) {
				continue
			}
			if k, ok := explicit[p]; ok {
				c.warn.add("VRF %s: route distinguisher %s is now configured explicitly on VPN %s; reassigned", r.id, p, k)
				continue
			}
			if other, ok := owner[p]; ok {
				c.warn.add("VRF %s: route distinguisher %s is also assigned to VRF %s; reassigned", r.id, p, other)
				continue
			}
			keep = p
			break
		}
		if keep != "" {
			owner[keep] = r.id
			rds[r.id] = keep
			continue
		}
		if r.live {
			fresh = append(fresh, r)
		}
	}

	// Auto: new VRFs get the lowest free number.
	n := uint64(o.Min)
	for _, r := range fresh {
		rd := ""
		for ; n <= uint64(o.Max); n++ {
			cand := o.autoRD(uint32(n))
			if _, ok := owner[cand]; ok || held[cand] {
				continue
			}
			if _, ok := explicit[cand]; ok {
				continue
			}
			rd = cand
			n++
			break
		}
		if rd == "" {
			c.warn.add("VRF %s: no free route distinguisher in %s..%s", r.id, o.autoRD(o.Min), o.autoRD(o.Max))
			continue
		}
		owner[rd] = r.id
		rds[r.id] = rd
	}

	// The new state: live and retained assignments, and the releases.
	next := Assignments{RDs: make(map[string]string, len(rds))}
	inUse := make(map[string]bool, len(rds))
	for id, rd := range rds {
		next.RDs[id] = rd
		inUse[rd] = true
	}
	release := func(rd, id string, runs int) {
		if runs <= 0 || inUse[rd] || !o.isAuto(rd) {
			return
		}
		if next.Released == nil {
			next.Released = make(map[string]Release)
		}
		if cur, ok := next.Released[rd]; ok && (cur.Runs > runs || cur.Runs == runs && cur.VRF <= id) {
			return
		}
		next.Released[rd] = Release{VRF: id, Runs: runs}
	}
	for id, rd := range prior.RDs {
		if next.RDs[id] != rd {
			release(rd, id, o.ReleaseHold)
		}
	}
	for rd, rel := range prior.Released {
		release(rd, rel.VRF, rel.Runs-1)
	}

	if len(next.RDs) == 0 {
		next.RDs = nil // canonical: same as the zero value and a JSON round trip
	}

	// Only live VRFs get an RD in the Result.
	for _, r := range reqs {
		if !r.live {
			delete(rds, r.id)
		}
	}
	return rds, next
}

func roleRank(r Role) int {
	if r == RoleHub {
		return 0
	}
	return 1
}

// warnings collects warnings without duplicates.
type warnings map[string]struct{}

func (w *warnings) add(format string, args ...any) {
	if *w == nil {
		*w = make(warnings)
	}
	(*w)[fmt.Sprintf(format, args...)] = struct{}{}
}

func (w warnings) sorted() []string {
	if len(w) == 0 {
		return nil
	}
	out := make([]string, 0, len(w))
	for s := range w {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
