package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Top is the only member of a policy document (JSON_IETF, RFC 7951).
const Top = "netready-access:access"

// Policy is a compiled authorization policy. Build one with ParsePolicy,
// LoadPolicy or DefaultPolicy; it is immutable and safe for concurrent
// use.
type Policy struct {
	roles    map[string]*role
	order    []*role  // as defined
	provider []string // the provider-network entry in force
	users    []User   // sorted by name
	gate     pattern  // ProviderPath, keyed by the tenants a subject may not set provider attributes in
}

// providerScope is where a role may set provider attributes.
type providerScope uint8

const (
	providerNone providerScope = iota
	providerOwn                // in the subject's tenants
	providerAll                // in every tenant
)

type role struct {
	name        string
	description string
	rules       []*rule // by sequence
	byOp        [numOps][]*rule
	scoped      bool // some rule uses {tenant}
	provider    providerScope
}

type rule struct {
	sequence uint32
	ops      []Op
	deny     bool
	pat      pattern
}

// User is a user as published at /access/user (from the users file).
type User struct {
	Name    string
	Roles   []string
	Tenants []string
}

// The JSON_IETF shape of netready-access.yang.
type (
	document struct {
		Access *accessJSON `json:"netready-access:access"`
	}
	accessJSON struct {
		Role            []roleJSON    `json:"role,omitempty"`
		ProviderNetwork *providerJSON `json:"provider-network,omitempty"`
		User            []userJSON    `json:"user,omitempty"`
	}
	roleJSON struct {
		Name        string     `json:"name"`
		Description string     `json:"description,omitempty"`
		Rule        []ruleJSON `json:"rule,omitempty"`
	}
	ruleJSON struct {
		Sequence  *uint32  `json:"sequence"`
		Path      string   `json:"path"`
		Operation []string `json:"operation"`
		Action    string   `json:"action"`
	}
	providerJSON struct {
		Role []string `json:"role,omitempty"`
	}
	userJSON struct {
		Name   string   `json:"name"`
		Role   []string `json:"role,omitempty"`
		Tenant []string `json:"tenant,omitempty"`
	}
)

// defaultProviderRoles is the default of /access/provider-network/role:
// "admin or owner".
var defaultProviderRoles = []string{AdminRole, "tenant-admin"}

// nrtName is the nrt:name typedef of netready-types.yang.
var nrtName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func validNrtName(s string) bool { return len(s) <= 64 && nrtName.MatchString(s) }

// LoadPolicy reads and compiles a policy file (see ParsePolicy).
func LoadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy compiles a policy document: a JSON_IETF object whose only
// member is "netready-access:access", shaped as netready-access.yang
// says. Unknown members, bad names, bad path patterns, duplicate roles or
// sequence numbers, and roles that the provider-network entry or a user
// names but no role defines are errors that name the role, rule or user.
// When provider-network lists no role, its default (admin and
// tenant-admin, those of them the policy defines) applies.
func ParsePolicy(b []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var doc document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("policy: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("policy: data after the document")
	}
	if doc.Access == nil {
		return nil, fmt.Errorf("policy: no %q member", Top)
	}
	return compile(doc.Access)
}

func compile(a *accessJSON) (*Policy, error) {
	p := &Policy{roles: map[string]*role{}}
	for i := range a.Role {
		rj := &a.Role[i]
		if !validNrtName(rj.Name) {
			return nil, fmt.Errorf("policy: role %q: bad name", rj.Name)
		}
		if p.roles[rj.Name] != nil {
			return nil, fmt.Errorf("policy: role %q defined twice", rj.Name)
		}
		r := &role{name: rj.Name, description: rj.Description}
		seqs := map[uint32]bool{}
		for j := range rj.Rule {
			ru, err := compileRule(&rj.Rule[j])
			if err != nil {
				if rj.Rule[j].Sequence != nil {
					return nil, fmt.Errorf("policy: role %q rule %d: %v", rj.Name, *rj.Rule[j].Sequence, err)
				}
				return nil, fmt.Errorf("policy: role %q rule #%d: %v", rj.Name, j+1, err)
			}
			if seqs[ru.sequence] {
				return nil, fmt.Errorf("policy: role %q rule %d: sequence used twice", rj.Name, ru.sequence)
			}
			seqs[ru.sequence] = true
			r.rules = append(r.rules, ru)
			r.scoped = r.scoped || ru.pat.tenant
		}
		sort.Slice(r.rules, func(i, j int) bool { return r.rules[i].sequence < r.rules[j].sequence })
		for _, ru := range r.rules {
			for _, op := range ru.ops {
				r.byOp[op] = append(r.byOp[op], ru)
			}
		}
		p.roles[r.name] = r
		p.order = append(p.order, r)
	}

	var listed []string
	if a.ProviderNetwork != nil {
		listed = a.ProviderNetwork.Role
	}
	if len(listed) == 0 {
		for _, name := range defaultProviderRoles {
			if p.roles[name] != nil {
				p.provider = append(p.provider, name)
			}
		}
	} else {
		seen := map[string]bool{}
		for _, name := range listed {
			if p.roles[name] == nil {
				return nil, fmt.Errorf("policy: provider-network: role %q is not defined", name)
			}
			if seen[name] {
				return nil, fmt.Errorf("policy: provider-network: role %q listed twice", name)
			}
			seen[name] = true
			p.provider = append(p.provider, name)
		}
	}
	for _, name := range p.provider {
		if r := p.roles[name]; r.scoped {
			r.provider = providerOwn
		} else {
			r.provider = providerAll
		}
	}
	if r := p.roles[AdminRole]; r != nil {
		r.provider = providerAll
	}

	users := make([]User, len(a.User))
	for i, u := range a.User {
		users[i] = User{Name: u.Name, Roles: u.Role, Tenants: u.Tenant}
	}
	if err := p.setUsers(users); err != nil {
		return nil, err
	}

	gate, err := compilePattern(ProviderPath)
	if err != nil {
		panic(err)
	}
	gate.elems[1].keys = []keyMatch{{name: "name", kind: keyGate}}
	p.gate = gate
	return p, nil
}

