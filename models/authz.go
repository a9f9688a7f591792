package models

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/gorm"

	"jianfu/policies"
)

// Authorizer answers "may this user do this to that" with Casbin RBAC with
// domains; the policy lives in casbin_rule (created by our migrations).
type Authorizer struct {
	E       *casbin.SyncedEnforcer
	db      *gorm.DB
	Watcher *PolicyWatcher // PostgreSQL only: other replicas' policy changes; nil on SQLite

	// Every request needs the viewer's grants, and Casbin finds a user's
	// grants only by scanning every grouping rule (about 170,000 at 300
	// schools). grants indexes them by subject, built on first use after a
	// change; gen counts changes, and an index built from an older
	// generation is never used (a change racing a build wins).
	gen    atomic.Uint64
	grants atomic.Pointer[grantIndex]
}

type grantIndex struct {
	gen   uint64
	bySub map[string][]Grant
}

// policyChanged drops the grant index; call it after every change to the
// enforcer's policy, once the change is in the enforcer.
func (a *Authorizer) policyChanged() { a.gen.Add(1) }

// loadPolicy reloads the enforcer from the database and drops the index.
func (a *Authorizer) loadPolicy() error {
	err := a.E.LoadPolicy()
	a.policyChanged()
	return err
}

func (a *Authorizer) grantIndex() (map[string][]Grant, error) {
	g := a.gen.Load()
	if idx := a.grants.Load(); idx != nil && idx.gen == g {
		return idx.bySub, nil
	}
	rows, err := a.E.GetGroupingPolicy()
	if err != nil {
		return nil, err
	}
	by := make(map[string][]Grant)
	for _, r := range rows {
		if len(r) >= 3 {
			by[r[0]] = append(by[r[0]], Grant{Role: r[1], Domain: r[2]})
		}
	}
	for _, gs := range by {
		sortGrants(gs)
	}
	a.grants.Store(&grantIndex{gen: g, bySub: by})
	return by, nil
}

// NewAuthorizer loads the policy from the database. On PostgreSQL it also
// starts a PolicyWatcher, so grants made by another replica (or the CLI) take
// effect here without a restart; call Close when done. SQLite mode is a
// single process and needs none.
func NewAuthorizer(db *gorm.DB) (*Authorizer, error) {
	adb := db.Session(&gorm.Session{NewDB: true})
	gormadapter.TurnOffAutoMigrate(adb) // casbin_rule comes from our migrations
	ad, err := gormadapter.NewAdapterByDBUseTableName(adb, "", "casbin_rule")
	if err != nil {
		return nil, fmt.Errorf("casbin adapter: %w", err)
	}
	m, err := policies.Model()
	if err != nil {
		return nil, err
	}
	// Without the adapter here: NewSyncedEnforcer would load the policy at
	// once, and it is loaded below (once the watcher listens) anyway.
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("casbin enforcer: %w", err)
	}
	e.SetAdapter(ad)
	a := &Authorizer{E: e, db: db}
	if DialectOf(db) == Postgres {
		w, err := NewPolicyWatcher(context.Background(), db)
		if err != nil {
			return nil, err
		}
		if err := e.SetWatcher(w); err != nil {
			w.Close()
			return nil, err
		}
		// After SetWatcher: Enforcer.SetWatcher installs the unsynchronized
		// LoadPolicy of the embedded Enforcer; ours takes the lock.
		_ = w.SetUpdateCallback(func(string) {
			if err := a.loadPolicy(); err != nil {
				slog.Error("casbin watcher: reload failed", "err", err)
			}
		})
		a.Watcher = w
	}
	// Loaded (again) once the watcher listens: a change made in between is not lost.
	if err := a.loadPolicy(); err != nil {
		a.Close()
		return nil, fmt.Errorf("casbin load: %w", err)
	}
	return a, nil
}

// Close stops the policy watcher, if any.
func (a *Authorizer) Close() {
	if a.Watcher != nil {
		a.Watcher.Close()
	}
}

