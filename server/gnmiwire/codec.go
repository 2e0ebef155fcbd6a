package gnmiwire

import (
	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// Codec is gRPC's protobuf codec with the Subscribe responses the package
// writes by hand (grpc.ForceServerCodecV2): every other message, and
// everything received, goes through the codec it wraps.
func Codec() encoding.CodecV2 { return codec{base: encoding.GetCodecV2(proto.Name)} }

type codec struct{ base encoding.CodecV2 }

// Marshal writes a Subscribe response by hand into a pooled buffer when
// it is large, as gRPC's own codec does (a bulk Set's notification is
// 10s of KB, sent once and dropped).
func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(*gpb.SubscribeResponse)
	if !ok {
		return c.base.Marshal(v)
	}
	size := Size(r)
	if size < 0 {
		return c.base.Marshal(v)
	}
	if mem.IsBelowBufferPoolingThreshold(size) {
		return mem.BufferSlice{mem.SliceBuffer(AppendResponse(make([]byte, 0, size), r))}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	*buf = AppendResponse((*buf)[:0], r)
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error { return c.base.Unmarshal(data, v) }

// Name is the protobuf codec's: the codec writes the same wire format.
func (c codec) Name() string { return proto.Name }
