package realize

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/netready/netready/southbound/routing"
)

// The engine stores its label and route distinguisher assignments with
// each commit (store.Commit.State) as one small key per assignment under
// StatePrefix, so a transaction writes only the assignments it changed: a
// binding taken down at 30,000 bindings frees one label and writes one
// key, not a megabyte document.
const (
	// StatePrefix is the prefix of every state key the engine writes;
	// Start takes what the store holds under it.
	StatePrefix = "realize/"

	labelPrefix    = StatePrefix + "label/"    // + label key → decimal label
	rdPrefix       = StatePrefix + "rd/"       // + VRF ID → route distinguisher
	releasedPrefix = StatePrefix + "released/" // + RD → JSON routing.Release

	// legacyStateKey held every assignment as one JSON document (stores
	// written before December 2026). It is read when found, and the first
	// transaction after rewrites it as keys and deletes it.
	legacyStateKey = StatePrefix + "assignments"
)

// DecodeAssignments reads the assignments from the state keys the engine
// stored (every key under StatePrefix).
func DecodeAssignments(state map[string][]byte) (routing.Assignments, error) {
	var asg routing.Assignments
	if doc := state[legacyStateKey]; doc != nil {
		if err := json.Unmarshal(doc, &asg); err != nil {
			return asg, fmt.Errorf("stored assignments: %w", err)
		}
	}
	for k, v := range state {
		if err := decodeKey(&asg, k, v); err != nil {
			return asg, fmt.Errorf("stored assignment %q: %w", k, err)
		}
	}
	return asg, nil
}

func decodeKey(asg *routing.Assignments, k string, v []byte) error {
	if name, ok := strings.CutPrefix(k, labelPrefix); ok {
		l, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil {
			return err
		}
		setKey(&asg.Labels, name, uint32(l))
	} else if name, ok := strings.CutPrefix(k, rdPrefix); ok {
		setKey(&asg.RDs, name, string(v))
	} else if name, ok := strings.CutPrefix(k, releasedPrefix); ok {
		var r routing.Release
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		setKey(&asg.Released, name, r)
	}
	return nil
}

func setKey[V any](m *map[string]V, k string, v V) {
	if *m == nil {
		*m = map[string]V{}
	}
	(*m)[k] = v
}

// stateDelta is the state keys that take before to after: changed and new
// assignments with their value, gone ones with nil; nil when there are
// none. When known, labels names every label key that may differ;
// otherwise (after a full computation) every label is compared. legacy
// replaces a stored legacy document with keys for everything.
func stateDelta(before, after routing.Assignments, labels []string, known, legacy bool) map[string][]byte {
	out := map[string][]byte{}
	if legacy {
		before, known = routing.Assignments{}, false
		out[legacyStateKey] = nil
	}
	if !known {
		labels = unionKeys(before.Labels, after.Labels)
	}
	for _, k := range labels {
		putChanged(out, labelPrefix+k, before.Labels, after.Labels, k, func(l uint32) []byte { return strconv.AppendUint(nil, uint64(l), 10) })
	}
	for _, k := range unionKeys(before.RDs, after.RDs) {
		putChanged(out, rdPrefix+k, before.RDs, after.RDs, k, func(rd string) []byte { return []byte(rd) })
	}
	for _, k := range unionKeys(before.Released, after.Released) {
		putChanged(out, releasedPrefix+k, before.Released, after.Released, k, func(r routing.Release) []byte {
			b, _ := json.Marshal(r) // a struct of a string and an int: cannot fail
			return b
		})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// putChanged records key k's value in after (nil when gone) when it
// differs from before.
func putChanged[V comparable](out map[string][]byte, key string, before, after map[string]V, k string, enc func(V) []byte) {
	old, had := before[k]
	v, has := after[k]
	switch {
	case has && (!had || old != v):
		out[key] = enc(v)
	case had && !has:
		out[key] = nil
	}
}

func unionKeys[V any](a, b map[string]V) []string {
	out := make([]string, 0, len(a)+len(b))
	for k := range a {
		out = append(out, k)
	}
	for k := range maps.Keys(b) {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}
