package telemetry

import (
	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/datastore"
)

// History is a past the subscription is answered from (the gNMI History
// extension, see package history): the data as it was at the snapshot
// time or the start of a range, and for a range the commits made in it.
type History struct {
	Snapshot *datastore.Snapshot
	Events   []datastore.Event
}

// history answers from the past: the data as it was (unless updates
// only), the sync response, then, for a range, one notification per
// commit in commit order; then the RPC ends. Every subscription of the
// list is fed the replayed commits, whatever its stream mode: a range
// request asks for all updates of the interval.
func (s *stream) history() error {
	h := s.req.History
	if err := s.sendDump(h.Snapshot); err != nil {
		return err
	}
	if err := s.ss.Send(syncResponse); err != nil {
		return err
	}
	s.live = s.live[:0]
	for i := range s.req.Subs {
		s.live = append(s.live, &s.req.Subs[i])
	}
	for _, ev := range h.Events {
		n := s.notification(ev, changesOf(ev.Changes))
		if n == nil {
			continue
		}
		if err := s.ss.Send(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: n}}); err != nil {
			return err
		}
	}
	return nil
}
