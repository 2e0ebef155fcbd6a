package daemon

import (
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/bgp"
	netreadyyang "github.com/netready/netready/yang"
)

// TestNeighborStatusUnderItsKeyAsWritten: the speaker names a peer by its
// address in canonical form; the status goes under the list key as the
// operator wrote it (2001:DB8::2), or it would be written nowhere and the
// neighbor would show no status at all. A connection's peer is left to
// its connection.
func TestNeighborStatusUnderItsKeyAsWritten(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	root, err := tree.DecodeRootJSON(sch.Root, []byte(`{"netready-bgp:bgp":{"local-as":64512,"router-id":"192.0.2.254",
		"neighbors":{"neighbor":[{"address":"2001:DB8::2","peer-as":64513},{"address":"192.0.2.1","peer-as":64513}]}}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	got := neighborsByKey(root, map[string]bgp.NeighborStatus{
		"2001:db8::2": {SessionState: "established"},
		"192.0.2.1":   {SessionState: "active", Connection: "dc2"},
		"192.0.2.9":   {SessionState: "idle"}, // no longer configured
	})
	if len(got) != 1 || got["2001:DB8::2"].SessionState != "established" {
		t.Errorf("status by key = %v, want only 2001:DB8::2 established", got)
	}
}
