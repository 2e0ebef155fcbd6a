package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// dashboardFile is the example Grafana dashboard (docs/operations.md).
var dashboardFile = filepath.Join("..", "..", "..", "docs", "grafana", "netready-dashboard.json")

var (
	// selectorRE matches a PromQL vector selector of this server's metrics
	// or of the Go and process collectors it registers: the name, and its
	// label matchers if any.
	selectorRE = regexp.MustCompile(`\b((?:netready|go|process)_[a-zA-Z0-9_]+)(\{[^}]*\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
)

// dashboardTarget is one PromQL expression of the dashboard, where it is,
// and the unit Grafana shows it in ("" for a template variable).
type dashboardTarget struct{ where, expr, unit string }

// dashboardPanel is what the tests read of a panel.
type dashboardPanel struct {
	Title       string
	Targets     []struct{ RefID, Expr string }
	FieldConfig struct {
		Defaults  struct{ Unit string }
		Overrides []struct {
			Matcher    struct{ ID, Options string }
			Properties []struct {
				ID    string
				Value any
			}
		}
	}
}

// unit is the unit Grafana shows target ref in: the panel's, unless an
// override for that target sets another.
func (p dashboardPanel) unit(ref string) string {
	u := p.FieldConfig.Defaults.Unit
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID != "byFrameRefID" || o.Matcher.Options != ref {
			continue
		}
		for _, prop := range o.Properties {
			if v, ok := prop.Value.(string); ok && prop.ID == "unit" {
				u = v
			}
		}
	}
	return u
}

// dashboardTargets returns every panel target's expression and the
// template variables' queries.
func dashboardTargets(t *testing.T) []dashboardTarget {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []dashboardPanel
		Templating struct {
			List []struct{ Name, Definition string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var out []dashboardTarget
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			out = append(out, dashboardTarget{fmt.Sprintf("panel %q %s", p.Title, tg.RefID), tg.Expr, p.unit(tg.RefID)})
		}
	}
	for _, v := range dash.Templating.List {
		if v.Definition != "" {
			out = append(out, dashboardTarget{"variable " + v.Name, v.Definition, ""})
		}
	}
	return out
}

// unserved returns the selectors of expr that select no series of the
// scrape: a metric the server does not export, or label matchers no
// series has. The instance and job labels are Prometheus's, not the
// server's, and are not checked.
func unserved(fams map[string]*dto.MetricFamily, expr string) []string {
	var bad []string
	for _, m := range selectorRE.FindAllStringSubmatch(expr, -1) {
		if !slices.ContainsFunc(seriesOf(fams, m[1]), func(s *dto.Metric) bool { return matches(s, m[2]) }) {
			bad = append(bad, m[0])
		}
	}
	return bad
}

// seriesOf returns the series a metric name selects in a scrape; a
// histogram's _bucket, _sum and _count name its family's series.
func seriesOf(fams map[string]*dto.MetricFamily, name string) []*dto.Metric {
	if f := fams[name]; f != nil {
		return f.GetMetric()
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f := fams[strings.TrimSuffix(name, suffix)]; f != nil && strings.HasSuffix(name, suffix) && f.GetType() == dto.MetricType_HISTOGRAM {
			return f.GetMetric()
		}
	}
	return nil
}

// matches says whether series s satisfies the label matchers of a
// selector ("{a="x",b!="y"}", or "" for none).
func matches(s *dto.Metric, matchers string) bool {
	labels := map[string]string{}
	for _, l := range s.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	for _, m := range matcherRE.FindAllStringSubmatch(matchers, -1) {
		name, op, want := m[1], m[2], m[3]
		if name == "instance" || name == "job" {
			continue
		}
		have := labels[name]
		var ok bool
		switch op {
		case "=":
			ok = have == want
		case "!=":
			ok = have != want
		default:
			re, err := regexp.Compile("^(?:" + want + ")$")
			ok = err == nil && re.MatchString(have) == (op == "=~")
		}
		if !ok {
			return false
		}
	}
	return true
}

// TestDashboardSelectorsServed: every selector of every panel of the
// example dashboard selects at least one series that a real server
// exports on /metrics, once the server has done what the panel watches —
// Sets accepted and refused, a Get, a Subscribe stream, a backend realizing
// a change and failing one. A metric renamed, or a label value the server
// never uses, would leave a panel empty; here it fails.
func TestDashboardSelectorsServed(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ts := startWith(t, daemon.Config{Drivers: daemon.Drivers(), MetricsListen: "127.0.0.1:0"})
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/sites"))
	sc.untilSync(t)
	ts.addBackend(t, "hook", webhookBackend("hook", srv.URL))
	ts.waitSyncState(t, "hook", "in-sync")
	ts.mustSet(t, setSite(t, "dc1", "cell"))
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/sites/site[name=dc1]/kind", `"galaxy"`)}})
	wantCode(t, err, codes.InvalidArgument, "kind")
	if _, err := ts.get(t, "/sites", gpb.GetRequest_CONFIG); err != nil {
		t.Fatal(err)
	}
	h.set(http.StatusInternalServerError)
	_, err = ts.client.Set(ctx(t), setSite(t, "dc2", "cell"))
	wantCode(t, err, codes.Aborted, "500")

	fams := scrape(t, ts.d.MetricsAddr())
	targets := dashboardTargets(t)
	if len(targets) < 20 {
		t.Fatalf("%s: only %d queries found", dashboardFile, len(targets))
	}
	for _, tg := range targets {
		if bad := unserved(fams, tg.expr); len(bad) > 0 {
			t.Errorf("%s: the server exports no series for %v (in %s)", tg.where, bad, tg.expr)
		}
	}
	// The check itself catches a wrong name and a wrong label value.
	for _, c := range []struct{ expr, want string }{
		{`rate(netready_sets_total[5m])`, "netready_sets_total"},
		{`rate(netready_grpc_handled_total{service="gnmi.gNMI",method="Set",code="Ok"}[5m])`, `netready_grpc_handled_total{service="gnmi.gNMI",method="Set",code="Ok"}`},
		{`netready_replica_role{role=~"lead.*"}`, `netready_replica_role{role=~"lead.*"}`},
	} {
		if bad := unserved(fams, c.expr); !slices.Equal(bad, []string{c.want}) {
			t.Errorf("%s: reported %v, want [%s]", c.expr, bad, c.want)
		}
	}
}

// TestDashboardUnits: a target shown in seconds is computed from metrics
// in seconds (named _seconds, by the Prometheus conventions), and a
// quantile of a _seconds histogram is shown in seconds. A rate of
// requests or failures drawn on a seconds axis reads as a duration
// (0.3 streams opened per second shown as "300 ms").
func TestDashboardUnits(t *testing.T) {
	for _, tg := range dashboardTargets(t) {
		names := selectorRE.FindAllStringSubmatch(tg.expr, -1)
		seconds := len(names) > 0
		for _, m := range names {
			seconds = seconds && strings.HasSuffix(strings.TrimSuffix(m[1], "_bucket"), "_seconds")
		}
		switch {
		case tg.unit == "s" && !seconds:
			t.Errorf("%s is shown in seconds but measures no time: %s", tg.where, tg.expr)
		case seconds && strings.HasPrefix(tg.expr, "histogram_quantile") && tg.unit != "s":
			t.Errorf("%s is a quantile of a time, shown in %q: %s", tg.where, tg.unit, tg.expr)
		}
	}
}
