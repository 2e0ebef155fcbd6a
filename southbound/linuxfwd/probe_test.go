package linuxfwd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
)

// Probe finds an instance whose interface went down at once, one that
// stopped answering ARP within a few seconds, both again once they are
// back, and one whose NIC was destroyed at once.
func TestProbe(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.apply(anyToAnyModel())
	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	g1Ref := southbound.PortRef{Host: "host-a", VRF: "blue/blue", Interface: "g1"}
	g3Ref := southbound.PortRef{Host: "host-b", VRF: "blue/blue", Interface: "g3"}
	probe := func() map[southbound.PortRef]southbound.Liveness {
		t.Helper()
		out := map[southbound.PortRef]southbound.Liveness{}
		for b, hosts := range map[string][]string{"vendor-a": {"host-a"}, "vendor-b": {"host-b"}} {
			got, err := r.drivers[b].Probe(ctx(t), hosts)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			for k, v := range got {
				out[k] = v
			}
		}
		return out
	}
	// until probes every 200 ms until cond holds of what they find, and
	// returns how long that took.
	until := func(what string, cond func(map[southbound.PortRef]southbound.Liveness) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			got := probe()
			if cond(got) {
				return time.Since(start)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: still %v after 10 s", what, got)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	alive := func(refs ...southbound.PortRef) func(map[southbound.PortRef]southbound.Liveness) bool {
		return func(got map[southbound.PortRef]southbound.Liveness) bool {
			for _, r := range refs {
				if !got[r].Answers {
					return false
				}
			}
			return true
		}
	}
	until("both answer", alive(g1Ref, g3Ref))

	if err := g1.SetLinkUp(false); err != nil {
		t.Fatal(err)
	}
	if got := probe(); got[g1Ref].Answers || !strings.Contains(got[g1Ref].Reason, "no carrier") {
		t.Errorf("g1 down: %+v, want no carrier", got[g1Ref])
	}
	// A port without an instance never answers.
	g2Ref := southbound.PortRef{Host: "host-a", VRF: "blue/blue", Interface: "g2"}
	if got := probe(); got[g2Ref].Answers {
		t.Errorf("g2 has no instance, yet answers: %+v", got[g2Ref])
	}
	if err := g1.SetLinkUp(true); err != nil {
		t.Fatal(err)
	}
	until("g1 back", alive(g1Ref))

	if err := g3.SetARP(false); err != nil {
		t.Fatal(err)
	}
	took := until("g3 silent", func(got map[southbound.PortRef]southbound.Liveness) bool {
		return !got[g3Ref].Answers && strings.Contains(got[g3Ref].Reason, "no ARP reply")
	})
	t.Logf("a silent instance was found in %v", took)
	if err := g3.SetARP(true); err != nil {
		t.Fatal(err)
	}
	until("g3 back", alive(g3Ref))

	// g3's NIC destroyed with its VM: the veth pair is gone, and nobody
	// answers until reconciliation makes the port again.
	if err := g3.DeleteNIC(); err != nil {
		t.Fatal(err)
	}
	if got := probe(); got[g3Ref].Answers || !strings.Contains(got[g3Ref].Reason, "vNIC is gone") {
		t.Errorf("g3's NIC deleted: %+v, want its vNIC gone", got[g3Ref])
	}
}
