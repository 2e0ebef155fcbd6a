package ebpffwd_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/routing"
)

func TestNewRefusesBadOptions(t *testing.T) {
	for name, value := range map[string]string{"netns-prefix": "Not/Valid", "bpffs": "relative/dir", "vni-base": "10"} {
		_, err := ebpffwd.New(southbound.Backend{Name: "b", Driver: ebpffwd.Kind, Options: map[string]string{name: value}})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("option %s=%q: %v, want an error naming it", name, value, err)
		}
	}
	if _, err := ebpffwd.New(southbound.Backend{Name: "b", Driver: ebpffwd.Kind, Options: map[string]string{"netns-prefix": "lab-", "bpffs": "/sys/fs/bpf"}}); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}

// What the data plane cannot hold fails Apply with the route named, and
// a host namespace that does not exist is named too.
func TestApplyRefusesWhatItCannotRealize(t *testing.T) {
	r := newRig(t)
	r.apply(anyToAnyModel())
	vrf := r.res.Hosts["host-b"].VRF("blue/blue")
	hop := vrf.Routes[0].NextHops[0]
	many := routing.Route{Prefix: netip.MustParsePrefix("10.200.0.0/16")}
	for range 17 {
		many.NextHops = append(many.NextHops, hop)
		hop.Label++
		hop.Kind = routing.HopRemote
		hop.Underlay = ulA
	}
	for _, c := range []struct {
		route routing.Route
		want  string
	}{
		{routing.Route{Prefix: netip.MustParsePrefix("2001:db8::/64"), NextHops: vrf.Routes[0].NextHops}, "IPv4 routes only"},
		{many, "at most 16"},
	} {
		err := r.ebpf.Apply(ctx(t), []routing.Change{{Op: routing.Create, Kind: routing.KindRoute, Host: "host-b", VRF: "blue/blue", Prefix: c.route.Prefix, Route: &c.route}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.route.Prefix.String()) {
			t.Errorf("route %s: %v, want an error naming it and %q", c.route.Prefix, err, c.want)
		}
	}
	err := r.ebpf.Apply(ctx(t), []routing.Change{{Op: routing.Create, Kind: routing.KindVRF, Host: "host-z", VRF: "blue/blue", Spec: vrf}})
	if err == nil || !strings.Contains(err.Error(), r.lab.Prefix()+"host-z") {
		t.Errorf("missing host: %v, want an error naming its namespace", err)
	}
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("a refused change left drift: %v", drift)
	}
}