func compileRule(rj *ruleJSON) (*rule, error) {
	if rj.Sequence == nil {
		return nil, errors.New("no sequence")
	}
	ru := &rule{sequence: *rj.Sequence}
	switch rj.Action {
	case "permit":
	case "deny":
		ru.deny = true
	case "":
		return nil, errors.New("no action")
	default:
		return nil, fmt.Errorf("action %q is not permit or deny", rj.Action)
	}
	if len(rj.Operation) == 0 {
		return nil, errors.New("no operation")
	}
	var seen [numOps]bool
	for _, o := range rj.Operation {
		op := numOps
		for i, n := range opNames {
			if o == n {
				op = Op(i)
			}
		}
		if op == numOps {
			return nil, fmt.Errorf("operation %q is not read, write or subscribe", o)
		}
		if seen[op] {
			return nil, fmt.Errorf("operation %s listed twice", o)
		}
		seen[op] = true
		ru.ops = append(ru.ops, op)
	}
	sort.Slice(ru.ops, func(i, j int) bool { return ru.ops[i] < ru.ops[j] })
	if rj.Path == "" {
		return nil, errors.New("no path")
	}
	pat, err := compilePattern(rj.Path)
	if err != nil {
		return nil, err
	}
	ru.pat = pat
	return ru, nil
}

