package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/netready/netready/server/store"
)

// State is what a scrape reads from the daemon rather than counts.
type State struct {
	// Serving is what the gRPC health service answers: the data stack is
	// open (and, for a follower, caught up).
	Serving bool
	// Open says the data stack is open: QueueDepths and Sizes are valid.
	Open bool
	// QueueDepths has, per STREAM subscription, what waits to be sent.
	QueueDepths []int
	// Sizes are the store's; SizesErr is why they could not be read.
	Sizes    store.Sizes
	SizesErr error
}

// queueBuckets are the upper bounds of the subscriber queue-depth
// histogram: up to the hub's 256 queued responses, then backlog paths.
var queueBuckets = []float64{0, 1, 4, 16, 64, 256, 4096, 65536}

var (
	descServing = prometheus.NewDesc("netready_serving",
		"1 while the health service reports SERVING (the data stack is open), 0 while closed, reloading or stopping.", nil, nil)
	descStreams = prometheus.NewDesc("netready_subscribe_streams",
		"Subscribe STREAM subscriptions open.", nil, nil)
	descQueue = prometheus.NewDesc("netready_subscribe_queue_depth",
		"Responses (and merged backlog paths) waiting to be sent, one observation per STREAM subscription at scrape time.", nil, nil)
	descCommitLog = prometheus.NewDesc("netready_commit_log_records",
		"Commit-log records retained in the store (bounded by --commit-log-retention).", nil, nil)
	descAudit = prometheus.NewDesc("netready_audit_log_entries",
		"Audit-log entries retained in the store (bounded by --audit-retention).", nil, nil)
	descFile = prometheus.NewDesc("netready_store_file_bytes",
		"Size of the store's data file.", nil, nil)
)

// stateCollector turns State into metrics at scrape time. The descriptions
// are fixed constants: stateCollector holds nothing but the function.
type stateCollector struct{ state func() State }

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descServing, descStreams, descQueue, descCommitLog, descAudit, descFile} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.state()
	serving := 0.0
	if s.Serving {
		serving = 1
	}
	ch <- prometheus.MustNewConstMetric(descServing, prometheus.GaugeValue, serving)
	if !s.Open {
		return
	}
	ch <- prometheus.MustNewConstMetric(descStreams, prometheus.GaugeValue, float64(len(s.QueueDepths)))
	ch <- queueHistogram(s.QueueDepths)
	if s.SizesErr != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descCommitLog, prometheus.GaugeValue, float64(s.Sizes.CommitLog))
	ch <- prometheus.MustNewConstMetric(descAudit, prometheus.GaugeValue, float64(s.Sizes.Audit))
	ch <- prometheus.MustNewConstMetric(descFile, prometheus.GaugeValue, float64(s.Sizes.FileBytes))
}

// queueHistogram is the distribution of the queue depths (cumulative
// bucket counts, as Prometheus histograms are).
func queueHistogram(depths []int) prometheus.Metric {
	buckets := make(map[float64]uint64, len(queueBuckets))
	sum := 0.0
	for _, d := range depths {
		sum += float64(d)
		for _, b := range queueBuckets {
			if float64(d) <= b {
				buckets[b]++
			}
		}
	}
	return prometheus.MustNewConstHistogram(descQueue, uint64(len(depths)), sum, buckets)
}
