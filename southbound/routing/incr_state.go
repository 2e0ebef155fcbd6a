package routing

import (
	"math/bits"
	"slices"
)

// labelState is the label allocation an Incremental keeps: which key holds
// which label, how many VRF instances or bindings use each key (a per-VPN
// VRF ID is instantiated on several hosts), the keys whose use count
// changed in this run, and the keys whose label the last update changed.
type labelState struct {
	of      map[string]uint32
	refs    map[string]int
	used    []uint64 // bit l set: label l is held
	touched map[string]struct{}
	changed []string
}

func newLabelState() labelState {
	return labelState{of: map[string]uint32{}, refs: map[string]int{}, touched: map[string]struct{}{}}
}

// ref adds d users to key k. A count that drops to 0 is deleted by
// update, so that a key taken out and put back in one run (a VPN
// recomputed whole) costs no map deletion.
func (s *labelState) ref(k string, d int) {
	s.refs[k] += d
	s.touched[k] = struct{}{}
}

// reset replaces the allocation with of (from a full assignment).
func (s *labelState) reset(of map[string]uint32) {
	s.of = of
	s.used = nil
	for _, l := range of {
		s.set(l, true)
	}
	clear(s.touched)
}

// update settles the touched keys as Compute would with the previous
// allocation as prior: a key still used keeps its label, a key no longer
// used frees it at once, and new keys take the lowest free labels in key
// order. It reports false when the range is exhausted.
func (s *labelState) update(minLabel, maxLabel uint32) bool {
	keys := make([]string, 0, len(s.touched))
	for k := range s.touched {
		keys = append(keys, k)
	}
	clear(s.touched)
	slices.Sort(keys)
	s.changed = s.changed[:0]
	for _, k := range keys {
		if s.refs[k] != 0 {
			continue
		}
		delete(s.refs, k)
		if l, ok := s.of[k]; ok {
			delete(s.of, k)
			s.set(l, false)
			s.changed = append(s.changed, k)
		}
	}
	for _, k := range keys {
		if _, ok := s.of[k]; ok || s.refs[k] == 0 {
			continue
		}
		l := s.lowestFree(minLabel)
		if l > maxLabel {
			return false
		}
		s.of[k] = l
		s.set(l, true)
		s.changed = append(s.changed, k)
	}
	return true
}

func (s *labelState) set(l uint32, on bool) {
	w := int(l / 64)
	for len(s.used) <= w {
		s.used = append(s.used, 0)
	}
	if on {
		s.used[w] |= 1 << (l % 64)
	} else {
		s.used[w] &^= 1 << (l % 64)
	}
}

// lowestFree returns the lowest label from min up that is not held.
func (s *labelState) lowestFree(min uint32) uint32 {
	for w := int(min / 64); w < len(s.used); w++ {
		free := ^s.used[w]
		if w == int(min/64) {
			free &^= 1<<(min%64) - 1
		}
		if free != 0 {
			return uint32(w*64 + bits.TrailingZeros64(free))
		}
	}
	return max(uint32(len(s.used)*64), min)
}

// warnSet counts the warnings of every unit of an Incremental (a VPN, a
// binding, an address, a static route, a VRF's prefix...): a warning is
// in the Result while some unit has it. Each unit keeps its own list and
// replaces it through swap. The sorted list is patched with what came and
// went since it was last made, not sorted again (a network can carry
// tens of thousands of warnings).
type warnSet struct {
	count      map[string]int
	sorted     []string
	gone, born map[string]struct{} // since sorted was made
}

// swap replaces the warnings of a unit (*slot) with ws.
func (w *warnSet) swap(slot *[]string, ws []string) {
	if len(*slot) == 0 && len(ws) == 0 {
		return
	}
	if w.count == nil {
		w.count, w.gone, w.born = map[string]int{}, map[string]struct{}{}, map[string]struct{}{}
	}
	for _, s := range *slot {
		if w.count[s]--; w.count[s] == 0 {
			delete(w.count, s)
			flip(w.born, w.gone, s)
		}
	}
	for _, s := range ws {
		if w.count[s]++; w.count[s] == 1 {
			flip(w.gone, w.born, s)
		}
	}
	*slot = ws
}

// flip records s in to, unless it is in from (then it is back to how the
// sorted list has it).
func flip(from, to map[string]struct{}, s string) {
	if _, ok := from[s]; ok {
		delete(from, s)
	} else {
		to[s] = struct{}{}
	}
}

// list returns the warnings sorted, nil when there are none. A returned
// list is never modified.
func (w *warnSet) list() []string {
	if len(w.gone) == 0 && len(w.born) == 0 {
		return w.sorted
	}
	born := make([]string, 0, len(w.born))
	for s := range w.born {
		born = append(born, s)
	}
	slices.Sort(born)
	out := make([]string, 0, len(w.sorted)-len(w.gone)+len(born))
	for _, s := range w.sorted {
		if _, ok := w.gone[s]; ok {
			continue
		}
		for len(born) > 0 && born[0] < s {
			out, born = append(out, born[0]), born[1:]
		}
		out = append(out, s)
	}
	out = append(out, born...)
	clear(w.gone)
	clear(w.born)
	if len(out) == 0 {
		out = nil
	}
	w.sorted = out
	return out
}
