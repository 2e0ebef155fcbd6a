package realize

import "testing"

// TestLabelPathEscapesKeys: the path a label refusal names parses back to
// the objects whatever their names hold (a "]" in an interface name
// ended the key early before).
func TestLabelPathEscapesKeys(t *testing.T) {
	for key, want := range map[string]string{
		"vrf acme/data":        "/tenants/tenant[name=acme]/vpns/vpn[name=data]",
		"port acme/data/x]y=z": `/tenants/tenant[name=acme]/vpns/vpn[name=data]/bindings/binding[interface=x\]y=z]`,
		"vrf":                  "/tenants",
	} {
		if got := labelPath(key); got != want {
			t.Errorf("labelPath(%q) = %s, want %s", key, got, want)
		}
	}
}

func TestBackendPathEscapesKey(t *testing.T) {
	for name, want := range map[string]string{
		"dc1":     "/backends/backend[name=dc1]",
		"a]b\\/c": `/backends/backend[name=a\]b\\/c]`,
	} {
		if got := backendPath(name); got != want {
			t.Errorf("backendPath(%q) = %s, want %s", name, got, want)
		}
	}
}
