// Package policies holds what is allowed: the Casbin model and default policy
// (who may do what) and the double-reduction rules as pure functions (what the
// rules allow). It imports nothing of ours and no database.
package policies

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2/model"
)

//go:embed model.conf
var modelConf string

//go:embed policy.csv
var policyCSV string

// Roles, as DESIGN.md names them.
const (
	RoleAdmin       = "admin"
	RoleBureau      = "bureau"
	RolePrincipal   = "principal"
	RoleAcademic    = "academic"
	RoleHeadTeacher = "head_teacher"
	RoleTeacher     = "teacher"
	RoleParent      = "parent"
)

// Roles lists every role in display order.
var Roles = []string{RoleAdmin, RoleBureau, RolePrincipal, RoleAcademic, RoleHeadTeacher, RoleTeacher, RoleParent}

// IsRole reports whether r is one of the known roles.
func IsRole(r string) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// AllDomains is the domain of a grant that reaches everything (admin).
const AllDomains = "*"

// SchoolDomain is the Casbin domain of one school.
func SchoolDomain(id int64) string { return fmt.Sprintf("school:%d", id) }

// RegionDomain is the Casbin domain of a region and everything below it.
func RegionDomain(code string) string { return "region:" + code }

// ParseDomain splits a domain into its kind ("school", "region", "*") and key.
func ParseDomain(d string) (kind, key string, ok bool) {
	if d == AllDomains {
		return AllDomains, "", true
	}
	kind, key, ok = strings.Cut(d, ":")
	if !ok || key == "" || (kind != "school" && kind != "region") {
		return "", "", false
	}
	return kind, key, true
}

// UserSubject is the Casbin subject of a user.
func UserSubject(userID int64) string { return fmt.Sprintf("user:%d", userID) }

// Model returns the Casbin model (RBAC with domains).
func Model() (model.Model, error) { return model.NewModelFromString(modelConf) }

// DefaultPolicy returns the p-lines of policy.csv as [role, resource, action].
func DefaultPolicy() [][]string {
	var out [][]string
	sc := bufio.NewScanner(strings.NewReader(policyCSV))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if len(parts) == 4 && parts[0] == "p" {
			out = append(out, parts[1:])
		}
	}
	return out
}

// DomainChain is the list of domains that reach a school, most specific first:
// the school itself, each region from the school's own up to the root, then *.
// regionPath is the school's region codes from leaf to root.
func DomainChain(schoolID int64, regionPath []string) []string {
	out := make([]string, 0, len(regionPath)+2)
	if schoolID > 0 {
		out = append(out, SchoolDomain(schoolID))
	}
	for _, c := range regionPath {
		out = append(out, RegionDomain(c))
	}
	return append(out, AllDomains)
}
