package tree

import (
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
)

func TestClip(t *testing.T) {
	if got := Clip("short", 10); got != "short" {
		t.Fatalf("Clip(short) = %q", got)
	}
	long := strings.Repeat("é", 1<<20) + " is not a valid name"
	got := Clip(long, 100)
	if len(got) > 100+len("…(2097152 bytes cut)…") || !utf8.ValidString(got) {
		t.Fatalf("Clip gave %d bytes (valid UTF-8: %v): %q", len(got), utf8.ValidString(got), got)
	}
	if !strings.HasPrefix(got, "éé") || !strings.HasSuffix(got, "is not a valid name") || !strings.Contains(got, "bytes cut)…") {
		t.Fatalf("Clip lost the beginning, the end or the marker: %q", got)
	}
}

// TestErrorQuotesBoundedText: an error about an 8 MiB key quotes a bounded
// part of it, with a marker.
func TestErrorQuotesBoundedText(t *testing.T) {
	key := strings.Repeat("k", 8<<20)
	e := &Error{Code: codes.InvalidArgument, Path: "/hosts/host[name=" + key + "]", Msg: `key name: "` + key + `" does not match the pattern`}
	msg := e.Error()
	if len(msg) > 3*MaxText || !strings.Contains(msg, "bytes cut)") || !strings.HasSuffix(msg, "does not match the pattern") {
		t.Fatalf("error message of %d bytes: %.300q", len(msg), msg)
	}
}
