package gnmiserver

import (
	"context"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/telemetry"
	"github.com/netready/netready/server/tree"
)

// history answers the History extension of a subscription (gnmi-history.md
// 2.2) as the reference has it: a snapshot only for ONCE, a range only for
// STREAM (else InvalidArgument), a start after the end InvalidArgument,
// and a time not yet elapsed Unimplemented (the server does not wait).
// A time older than the commit log retains is OutOfRange: the reference
// names no code for it, and OutOfRange is gRPC's for a request past the
// valid range. Past data is configuration only: the server keeps no
// history of state.
func (s *Server) history(ctx context.Context, h *gnmi_ext.History, req *telemetry.Request) error {
	if s.hist == nil {
		return status.Error(codes.Unimplemented, "subscribe: history is not served")
	}
	now := time.Now()
	var past *telemetry.History
	switch r := h.GetRequest().(type) {
	case *gnmi_ext.History_SnapshotTime:
		if req.Mode != gpb.SubscriptionList_ONCE {
			return status.Errorf(codes.InvalidArgument, "subscribe: a history snapshot needs mode ONCE, not %s", req.Mode)
		}
		at := time.Unix(0, r.SnapshotTime)
		if at.After(now) {
			return status.Errorf(codes.Unimplemented, "subscribe: history snapshot time %s is in the future", at.UTC().Format(time.RFC3339Nano))
		}
		snap, err := s.hist.At(ctx, at)
		if err != nil {
			return grpcError("subscribe", err)
		}
		past = &telemetry.History{Snapshot: snap}
	case *gnmi_ext.History_Range:
		if req.Mode != gpb.SubscriptionList_STREAM {
			return status.Errorf(codes.InvalidArgument, "subscribe: a history range needs mode STREAM, not %s", req.Mode)
		}
		start, end := r.Range.GetStart(), r.Range.GetEnd()
		if start > end {
			return status.Errorf(codes.InvalidArgument, "subscribe: history range starts (%d) after it ends (%d)", start, end)
		}
		if end > now.UnixNano() {
			return status.Errorf(codes.Unimplemented, "subscribe: history range [%d, %d) has not elapsed yet", start, end)
		}
		snap, events, err := s.hist.Range(ctx, time.Unix(0, start), time.Unix(0, end))
		if err != nil {
			return grpcError("subscribe", err)
		}
		past = &telemetry.History{Snapshot: snap, Events: events}
	default:
		return status.Error(codes.InvalidArgument, "subscribe: the history extension has neither snapshot_time nor range")
	}
	req.History, req.Filter = past, tree.Config
	return nil
}
