// Package authz decides what a user may read, write and subscribe to.
//
// A Policy is a set of named roles (netready-access.yang, published
// read-only at /access). Each role is a list of rules; a rule permits or
// denies some operations (read, write, subscribe) on the subtrees that a
// gNMI path pattern selects. A Subject (an authenticated user) holds
// roles and owns tenants; the placeholder {tenant} in a rule's key value
// matches the subject's tenants, so one tenant-admin role serves every
// tenant.
//
// Decide answers for the subtree at a data path: Permit when all of it is
// allowed, Deny when none of it is, Partial when only some descendants
// are (the caller then descends, e.g. a Get of / by a tenant
// administrator). The rules of all the subject's roles are pooled: a node
// is allowed when some rule permits it and no rule denies it. A deny
// therefore overrides a permit for the same subtree or one inside it,
// whatever the sequence numbers (they only order the rules for readers)
// and whichever of the subject's roles it comes from. The built-in roles
// use no deny rules, so combining them only ever adds rights.
//
// Writes of the provider attributes of L2 networks (ProviderPath) are
// also governed by the provider-network entry (ProviderNetworkAllowed):
// "admin or owner" by default, and grantable to any role, such as a VNF
// manager role, without making it an administrator.
//
// A Policy is immutable and safe for concurrent use.
package authz

import (
	"strconv"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// Op is an operation a rule applies to.
type Op uint8

const (
	Read      Op = iota // Get
	Write               // Set: update, replace, delete
	Subscribe           // Subscribe, any mode
	numOps
)

var opNames = [numOps]string{"read", "write", "subscribe"}

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Decision is the answer of Decide for the subtree at a path.
type Decision uint8

const (
	// Deny: nothing at or below the path is allowed.
	Deny Decision = iota
	// Permit: everything at and below the path is allowed.
	Permit
	// Partial: some nodes below the path may be allowed and others not;
	// the caller decides for each descendant. Partial is conservative: it
	// may be returned when a closer look would give Permit or Deny (e.g.
	// when permitted nodes below are all denied again further down), and
	// for a leaf it means Deny, since a leaf has nothing below it.
	Partial
)

func (d Decision) String() string {
	switch d {
	case Deny:
		return "deny"
	case Permit:
		return "permit"
	case Partial:
		return "partial"
	}
	return "decision(?)"
}

// Subject is who asks: an authenticated user, its roles and the tenants
// it owns. Role names the policy does not define are ignored.
type Subject struct {
	User    string
	Roles   []string
	Tenants []string
}

// AdminRole is the administrator role: in the provider-network entry
// ("admin or owner") it may set provider attributes in every tenant,
// whatever the entry lists. Its data access is what its rules say
// (everything, in the default policy).
const AdminRole = "admin"

// Decide says whether subject s may perform op on the subtree at the data
// path (concrete key values in canonical form, unqualified names; a list
// element without a key stands for every entry). A nil policy or subject,
// or an unknown op, gets Deny.
//
// Decide does not allocate; its cost grows with the number of the
// subject's rules.
func (p *Policy) Decide(s *Subject, op Op, path []*gpb.PathElem) Decision {
	if p == nil || s == nil || op >= numOps {
		return Deny
	}
	m := matcher{s: s}
	permit, deny := relNone, relNone
	for _, name := range s.Roles {
		r := p.lookup(name)
		if r == nil {
			continue
		}
		switch r.provider {
		case providerAll:
			m.providerAll = true
		case providerOwn:
			m.providerOwn = true
		}
		for _, ru := range r.byOp[op] {
			if ru.pat.tenant && len(s.Tenants) == 0 {
				continue // {tenant} matches nothing
			}
			if ru.deny {
				x := m.relate(ru.pat.elems, path)
				if x == relCover {
					return Deny
				}
				if x > deny {
					deny = x
				}
				continue
			}
			if permit == relCover {
				continue
			}
			if x := m.relate(ru.pat.elems, path); x > permit {
				permit = x
			}
		}
	}
	if permit == relNone {
		return Deny
	}
	if op == Write && !m.providerAll {
		// The provider attributes in the tenants where s may not set
		// them act as a deny rule.
		if x := m.relate(p.gate.elems, path); x == relCover {
			return Deny
		} else if x > deny {
			deny = x
		}
	}
	if permit == relCover && deny == relNone {
		return Permit
	}
	return Partial
}

// ProviderNetworkAllowed says whether subject s may create or change the
// provider attributes of L2 networks in tenant ("admin or owner" by
// default): always with the admin role; otherwise with a role the
// provider-network entry lists, in any tenant if the role's rules do not
// use {tenant}, else only in the subject's own tenants. Decide applies
// this to writes below ProviderPath, in addition to the rules.
func (p *Policy) ProviderNetworkAllowed(s *Subject, tenant string) bool {
	if p == nil || s == nil {
		return false
	}
	return p.providerAllowed(s, tenant)
}

func (p *Policy) providerAllowed(s *Subject, tenant string) bool {
	for _, name := range s.Roles {
		if r := p.lookup(name); r != nil {
			switch r.provider {
			case providerAll:
				return true
			case providerOwn:
				if contains(s.Tenants, tenant) {
					return true
				}
			}
		}
	}
	return false
}

// lookup finds a role by name: a linear scan is faster than a map for the
// few roles of a usual policy.
func (p *Policy) lookup(name string) *role {
	if len(p.order) > 16 {
		return p.roles[name]
	}
	for _, r := range p.order {
		if r.name == name {
			return r
		}
	}
	return nil
}