// SyncDefaultPolicy adds the lines of policies/policy.csv that the database
// lacks; lines an admin added at run time are kept. Never SavePolicy: it
// would empty and refill the table.
func (a *Authorizer) SyncDefaultPolicy() error {
	var missing [][]string
	for _, p := range policies.DefaultPolicy() {
		ok, err := a.E.HasPolicy(p)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err := a.E.AddPolicies(missing)
	a.policyChanged()
	return err
}

// Reload re-reads the policy from the database (after a watcher notice).
func (a *Authorizer) Reload() error { return a.loadPolicy() }

// Grant is one role in one domain.
type Grant struct {
	Role   string `json:"role"`
	Domain string `json:"domain"`
}

// Grant gives user the role in domain.
func (a *Authorizer) Grant(ctx context.Context, userID int64, role, domain string) error {
	if !policies.IsRole(role) {
		return Invalid("user.role_unknown", map[string]any{"Role": role})
	}
	if _, _, ok := policies.ParseDomain(domain); !ok {
		return Invalid("user.domain_invalid", map[string]any{"Domain": domain})
	}
	added, err := a.E.AddGroupingPolicy(policies.UserSubject(userID), role, domain)
	a.policyChanged()
	if err != nil || !added {
		return err // !added: held already, nothing changed, nothing to audit
	}
	return Audit(ctx, a.db, schoolOfDomain(domain), "grant", "user", userID, nil, Grant{role, domain})
}

// Revoke removes a grant.
func (a *Authorizer) Revoke(ctx context.Context, userID int64, role, domain string) error {
	removed, err := a.E.RemoveGroupingPolicy(policies.UserSubject(userID), role, domain)
	a.policyChanged()
	if err != nil || !removed {
		return err
	}
	return Audit(ctx, a.db, schoolOfDomain(domain), "revoke", "user", userID, Grant{role, domain}, nil)
}

func schoolOfDomain(d string) int64 {
	if kind, key, ok := policies.ParseDomain(d); ok && kind == "school" {
		id, _ := strconv.ParseInt(key, 10, 64)
		return id
	}
	return 0
}

// GrantsOf lists a user's grants, sorted. The slice is shared: don't modify it.
func (a *Authorizer) GrantsOf(userID int64) ([]Grant, error) {
	by, err := a.grantIndex()
	if err != nil {
		return nil, err
	}
	gs := by[policies.UserSubject(userID)]
	if gs == nil {
		gs = []Grant{}
	}
	return gs, nil
}

func sortGrants(out []Grant) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].Role < out[j].Role
	})
}

// Target is what a request is about: a school (and so its regions) or a region.
type Target struct {
	SchoolID   int64
	RegionCode string
}

// Chain is the list of domains that reach the target, most specific first.
func (a *Authorizer) Chain(ctx context.Context, t Target) ([]string, error) {
	code := t.RegionCode
	if t.SchoolID > 0 {
		s, err := GetSchool(ctx, a.db, t.SchoolID)
		if err != nil {
			return nil, err
		}
		code = s.RegionCode
	}
	var path []string
	if code != "" {
		p, err := RegionPath(ctx, a.db, code)
		if err != nil {
			return nil, err
		}
		path = p
	}
	return policies.DomainChain(t.SchoolID, path), nil
}

// Allowed reports whether the user may do act on obj in the target, and
// whether the user has any grant that reaches the target at all (so the
// caller can answer 404 to strangers and 403 to insiders).
func (a *Authorizer) Allowed(ctx context.Context, userID int64, t Target, obj, act string) (allowed, reaches bool, err error) {
	chain, err := a.Chain(ctx, t)
	if err != nil {
		return false, false, err
	}
	sub := policies.UserSubject(userID)
	for _, d := range chain {
		if len(a.E.GetRolesForUserInDomain(sub, d)) > 0 {
			reaches = true
		}
		ok, err := a.E.Enforce(sub, d, obj, act)
		if err != nil {
			return false, reaches, err
		}
		if ok {
			return true, true, nil
		}
	}
	return false, reaches, nil
}

// AllowedAnywhere reports whether any grant of the user allows act on obj
// (for routes whose target is chosen inside the handler, like lists).
func (a *Authorizer) AllowedAnywhere(userID int64, obj, act string) (bool, error) {
	grants, err := a.GrantsOf(userID)
	if err != nil {
		return false, err
	}
	sub := policies.UserSubject(userID)
	for _, g := range grants {
		ok, err := a.E.Enforce(sub, g.Domain, obj, act)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// HasRoleIn reports whether the user holds role in exactly the school's domain.
func (a *Authorizer) HasRoleIn(userID int64, role string, schoolID int64) bool {
	for _, r := range a.E.GetRolesForUserInDomain(policies.UserSubject(userID), policies.SchoolDomain(schoolID)) {
		if r == role {
			return true
		}
	}
	return false
}

// VisibleSchools lists the schools reached by the user's grants that allow
// act on obj (bureau: its regions' schools; admin: all; staff: their school).
func (a *Authorizer) VisibleSchools(ctx context.Context, userID int64, obj, act string) ([]School, error) {
	grants, err := a.GrantsOf(userID)
	if err != nil {
		return nil, err
	}
	sub := policies.UserSubject(userID)
	var regions []string
	var ids []int64
	all := false
	for _, g := range grants {
		ok, err := a.E.Enforce(sub, g.Domain, obj, act)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		kind, key, _ := policies.ParseDomain(g.Domain)
		switch kind {
		case policies.AllDomains:
			all = true
		case "region":
			sub, err := SubRegionCodes(ctx, a.db, key)
			if err != nil {
				return nil, err
			}
			regions = append(regions, sub...)
		case "school":
			id, _ := strconv.ParseInt(key, 10, 64)
			ids = append(ids, id)
		}
	}
	var out []School
	q := a.db.WithContext(ctx).Order("region_code, id")
	switch {
	case all:
		err = q.Find(&out).Error
	case len(regions) == 0 && len(ids) == 0:
		return nil, nil
	default:
		err = q.Where("region_code IN ? OR id IN ?", append(regions, ""), append(ids, 0)).Find(&out).Error
	}
	return out, err
}
