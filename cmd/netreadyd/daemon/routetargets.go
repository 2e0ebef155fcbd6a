package daemon

import (
	"fmt"
	"strings"

	"github.com/netready/netready/server/rules"
)

// maxListed is how many route-target violations a refused start names.
const maxListed = 10

// checkRouteTargets looks at the loaded configuration for VPNs using route
// targets their tenant neither owns nor was granted. Validation keeps
// committed data free of them, but the datastore does not validate what it
// loads: a store written before route-target ownership existed, or
// restored by hand, may hold some, and realizing it would join other
// tenants' VRFs. Such a store is refused, naming the VPNs, before anything
// is realized; with AllowRouteTargetViolations it is served (each
// violation logged as an error) so an administrator can allocate or
// remove the route targets over gNMI.
func (d *Daemon) checkRouteTargets() error {
	bad := rules.RouteTargetViolations(d.ds.Snapshot().Root)
	if len(bad) == 0 {
		return nil
	}
	if d.cfg.AllowRouteTargetViolations {
		for _, b := range bad {
			d.log.Error("VPN uses a route target its tenant does not own; allocate it under /route-targets or remove it", "violation", b)
		}
		return nil
	}
	listed := bad
	if len(listed) > maxListed {
		listed = listed[:maxListed]
	}
	more := ""
	if n := len(bad) - len(listed); n > 0 {
		more = fmt.Sprintf("; and %d more", n)
	}
	return fmt.Errorf("route targets: %d VPN(s) in the store use route targets their tenant neither owns nor was granted: %s%s; "+
		"start once with --allow-route-target-violations and allocate them under /route-targets (or remove them) as an administrator",
		len(bad), strings.Join(listed, "; "), more)
}
