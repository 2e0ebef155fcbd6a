package gnmiwire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/google/go-cmp/cmp"
)

// gen builds varied Subscribe responses from a source of numbers: every
// field the package writes, with zero and non-zero values, empty and nil
// messages, several keys per element, long bodies (lengths of two and
// three bytes), and now and then something it leaves to proto.Marshal.
type gen struct{ next func(n int) int }

func (g gen) pick(n int) int { return g.next(n) }

func (g gen) str() string {
	words := []string{"", "a", "port", "p1000", "tenant", "x]y", "é", "日本", "\x00", strings.Repeat("z", 130), strings.Repeat("long", 1000)}
	return words[g.pick(len(words))]
}

func (g gen) bytes() []byte {
	switch g.pick(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	return []byte(g.str())
}

func (g gen) path() *gpb.Path {
	p := &gpb.Path{}
	if g.pick(4) == 0 {
		p.Origin = g.str()
	}
	if g.pick(4) == 0 {
		p.Target = g.str()
	}
	if g.pick(8) == 0 {
		for i := g.pick(3); i > 0; i-- {
			p.Element = append(p.Element, g.str())
		}
	}
	for i := g.pick(6); i > 0; i-- {
		e := &gpb.PathElem{Name: g.str()}
		if n := g.pick(4); n > 0 {
			e.Key = map[string]string{}
			for j := 0; j < n; j++ {
				e.Key[g.str()] = g.str()
			}
		}
		p.Elem = append(p.Elem, e)
	}
	return p
}

func (g gen) scalar() *gpb.TypedValue {
	switch g.pick(16) {
	case 0:
		return &gpb.TypedValue{}
	case 1:
		return &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: g.str()}}
	case 2:
		return &gpb.TypedValue{Value: &gpb.TypedValue_IntVal{IntVal: []int64{0, -1, 1, math.MinInt64, math.MaxInt64, 300}[g.pick(6)]}}
	case 3:
		return &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: []uint64{0, 1, 127, 128, 9000, math.MaxUint64}[g.pick(6)]}}
	case 4:
		return &gpb.TypedValue{Value: &gpb.TypedValue_BoolVal{BoolVal: g.pick(2) == 0}}
	case 5:
		return &gpb.TypedValue{Value: &gpb.TypedValue_BytesVal{BytesVal: g.bytes()}}
	case 6:
		return &gpb.TypedValue{Value: &gpb.TypedValue_FloatVal{FloatVal: []float32{0, -1.5, float32(math.Inf(1))}[g.pick(3)]}}
	case 7:
		return &gpb.TypedValue{Value: &gpb.TypedValue_DoubleVal{DoubleVal: []float64{0, 2.5, math.NaN(), math.Copysign(0, -1)}[g.pick(4)]}}
	case 8:
		return &gpb.TypedValue{Value: &gpb.TypedValue_DecimalVal{DecimalVal: &gpb.Decimal64{Digits: int64(g.pick(3)) - 1, Precision: uint32(g.pick(3))}}}
	case 9:
		return &gpb.TypedValue{Value: &gpb.TypedValue_JsonVal{JsonVal: g.bytes()}}
	case 10:
		return &gpb.TypedValue{Value: &gpb.TypedValue_AsciiVal{AsciiVal: g.str()}}
	case 11:
		return &gpb.TypedValue{Value: &gpb.TypedValue_ProtoBytes{ProtoBytes: g.bytes()}}
	}
	return &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: g.bytes()}}
}

func (g gen) value() *gpb.TypedValue {
	if g.pick(8) > 0 {
		return g.scalar()
	}
	a := &gpb.ScalarArray{}
	for i := g.pick(4); i > 0; i-- {
		a.Element = append(a.Element, g.scalar())
	}
	return &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: a}}
}

func (g gen) notification() *gpb.Notification {
	n := &gpb.Notification{Timestamp: []int64{0, 1, -5, 1_700_000_000_000_000_000}[g.pick(4)], Atomic: g.pick(4) == 0}
	if g.pick(2) == 0 {
		n.Prefix = g.path()
	}
	for i := g.pick(1 + 20*g.pick(2)); i > 0; i-- {
		u := &gpb.Update{Duplicates: []uint32{0, 1, 200, 70000}[g.pick(4)]}
		if g.pick(8) > 0 {
			u.Path = g.path()
		}
		if g.pick(8) > 0 {
			u.Val = g.value()
		}
		n.Update = append(n.Update, u)
	}
	for i := g.pick(3); i > 0; i-- {
		n.Delete = append(n.Delete, g.path())
	}
	return n
}

func (g gen) response() *gpb.SubscribeResponse {
	switch g.pick(10) {
	case 0:
		return &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_SyncResponse{SyncResponse: g.pick(2) == 0}}
	case 1:
		return &gpb.SubscribeResponse{}
	}
	return &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: g.notification()}}
}

// checkSame fails unless r (everything the generator makes is valid and
// within what the package writes) is written by hand as deterministic
// protobuf writes it, and Size tells its length.
func checkSame(t *testing.T, r *gpb.SubscribeResponse) {
	t.Helper()
	if Size(r) < 0 {
		t.Fatalf("not written by hand: %v", r)
	}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		t.Fatalf("protobuf refuses it (%v): %v", err, r)
	}
	got := AppendResponse([]byte("prefix"), r)
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[6:], want) {
		t.Fatalf("bytes differ from proto.Marshal for %v:\n got %x\nwant %x", r, got[6:], want)
	}
	if Size(r) != len(want) {
		t.Fatalf("Size = %d, written %d", Size(r), len(want))
	}
}

func TestMatchesProtoMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := gen{next: rng.IntN}
	for i := 0; i < 2000; i++ {
		checkSame(t, g.response())
	}
}

// TestLongLengths: bodies whose lengths take two and three bytes move
// when their length is written, at every level.
func TestLongLengths(t *testing.T) {
	for _, n := range []int{126, 127, 128, 129, 16383, 16384, 70000} {
		big := strings.Repeat("v", n)
		checkSame(t, &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: &gpb.Notification{
			Prefix: &gpb.Path{Target: big},
			Update: []*gpb.Update{{
				Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "a", Key: map[string]string{"k": big}}}},
				Val:  &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(big)}},
			}},
		}}})
	}
}

// TestLeftToProto: what the package does not write by hand is left whole
// to protobuf, which the codec then uses.
func TestLeftToProto(t *testing.T) {
	withUnknown := &gpb.Path{Target: "t"}
	withUnknown.ProtoReflect().SetUnknown([]byte{0x78, 0x01}) // field 15, varint 1
	anyVal, err := anypb.New(&gpb.Path{Target: "t"})
	if err != nil {
		t.Fatal(err)
	}
	notif := func(n *gpb.Notification) *gpb.SubscribeResponse {
		return &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: n}}
	}
	for name, r := range map[string]*gpb.SubscribeResponse{
		"any value":        notif(&gpb.Notification{Update: []*gpb.Update{{Val: &gpb.TypedValue{Value: &gpb.TypedValue_AnyVal{AnyVal: anyVal}}}}}),
		"unknown fields":   notif(&gpb.Notification{Prefix: withUnknown}),
		"extension":        {Response: &gpb.SubscribeResponse_SyncResponse{SyncResponse: true}, Extension: []*gnmi_ext.Extension{{}}},
		"deprecated value": notif(&gpb.Notification{Update: []*gpb.Update{{Value: &gpb.Value{Value: []byte("1")}}}}),
		"nil update":       notif(&gpb.Notification{Update: []*gpb.Update{nil}}),
		"nil delete":       notif(&gpb.Notification{Delete: []*gpb.Path{nil}}),
		"nil element":      notif(&gpb.Notification{Prefix: &gpb.Path{Elem: []*gpb.PathElem{nil}}}),
		"nil notification": {Response: &gpb.SubscribeResponse_Update{}},
		"bad UTF-8 key":    notif(&gpb.Notification{Prefix: &gpb.Path{Elem: []*gpb.PathElem{{Name: "a", Key: map[string]string{"k": "\xff"}}}}}),
		"bad UTF-8 name":   notif(&gpb.Notification{Delete: []*gpb.Path{{Elem: []*gpb.PathElem{{Name: "\xff"}}}}}),
		"nil leaf-list":    notif(&gpb.Notification{Update: []*gpb.Update{{Val: &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{}}}}}),
	} {
		if Size(r) >= 0 {
			t.Errorf("%s: written by hand", name)
		}
		data, err := Codec().Marshal(r)
		if name == "bad UTF-8 key" || name == "bad UTF-8 name" {
			if err == nil {
				t.Errorf("%s: the codec wrote what protobuf refuses", name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		back := &gpb.SubscribeResponse{}
		if err := proto.Unmarshal(data.Materialize(), back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(r, back, protocmp.Transform()); diff != "" {
			t.Errorf("%s: read back differs (-sent +read):\n%s", name, diff)
		}
	}
}

// TestCodecWritesByHand: the codec's bytes for a notification are the
// hand-written ones, pooled or not, and read back as what was sent.
func TestCodecWritesByHand(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := gen{next: rng.IntN}
	sizes := map[bool]int{}
	for i := 0; i < 500; i++ {
		r := g.response()
		if Size(r) < 0 {
			continue
		}
		data, err := Codec().Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got := data.Materialize()
		data.Free()
		if want := AppendResponse(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("codec wrote %x, want %x", got, want)
		}
		back := &gpb.SubscribeResponse{}
		if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(got)}, back); err != nil {
			t.Fatal(err)
		}
		// Compared as bytes again: a NaN value is not equal to itself.
		if again := AppendResponse(nil, back); !bytes.Equal(again, got) {
			t.Fatalf("read back as %v, sent %v", back, r)
		}
		sizes[len(got) >= 1024]++
	}
	if sizes[true] == 0 || sizes[false] == 0 {
		t.Fatalf("sizes on both sides of the pooling threshold not covered: %v", sizes)
	}
}

// FuzzMatchesProtoMarshal drives the generator from the fuzzer's bytes.
func FuzzMatchesProtoMarshal(f *testing.F) {
	f.Add([]byte{2, 0, 1, 7, 3, 3, 1, 200, 9, 4, 5})
	f.Add([]byte("a notification of a few updates, paths and values"))
	f.Fuzz(func(t *testing.T, data []byte) {
		i := 0
		g := gen{next: func(n int) int {
			if i >= len(data) {
				return 0
			}
			i++
			return int(data[i-1]) % n
		}}
		checkSame(t, g.response())
	})
}
