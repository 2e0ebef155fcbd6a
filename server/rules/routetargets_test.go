package rules_test

import (
	"github.com/netready/netready/server/changeset"
	"slices"
	"testing"

	"github.com/netready/netready/server/rules"
)

const (
	redVPN   = "/tenants/tenant[name=red]/vpns/vpn[name=red]"
	redRT    = "/route-targets/route-target[value=64512:200]"
	blueRT   = "/route-targets/route-target[value=64512:100]"
	notOwned = "route target 64512:200 is not owned by or granted to tenant blue"
)

func useRT(vpn, rt, direction string) op {
	return op{"merge", vpn + "/route-target[value=" + rt + "]", `{"value":"` + rt + `","direction":"` + direction + `"}`}
}

func grant(rt, tenant, direction string) op {
	return op{"merge", "/route-targets/route-target[value=" + rt + "]/grant[tenant=" + tenant + "]", `{"direction":"` + direction + `"}`}
}

// TestVPNRouteTargetOwnership: a VPN uses only route targets its tenant
// owns or was granted, in every place a VPN names one.
func TestVPNRouteTargetOwnership(t *testing.T) {
	run(t, "any-to-any.json", []rcase{
		{"own route target", []op{useRT(blueVPN, "64512:100", "import")}, "", ""},
		// alice's reproduction: blue takes red's route target.
		{"another tenant's route target refused", []op{useRT(blueVPN, "64512:200", "both")},
			blueVPN + "/route-target[value=64512:200]", notOwned},
		{"import alone refused too", []op{useRT(blueVPN, "64512:200", "import")},
			blueVPN + "/route-target[value=64512:200]", notOwned},
		// The refusal reads the same for a free route target: it tells
		// nothing about other tenants.
		{"unallocated route target refused", []op{useRT(blueVPN, "64512:999", "both")},
			blueVPN + "/route-target[value=64512:999]", "route target 64512:999 is not owned by or granted to tenant blue"},
		{"hub route target refused", []op{{"merge", blueVPN + "/hub-and-spoke", `{"hub-route-target":"64512:200"}`}},
			blueVPN + "/hub-and-spoke/hub-route-target", notOwned},
		{"spoke route target refused", []op{{"merge", blueVPN + "/hub-and-spoke", `{"spoke-route-target":"64512:200"}`}},
			blueVPN + "/hub-and-spoke/spoke-route-target", notOwned},
		{"granted and used in one transaction", []op{grant("64512:200", "blue", "both"), useRT(blueVPN, "64512:200", "both")}, "", ""},
		{"import grant, import use", []op{grant("64512:200", "blue", "import"), useRT(blueVPN, "64512:200", "import")}, "", ""},
		{"import grant, export use refused", []op{grant("64512:200", "blue", "import"), useRT(blueVPN, "64512:200", "export")},
			blueVPN + "/route-target[value=64512:200]", "granted to tenant blue for import only, and this use needs export"},
		{"import grant, hub use refused", []op{grant("64512:200", "blue", "import"), {"merge", blueVPN + "/hub-and-spoke", `{"hub-route-target":"64512:200"}`}},
			blueVPN + "/hub-and-spoke/hub-route-target", "for import only, and this use needs both"},
		{"newly allocated and used", []op{{"merge", "/route-targets/route-target[value=64512:7]", `{"owner":"blue"}`}, useRT(blueVPN, "64512:7", "both")}, "", ""},
		{"grant to the owner refused", []op{grant("64512:200", "red", "both")},
			redRT + "/grant[tenant=red]", "tenant red owns route target 64512:200 and needs no grant"},
		{"owner of a missing tenant refused", []op{{"merge", "/route-targets/route-target[value=64512:7]", `{"owner":"green"}`}},
			"/route-targets/route-target[value=64512:7]/owner", "green does not exist"},
	})
}

// TestRouteTargetRevocation: what a VPN uses cannot be taken from its
// tenant (a grant removed or narrowed, a new owner, the entry deleted)
// until the VPN stops using it; in the same transaction is fine.
func TestRouteTargetRevocation(t *testing.T) {
	// blue imports red's route target through a grant (an extranet).
	base := edit(t, loadScenario(t, "any-to-any.json"), grant("64512:200", "blue", "both"), useRT(blueVPN, "64512:200", "import"))
	if _, err := validator(t, base).Check(changeset.Compute(loadScenario(t, "any-to-any.json"), base), nil); err != nil {
		t.Fatal(err)
	}
	inUse := "tenant blue still uses route target 64512:200 (import) at " + blueVPN + "/route-target[value=64512:200]; remove it there first"
	runOn(t, base, []rcase{
		{"grant removed refused", []op{{"delete", redRT + "/grant[tenant=blue]", ""}}, redRT + "/grant[tenant=blue]", inUse},
		{"grant narrowed to export refused", []op{grant("64512:200", "blue", "export")}, redRT + "/grant[tenant=blue]", inUse},
		{"grant narrowed to what is used", []op{grant("64512:200", "blue", "import")}, "", ""},
		{"grant removed with its use", []op{{"delete", redRT + "/grant[tenant=blue]", ""}, {"delete", blueVPN + "/route-target[value=64512:200]", ""}}, "", ""},
		{"entry deleted refused", []op{{"delete", redRT, ""}}, redRT,
			"tenant red still uses route target 64512:200 (both) at " + redVPN + "/route-target[value=64512:200]"},
		{"entry deleted while only a grantee uses it refused", []op{{"delete", redVPN + "/route-target[value=64512:200]", ""}, {"delete", redRT, ""}}, redRT, inUse},
		// One owner per route target: handing it to blue takes it from red.
		{"new owner while the old one uses it refused", []op{
			{"delete", redRT + "/grant[tenant=blue]", ""}, {"merge", redRT + "/owner", `"blue"`}},
			redRT + "/owner", "tenant red still uses route target 64512:200 (both) at " + redVPN + "/route-target[value=64512:200]"},
		{"new owner once the old one stopped", []op{
			{"delete", redRT + "/grant[tenant=blue]", ""}, {"delete", redVPN + "/route-target[value=64512:200]", ""}, {"merge", redRT + "/owner", `"blue"`}}, "", ""},
		{"unused grant added and removed freely", []op{grant("64512:100", "red", "both")}, "", ""},
		{"grantee tenant deleted refused", []op{{"delete", "/tenants/tenant[name=blue]", ""}, {"delete", blueRT, ""}},
			"/tenants/tenant[name=blue]", "still referenced"},
	})
}

// TestRouteTargetViolations: the whole-tree check the server runs at
// start-up finds each VPN using what its tenant does not own, as a store
// written before ownership existed holds.
func TestRouteTargetViolations(t *testing.T) {
	base := loadScenario(t, "any-to-any.json")
	if got := rules.RouteTargetViolations(base); len(got) != 0 {
		t.Fatalf("valid scenario: %q", got)
	}
	// The tree is edited without validation, as the store is loaded.
	stale := edit(t, base, op{"delete", redRT, ""}, useRT(blueVPN, "64512:300", "both"))
	want := []string{
		blueVPN + "/route-target[value=64512:300]: route target 64512:300 is not owned by or granted to tenant blue; an administrator allocates route targets under /route-targets",
		redVPN + "/route-target[value=64512:200]: route target 64512:200 is not owned by or granted to tenant red; an administrator allocates route targets under /route-targets",
	}
	if got := rules.RouteTargetViolations(stale); !slices.Equal(got, want) {
		t.Errorf("violations:\n%q\nwant\n%q", got, want)
	}
}