// setUsers checks and sets the users (sorted by name).
func (p *Policy) setUsers(users []User) error {
	out := make([]User, len(users))
	seen := map[string]bool{}
	for i, u := range users {
		if u.Name == "" {
			return errors.New("policy: user with no name")
		}
		if seen[u.Name] {
			return fmt.Errorf("policy: user %q listed twice", u.Name)
		}
		seen[u.Name] = true
		for _, r := range u.Roles {
			if p.roles[r] == nil {
				return fmt.Errorf("policy: user %q: role %q is not defined", u.Name, r)
			}
		}
		for _, t := range u.Tenants {
			if !validNrtName(t) {
				return fmt.Errorf("policy: user %q: bad tenant name %q", u.Name, t)
			}
		}
		out[i] = User{Name: u.Name, Roles: clone(u.Roles), Tenants: clone(u.Tenants)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	p.users = out
	return nil
}

func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// WithUsers returns a copy of p that publishes users (normally those of
// the users file) instead of the policy file's. Every role a user holds
// must be defined.
func (p *Policy) WithUsers(users []User) (*Policy, error) {
	q := *p
	if err := q.setUsers(users); err != nil {
		return nil, err
	}
	return &q, nil
}

// Users returns the users the policy publishes, sorted by name.
func (p *Policy) Users() []User {
	out := make([]User, len(p.users))
	for i, u := range p.users {
		out[i] = User{Name: u.Name, Roles: clone(u.Roles), Tenants: clone(u.Tenants)}
	}
	return out
}

// Roles returns the names of the roles, as defined.
func (p *Policy) Roles() []string {
	out := make([]string, len(p.order))
	for i, r := range p.order {
		out[i] = r.name
	}
	return out
}

// HasRole says whether the policy defines the role.
func (p *Policy) HasRole(name string) bool { return p.roles[name] != nil }

// ProviderNetworkRoles returns the provider-network entry in force (after
// defaults).
func (p *Policy) ProviderNetworkRoles() []string { return clone(p.provider) }

// JSON returns the policy as the JSON_IETF document published at /access
// (and accepted by ParsePolicy): roles as defined, rules by sequence,
// the provider-network entry in force, users by name.
func (p *Policy) JSON() ([]byte, error) {
	return json.MarshalIndent(document{Access: p.access()}, "", "  ")
}

func (p *Policy) access() *accessJSON {
	a := &accessJSON{Role: []roleJSON{}}
	for _, r := range p.order {
		rj := roleJSON{Name: r.name, Description: r.description}
		for _, ru := range r.rules {
			seq := ru.sequence
			ops := make([]string, len(ru.ops))
			for i, op := range ru.ops {
				ops[i] = op.String()
			}
			action := "permit"
			if ru.deny {
				action = "deny"
			}
			rj.Rule = append(rj.Rule, ruleJSON{Sequence: &seq, Path: ru.pat.text, Operation: ops, Action: action})
		}
		a.Role = append(a.Role, rj)
	}
	if len(p.provider) > 0 {
		a.ProviderNetwork = &providerJSON{Role: clone(p.provider)}
	}
	for _, u := range p.users {
		a.User = append(a.User, userJSON{Name: u.Name, Role: clone(u.Roles), Tenant: clone(u.Tenants)})
	}
	return a
}

// String renders the policy for logs: one line per rule.
func (p *Policy) String() string {
	var b strings.Builder
	for _, r := range p.order {
		for _, ru := range r.rules {
			action := "permit"
			if ru.deny {
				action = "deny"
			}
			fmt.Fprintf(&b, "%s %d %s %v %s\n", r.name, ru.sequence, action, ru.ops, ru.pat.text)
		}
	}
	fmt.Fprintf(&b, "provider-network %v\n", p.provider)
	return b.String()
}

var (
	rwS = []string{"read", "write", "subscribe"}
	rS  = []string{"read", "subscribe"}
)

func seq(n uint32) *uint32 { return &n }

// defaultAccess is the built-in policy (testdata/policy/default.json).
func defaultAccess() *accessJSON {
	return &accessJSON{
		Role: []roleJSON{
			{
				Name:        AdminRole,
				Description: "Administrator: everything, including the policy and the audit log.",
				Rule: []ruleJSON{
					{Sequence: seq(10), Path: "/", Operation: rwS, Action: "permit"},
				},
			},
			{
				Name:        "network-admin",
				Description: "Network administrator: the infrastructure (backends, hosts, sites, connections) and the server state; no tenant data.",
				Rule: []ruleJSON{
					{Sequence: seq(10), Path: "/backends", Operation: rwS, Action: "permit"},
					{Sequence: seq(20), Path: "/hosts", Operation: rwS, Action: "permit"},
					{Sequence: seq(30), Path: "/sites", Operation: rwS, Action: "permit"},
					{Sequence: seq(40), Path: "/connections", Operation: rwS, Action: "permit"},
					{Sequence: seq(50), Path: "/system", Operation: rS, Action: "permit"},
				},
			},
			{
				Name:        "tenant-admin",
				Description: "Tenant administrator: everything in the user's own tenants, nothing else.",
				Rule: []ruleJSON{
					{Sequence: seq(10), Path: "/tenants/tenant[name={tenant}]", Operation: rwS, Action: "permit"},
				},
			},
			{
				Name:        "viewer",
				Description: "Read-only operator: reads and subscribes to everything except the policy and the audit log.",
				Rule: []ruleJSON{
					{Sequence: seq(10), Path: "/backends", Operation: rS, Action: "permit"},
					{Sequence: seq(20), Path: "/hosts", Operation: rS, Action: "permit"},
					{Sequence: seq(30), Path: "/sites", Operation: rS, Action: "permit"},
					{Sequence: seq(40), Path: "/connections", Operation: rS, Action: "permit"},
					{Sequence: seq(50), Path: "/tenants", Operation: rS, Action: "permit"},
					{Sequence: seq(60), Path: "/system", Operation: rS, Action: "permit"},
					{Sequence: seq(70), Path: "/route-targets", Operation: rS, Action: "permit"},
				},
			},
		},
		ProviderNetwork: &providerJSON{Role: []string{AdminRole, "tenant-admin"}},
	}
}

var defaultPolicy = sync.OnceValue(func() *Policy {
	p, err := compile(defaultAccess())
	if err != nil {
		panic("authz: default policy: " + err.Error())
	}
	return p
})

// DefaultPolicy returns the built-in policy, used when no policy file is
// given:
//
//   - admin: read, write and subscribe everything;
//   - network-admin: read, write and subscribe /backends, /hosts, /sites
//     and /connections; read and subscribe /system;
//   - tenant-admin: read, write and subscribe /tenants/tenant[name={tenant}]
//     and everything below it; nothing else;
//   - viewer: read and subscribe every top-level subtree except /access
//     (the policy) and /audit (the audit log);
//   - /route-targets (route-target ownership, docs/security.md) only
//     admin writes: no tenant-admin may hand itself another tenant's
//     route target;
//   - provider-network: admin and tenant-admin ("admin or owner").
//
// Only admin may read /access and /audit. The same policy ships as
// testdata/policy/default.json.
func DefaultPolicy() *Policy { return defaultPolicy() }
