package tree

import (
	"fmt"
	"unicode/utf8"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// MaxText is the most bytes of a path or of a message that an error or an
// audit record quotes. A request may carry megabytes in one key or value;
// an error quoting it whole would be sent back, logged and audited at that
// size (an 8 MiB key became 16 MiB of audit log per refused Set).
const MaxText = 1024

// Clip returns s when it is at most max bytes long; otherwise its
// beginning and its end around a marker saying how much was cut
// ("…(8388096 bytes cut)…"). The end is kept because messages put the
// reason after the value they quote. Cuts fall on UTF-8 boundaries, and
// the result never shares memory with s, so it does not keep a large
// request alive.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head, tail := max*2/3, len(s)-(max-max*2/3)
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + fmt.Sprintf("…(%d bytes cut)…", tail-head) + s[tail:]
}

// ElemsText is ElemsString clipped to MaxText, for messages.
func ElemsText(elems []*gpb.PathElem) string { return Clip(ElemsString(elems), MaxText) }
