package value

import (
	"sync"
	"testing"

	"github.com/openconfig/goyang/pkg/yang"
)

// The test modules exercise every type class the way the server meets them:
// parsed and resolved by goyang, typedef chains included.

const idsModule = `
module vt-ids {
  namespace "urn:vt-ids";
  prefix ids;

  identity iface-type;
  identity ethernet { base iface-type; }
  identity fast-ethernet { base ethernet; }
  identity loopback { base iface-type; }
  identity dup-name { base iface-type; }
  identity other-root;
}
`

const testModule = `
module vt {
  yang-version 1.1;
  namespace "urn:vt";
  prefix vt;

  import vt-ids { prefix ids; }

  identity tunnel { base ids:iface-type; }
  identity dup-name { base ids:iface-type; }
  identity unrelated;

  typedef vlan-id { type uint16 { range "1..4094"; } }
  typedef ipv4-address {
    type string {
      pattern '(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\.){3}'
            + '([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])';
    }
  }
  typedef ipv6-address {
    type string {
      pattern '[0-9a-fA-F:]*:[0-9a-fA-F:]*';
      length "2..39";
    }
  }
  typedef lower-name {
    type string {
      length "1..32";
      pattern '[a-z][a-z0-9\-]*';
    }
  }
  // Both levels have a pattern: both must match.
  typedef short-lower-name { type lower-name { pattern '.{0,8}'; } }
  // A typedef restricted by length only.
  typedef name8 { type lower-name { length "2..8"; } }
  typedef percent { type decimal64 { fraction-digits 2; range "0..100"; } }

  // Three accumulated patterns leave spare capacity in goyang's slice: the
  // leaves below restricting it trigger the aliasing RepairPatterns fixes.
  typedef p1 { type string { pattern '[a-z]+'; } }
  typedef p2 { type p1 { pattern '.*a.*'; } }
  typedef p3 { type p2 { pattern '.*b.*'; } }

  leaf i8 { type int8; }
  leaf i16 { type int16 { range "-1000..1000"; } }
  leaf i32 { type int32 { range "1..10 | 20..30"; } }
  leaf i64 { type int64; }
  leaf u8 { type uint8; }
  leaf u16 { type uint16 { range "1..10 | 20..30 | 100"; } }
  leaf u32 { type uint32; }
  leaf u64 { type uint64; }
  leaf vlan { type vlan-id; }
  leaf dec { type decimal64 { fraction-digits 2; } }
  leaf pct { type percent; }
  leaf dec18 { type decimal64 { fraction-digits 18; } }
  leaf deci { type decimal64 { fraction-digits 1; range "-10.5..10.5"; } }
  leaf str { type string { length "3..5"; } }
  leaf anystr { type string; }
  leaf ip4 { type ipv4-address; }
  leaf short { type short-lower-name; }
  leaf n8 { type name8; }
  leaf xsd { type string { pattern '\d+\.\w+'; } }
  leaf dollar { type string { pattern '$[a-c-[b]]^.'; } }
  leaf enm {
    type enumeration {
      enum up;
      enum down;
      enum testing { value 7; }
    }
  }
  leaf idr { type identityref { base ids:iface-type; } }
  leaf bts {
    type bits {
      bit a { position 0; }
      bit b { position 1; }
      bit c { position 5; }
    }
  }
  leaf bin { type binary { length "1..4"; } }
  leaf emp { type empty; }
  leaf flag { type boolean; }
  leaf un {
    type union {
      type uint8;
      type string { pattern '[a-z]+'; }
    }
  }
  leaf ipaddr {
    type union {
      type ipv4-address;
      type ipv6-address;
    }
  }
  leaf un64 {
    type union {
      type int32;
      type int64;
      type enumeration { enum auto; }
    }
  }
  leaf unid {
    type union {
      type uint8;
      type identityref { base ids:iface-type; }
    }
  }
  leaf unb {
    type union {
      type boolean;
      type string;
    }
  }
  leaf unemp {
    type union {
      type empty;
      type uint8;
    }
  }
  leaf lref { type leafref { path "../str"; } }
  leaf inv {
    type string {
      pattern '[xX][mM][lL].*' { modifier invert-match; }
    }
  }
  leaf px { type p3 { pattern '.*x.*'; } }
  leaf py { type p3 { pattern '.*y.*'; } }
}
`

var (
	typesOnce sync.Once
	testTypes map[string]*yang.YangType
	typesErr  []error
)

// loadModules parses and resolves the test modules.
func loadModules(srcs map[string]string) (*yang.Entry, []error) {
	ms := yang.NewModules()
	for name, src := range srcs {
		if err := ms.Parse(src, name); err != nil {
			return nil, []error{err}
		}
	}
	if errs := ms.Process(); len(errs) > 0 {
		return nil, errs
	}
	m, errs := ms.GetModule("vt")
	if len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

// types returns the leaf types of the test module, by leaf name, after
// RepairPatterns (as the schema loader is expected to run it).
func types(tb testing.TB) map[string]*yang.YangType {
	tb.Helper()
	typesOnce.Do(func() {
		e, errs := loadModules(map[string]string{"vt-ids.yang": idsModule, "vt.yang": testModule})
		if len(errs) > 0 {
			typesErr = errs
			return
		}
		RepairPatterns(e)
		testTypes = map[string]*yang.YangType{}
		for name, c := range e.Dir {
			testTypes[name] = c.Type
		}
	})
	if typesErr != nil {
		tb.Fatalf("loading test modules: %v", typesErr)
	}
	return testTypes
}

// typ returns one leaf type.
func typ(tb testing.TB, leaf string) *yang.YangType {
	tb.Helper()
	yt := types(tb)[leaf]
	if yt == nil {
		tb.Fatalf("no leaf %q in the test module", leaf)
	}
	return yt
}
