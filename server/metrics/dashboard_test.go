package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dashboardFile is the example Grafana dashboard (docs/operations.md).
var dashboardFile = filepath.Join("..", "..", "docs", "grafana", "netready-dashboard.json")

// metricName matches the metric names a PromQL expression may use: those
// of this server and of the Go and process collectors it registers.
var metricName = regexp.MustCompile(`\b(?:netready|go|process)_[a-zA-Z0-9_]+`)

// queries returns every PromQL expression of a dashboard: panel targets
// and template-variable queries, wherever they nest.
func queries(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
				out = append(out, s)
				continue
			}
			out = append(out, queries(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, queries(x)...)
		}
	}
	return out
}

// unknownMetrics lists the metric names exprs use that m does not serve
// (a histogram's _bucket, _sum and _count series count as its own).
func unknownMetrics(m *Metrics, exprs []string) []string {
	names := m.names()
	var bad []string
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !names[n] && !names[base] && !slices.Contains(bad, n) {
				bad = append(bad, n)
			}
		}
	}
	return bad
}

// TestDashboardQueriesExist: the dashboard is valid JSON, and every metric
// its panels query is one the server serves, so renaming a metric without
// the dashboard fails here.
func TestDashboardQueriesExist(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	exprs := queries(dash)
	if len(exprs) < 20 {
		t.Fatalf("%s: only %d queries found", dashboardFile, len(exprs))
	}
	m := New(idle)
	if bad := unknownMetrics(m, exprs); len(bad) > 0 {
		t.Errorf("the dashboard queries metrics the server does not serve: %v", bad)
	}
	// The check itself catches a wrong name.
	if bad := unknownMetrics(m, []string{`rate(netready_grpc_handled_total[5m]) / netready_sets_total`}); !slices.Equal(bad, []string{"netready_sets_total"}) {
		t.Errorf("a misspelt metric was reported as %v", bad)
	}
}
