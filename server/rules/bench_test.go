package rules_test

import (
	"fmt"
	"github.com/netready/netready/server/changeset"
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

const (
	benchTenants = 1000
	benchVPNs    = 10 // per tenant
)

// ownershipTree is benchTenants tenants of benchVPNs VPNs each. Tenant tN
// owns 64512:N, which all its VPNs use; 65000:1 (owned by t0) is granted
// for import to every other tenant and imported by all their VPNs;
// 65000:2 (owned by t0) is granted to every other tenant and used by none.
func ownershipTree(b *testing.B) *tree.Node {
	b.Helper()
	var tenants, rts, grants strings.Builder
	for t := range benchTenants {
		var vpns strings.Builder
		for v := range benchVPNs {
			if v > 0 {
				vpns.WriteByte(',')
			}
			shared := ""
			if t > 0 {
				shared = `,{"value":"65000:1","direction":"import"}`
			}
			fmt.Fprintf(&vpns, `{"name":"v%d","route-target":[{"value":"64512:%d"}%s]}`, v, t, shared)
		}
		if t > 0 {
			tenants.WriteByte(',')
			rts.WriteByte(',')
			if t > 1 {
				grants.WriteByte(',')
			}
			fmt.Fprintf(&grants, `{"tenant":"t%d","direction":"import"}`, t)
		}
		fmt.Fprintf(&tenants, `{"name":"t%d","netready-l3vpn:vpns":{"vpn":[%s]}}`, t, vpns.String())
		fmt.Fprintf(&rts, `{"value":"64512:%d","owner":"t%d"}`, t, t)
	}
	doc := fmt.Sprintf(`{"netready-tenants:tenants":{"tenant":[%s]},"netready-l3vpn:route-targets":{"route-target":[%s,
		{"value":"65000:1","owner":"t0","grant":[%s]},{"value":"65000:2","owner":"t0","grant":[%s]}]}}`,
		tenants.String(), rts.String(), grants.String(), grants.String())
	s := nrsch(b)
	payload, err := tree.DecodeRootJSON(s.Root, []byte(doc), true)
	if err != nil {
		b.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(s))
	if err := txn.Replace(nil, payload); err != nil {
		b.Fatal(err)
	}
	return txn.Root()
}

// BenchmarkRouteTargetOwnership validates one Set against a tree of 10,000
// VPNs in 1,000 tenants, with a route target shared with all of them, with
// every rule (on) and without the two ownership rules (off): what they add
// to the Sets that touch them.
func BenchmarkRouteTargetOwnership(b *testing.B) {
	root := ownershipTree(b)
	var without []validate.Rule
	for _, r := range rules.All() {
		if r.Name != "vpn-route-targets" && r.Name != "route-target-ownership" {
			without = append(without, r)
		}
	}
	vals := map[string]*validate.Validator{"on": validator(b, root)}
	off, err := validate.New(nrsch(b), without)
	if err != nil {
		b.Fatal(err)
	}
	off.Reset(root)
	vals["off"] = off
	if _, err := vals["on"].Check(changeset.Compute(tree.NewRoot(nrsch(b)), root), nil); err != nil {
		b.Fatal(err)
	}
	const shared = "/route-targets/route-target[value=65000:2]"
	for _, c := range []struct {
		name string
		ops  []op
	}{
		{"vpn-route-target-added", []op{{"merge", "/tenants/tenant[name=t500]/vpns/vpn[name=v5]/route-target[value=64512:500]", `{"direction":"export"}`}}},
		{"entry-created", []op{{"merge", "/route-targets/route-target[value=64512:99999]", `{"owner":"t1"}`}}},
		{"grant-revoked-unused", []op{{"delete", shared + "/grant[tenant=t500]", ""}}},
		{"entry-with-999-grants-deleted", []op{{"delete", shared, ""}}},
	} {
		benchCheck(b, vals, root, edit(b, root, c.ops...), c.name)
	}
}

// BenchmarkRouteTargetViolations is the start-up check over the same
// 10,000 VPNs.
func BenchmarkRouteTargetViolations(b *testing.B) {
	root := ownershipTree(b)
	b.ReportAllocs()
	t0 := time.Now()
	for b.Loop() {
		if bad := rules.RouteTargetViolations(root); len(bad) != 0 {
			b.Fatal(bad)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds())/float64(b.N), "ms/check")
}

// BenchmarkRouteDistinguisherOwner validates a Set adding one RD to one of
// 10,000 VPNs in 1,000 tenants that each have one, with every rule (on)
// and without route-distinguisher-owner (off): the rule's pass over every
// VPN's RDs, paid by the transactions that change an RD. A Set that
// changes no RD (a description) does not run it.
func BenchmarkRouteDistinguisherOwner(b *testing.B) {
	var tenants strings.Builder
	for t := range benchTenants {
		var vpns strings.Builder
		for v := range benchVPNs {
			if v > 0 {
				vpns.WriteByte(',')
			}
			fmt.Fprintf(&vpns, `{"name":"v%d","route-distinguisher":["65001:%d"]}`, v, t*benchVPNs+v)
		}
		if t > 0 {
			tenants.WriteByte(',')
		}
		fmt.Fprintf(&tenants, `{"name":"t%d","netready-l3vpn:vpns":{"vpn":[%s]}}`, t, vpns.String())
	}
	s := nrsch(b)
	payload, err := tree.DecodeRootJSON(s.Root, []byte(`{"netready-tenants:tenants":{"tenant":[`+tenants.String()+`]}}`), true)
	if err != nil {
		b.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(s))
	if err := txn.Replace(nil, payload); err != nil {
		b.Fatal(err)
	}
	root := txn.Root()
	var without []validate.Rule
	for _, r := range rules.All() {
		if r.Name != "route-distinguisher-owner" {
			without = append(without, r)
		}
	}
	vals := map[string]*validate.Validator{"on": validator(b, root)}
	if vals["off"], err = validate.New(s, without); err != nil {
		b.Fatal(err)
	}
	vals["off"].Reset(root)
	const vpn = "/tenants/tenant[name=t500]/vpns/vpn[name=v5]"
	for _, c := range []struct {
		name string
		ops  []op
	}{
		{"rd-added", []op{{"merge", vpn + "/route-distinguisher", `["65001:5005","65002:1"]`}}},
		{"description-changed", []op{{"merge", vpn + "/description", `"x"`}}},
	} {
		benchCheck(b, vals, root, edit(b, root, c.ops...), c.name)
	}
}

// benchCheck measures the check of cand against root by each validator
// (with the rule under test "on" and without it "off").
func benchCheck(b *testing.B, vals map[string]*validate.Validator, root, cand *tree.Node, name string) {
	for _, mode := range []string{"off", "on"} {
		b.Run(name+"/"+mode, func(b *testing.B) {
			v := vals[mode]
			b.ReportAllocs()
			t0 := time.Now()
			for b.Loop() {
				if _, err := v.Check(changeset.Compute(root, cand), nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/float64(b.N), "µs/check")
		})
	}
}
