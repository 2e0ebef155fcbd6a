package gnmiwire

import (
	"fmt"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/encoding"
)

// bulkPush is the notification a 1,000-port mtu Set pushes to a stream
// subscribed to the ports (BenchmarkOnChangeOneStream's).
func bulkPush() *gpb.SubscribeResponse {
	n := &gpb.Notification{Timestamp: 1_700_000_000_000_000_000}
	for i := 0; i < 1000; i++ {
		n.Update = append(n.Update, &gpb.Update{
			Path: &gpb.Path{Elem: []*gpb.PathElem{
				{Name: "tenants"}, {Name: "tenant", Key: map[string]string{"name": "load0"}},
				{Name: "ports"}, {Name: "port", Key: map[string]string{"name": fmt.Sprintf("p%d", i)}}, {Name: "mtu"},
			}},
			Val: &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte("2001")}},
		})
	}
	return &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: n}}
}

// BenchmarkMarshalBulkPush: gRPC's protobuf codec against this package's,
// for one bulk push (ns/op and allocations per 1,000 updates).
func BenchmarkMarshalBulkPush(b *testing.B) {
	r := bulkPush()
	for _, c := range []struct {
		name  string
		codec encoding.CodecV2
	}{{"proto", Codec().(codec).base}, {"gnmiwire", Codec()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				data, err := c.codec.Marshal(r)
				if err != nil {
					b.Fatal(err)
				}
				data.Free()
			}
		})
	}
}
