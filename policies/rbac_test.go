package policies

import (
	"testing"

	"github.com/casbin/casbin/v2"
)

func newEnforcer(t *testing.T) *casbin.Enforcer {
	t.Helper()
	m, err := Model()
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddPolicies(DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	return e
}

// allowed tries the domain chain the way the server does.
func allowed(t *testing.T, e *casbin.Enforcer, sub string, chain []string, obj, act string) bool {
	t.Helper()
	for _, d := range chain {
		ok, err := e.Enforce(sub, d, obj, act)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestRBACDomains(t *testing.T) {
	e := newEnforcer(t)
	grants := [][]string{
		{"user:1", RoleAdmin, AllDomains},
		{"user:2", RoleBureau, RegionDomain("210900")},
		{"user:3", RoleBureau, RegionDomain("210902")},
		{"user:4", RolePrincipal, SchoolDomain(7)},
		{"user:5", RoleParent, SchoolDomain(7)},
		{"user:6", RoleAcademic, SchoolDomain(7)},
	}
	if _, err := e.AddGroupingPolicies(grants); err != nil {
		t.Fatal(err)
	}
	school7 := DomainChain(7, []string{"210902", "210900"}) // 海州区 school
	school9 := DomainChain(9, []string{"210903", "210900"}) // 新邱区 school
	cases := []struct {
		name     string
		sub      string
		chain    []string
		obj, act string
		want     bool
	}{
		{"admin reaches any school", "user:1", school9, "school", "read", true},
		{"city bureau reaches 海州区 school", "user:2", school7, "school", "read", true},
		{"city bureau reaches 新邱区 school", "user:2", school9, "school", "read", true},
		{"海州区 bureau reaches its school", "user:3", school7, "school", "read", true},
		{"海州区 bureau does not reach 新邱区", "user:3", school9, "school", "read", false},
		{"principal reads own school", "user:4", school7, "class", "read", true},
		{"principal of 7 not in 9", "user:4", school9, "class", "read", false},
		{"principal approves exams", "user:4", school7, "exam", "approve", true},
		{"academic may not approve exams", "user:6", school7, "exam", "approve", false},
		{"parent may not write homework", "user:5", school7, "homework", "write", false},
		{"parent reads homework", "user:5", school7, "homework", "read", true},
		{"bureau may not write homework", "user:2", school7, "homework", "write", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := allowed(t, e, tc.sub, tc.chain, tc.obj, tc.act); got != tc.want {
				t.Errorf("allowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseDomain(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind string
		key  string
		ok   bool
	}{
		{"*", "*", "", true},
		{"school:12", "school", "12", true},
		{"region:210902", "region", "210902", true},
		{"region:", "", "", false},
		{"class:1", "", "", false},
	} {
		k, key, ok := ParseDomain(tc.in)
		if k != tc.kind || key != tc.key || ok != tc.ok {
			t.Errorf("ParseDomain(%q) = %q %q %v", tc.in, k, key, ok)
		}
	}
}

func TestDefaultPolicyRolesKnown(t *testing.T) {
	p := DefaultPolicy()
	if len(p) < 50 {
		t.Fatalf("default policy has %d lines", len(p))
	}
	for _, l := range p {
		if !IsRole(l[0]) {
			t.Errorf("unknown role in policy.csv: %v", l)
		}
	}
}
