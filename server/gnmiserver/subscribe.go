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
		req.Visible = s.access.Readable(ss.Context(), true)
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
	if err := s.checkModels(list.GetUseModels()); err != nil {
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
	}
	if hasWildcard(prefix.GetElem()) {
		req.Prefix = &gpb.Path{Origin: prefix.GetOrigin(), Target: prefix.GetTarget()}
		req.Strip = 0
	}
	for _, sub := range list.GetSubscription() {
		elems, err := fullElems("subscribe", prefix, sub.GetPath())
		if err != nil {
			return nil, err
		}
		if err := tree.CheckPattern(s.ds.Schema().Root, elems); err != nil {
			return nil, grpcError("subscribe", err)
		}
		// The mode of each subscription only matters for STREAM, but a
		// value outside the enumeration is a malformed request anywhere.
		mode := sub.GetMode()
		if _, ok := gpb.SubscriptionMode_name[int32(mode)]; !ok {
			return nil, status.Errorf(codes.InvalidArgument, "subscribe: %s: unknown subscription mode %d", tree.ElemsString(elems), mode)
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
