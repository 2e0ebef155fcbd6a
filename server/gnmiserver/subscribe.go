package gnmiserver

import (
	"errors"
	"io"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/telemetry"
	"github.com/netready/netready/server/tree"
)

// Subscribe checks the request the way Get does (paths against the
// schema, encodings, models) and hands the subscription to the telemetry
// hub, which delivers it.
func (s *Server) Subscribe(ss gpb.GNMI_SubscribeServer) error {
	first, err := ss.Recv()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	list := first.GetSubscribe()
	if list == nil {
		return status.Error(codes.InvalidArgument, "subscribe: the first message must be a SubscriptionList")
	}
	req, err := s.subscription(list)
	if err != nil {
		return err
	}
	if s.access != nil {
		release, err := s.access.OpenStream(ss.Context())
		if err != nil {
			return err
		}
		defer release()
		req.Visible = bothVisible(s.access.Readable(ss.Context(), true), req.Visible)
	}
	// After the stream limit: rebuilding history is work a client over
	// its limit must not cause.
	if err := s.subscribeExtensions(ss.Context(), first.GetExtension(), req); err != nil {
		return err
	}
	return s.hub.Serve(ss, req)
}

func (s *Server) subscription(list *gpb.SubscriptionList) (*telemetry.Request, error) {
	enc := list.GetEncoding()
	if enc != gpb.Encoding_JSON && enc != gpb.Encoding_JSON_IETF && enc != gpb.Encoding_PROTO {
		return nil, status.Errorf(codes.Unimplemented, "subscribe: encoding %s is not supported (JSON, JSON_IETF, PROTO are)", enc)
	}
	models, err := modelView("subscribe", s.ds.Schema(), list.GetUseModels())
	if err != nil {
		return nil, err
	}
	if _, ok := gpb.SubscriptionList_Mode_name[int32(list.GetMode())]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "subscribe: unknown subscription list mode %d (STREAM, ONCE, POLL)", list.GetMode())
	}
	if len(list.GetSubscription()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "subscribe: the SubscriptionList has no subscription")
	}
	prefix := list.GetPrefix()
	paths := make([]*gpb.Path, len(list.GetSubscription()))
	for i, sub := range list.GetSubscription() {
		paths[i] = sub.GetPath()
	}
	if err := checkSizes("subscribe", prefix, paths); err != nil {
		return nil, err
	}
	req := &telemetry.Request{
		Mode: list.GetMode(), Encoding: enc, Prefix: prefix,
		Strip: len(prefix.GetElem()), UpdatesOnly: list.GetUpdatesOnly(),
		Visible: models,
	}
	if hasWildcard(prefix.GetElem()) {
		req.Prefix = &gpb.Path{Origin: prefix.GetOrigin(), Target: prefix.GetTarget()}
		req.Strip = 0
	}
	for _, sub := range list.GetSubscription() {
		elems, err := readElems("subscribe", s.ds.Schema().Root, prefix, sub.GetPath())
		if err != nil {
			return nil, err
		}
		if err := checkMode(list.GetMode(), sub, elems); err != nil {
			return nil, err
		}
		// The mode of each subscription only matters for STREAM, but a
		// value outside the enumeration is a malformed request anywhere.
		mode := sub.GetMode()
		if _, ok := gpb.SubscriptionMode_name[int32(mode)]; !ok {
			return nil, status.Errorf(codes.InvalidArgument, "subscribe: %s: unknown subscription mode %d", tree.ElemsText(elems), mode)
		}
		req.Subs = append(req.Subs, telemetry.Sub{
			Pattern:   elems,
			Mode:      mode,
			Sample:    time.Duration(sub.GetSampleInterval()),
			Heartbeat: time.Duration(sub.GetHeartbeatInterval()),
			Suppress:  sub.GetSuppressRedundant(),
		})
	}
	return req, nil
}

// checkMode refuses a subscription mode the list's mode does not take, and
// a sample_interval under TARGET_DEFINED: the target decides, and NetReady
// decides ON_CHANGE for every leaf (docs/telemetry.md), so it would never
// sample at the interval asked. Like a SAMPLE interval the target cannot
// support (gNMI 3.5.1.5.2), that is refused rather than ignored.
func checkMode(listMode gpb.SubscriptionList_Mode, sub *gpb.Subscription, elems []*gpb.PathElem) error {
	if listMode != gpb.SubscriptionList_STREAM {
		return nil
	}
	switch sub.GetMode() {
	case gpb.SubscriptionMode_ON_CHANGE, gpb.SubscriptionMode_SAMPLE:
		return nil
	case gpb.SubscriptionMode_TARGET_DEFINED:
		if sub.GetSampleInterval() != 0 {
			return status.Errorf(codes.InvalidArgument, "subscribe: %s: TARGET_DEFINED takes no sample_interval (every leaf is ON_CHANGE here); use SAMPLE to sample", tree.ElemsString(elems))
		}
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "subscribe: %s: unknown subscription mode %v", tree.ElemsString(elems), sub.GetMode())
}
