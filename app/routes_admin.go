package app

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/policies"
)

// Admin pages: regions, schools, accounts (create, grant, revoke, disable,
// reset password) and the audit log. Accounts are the admin's alone; the
// bureau sees its region's regions, schools and audit log.

func init() {
	registerArea(func(s *Server) { s.adminRoutes() })
	admin := func(label, icon, url string) HomeLink {
		return HomeLink{Role: policies.RoleAdmin, Label: label, Icon: icon, URL: func(models.Grant) string { return url }}
	}
	addHomeLinks(
		admin("admin.regions.title", "🗺️", "/admin/regions"),
		admin("admin.schools.title", "🏫", "/admin/schools"),
		admin("admin.users.title", "👤", "/admin/users"),
		admin("admin.audit.title", "📜", "/admin/audit"),
		HomeLink{Role: policies.RoleBureau, Label: "admin.audit.title", Icon: "📜", URL: func(models.Grant) string { return "/admin/audit" }},
	)
}

func (s *Server) adminRoutes() {
	g := s.E.Group("/admin")
	s.route(g, http.MethodGet, "/regions", s.adminRegions, Allow("region", "read", nil))
	s.route(g, http.MethodGet, "/schools", s.adminSchools, Allow("school", "list", nil))
	s.route(g, http.MethodPost, "/schools", s.adminCreateSchool, Allow("school", "write", FormRegion("region_code")))
	s.route(g, http.MethodGet, "/users", s.adminUsers, Allow("user", "read", nil))
	s.route(g, http.MethodPost, "/users", s.adminCreateUser, Allow("user", "write", nil))
	s.route(g, http.MethodGet, "/users/:id", s.adminUser, Allow("user", "read", nil))
	s.route(g, http.MethodPost, "/users/:id/grants", s.adminGrant, Allow("user", "write", nil))
	s.route(g, http.MethodPost, "/users/:id/revoke", s.adminRevoke, Allow("user", "write", nil))
	s.route(g, http.MethodPost, "/users/:id/disable", s.adminDisable(true), Allow("user", "write", nil))
	s.route(g, http.MethodPost, "/users/:id/enable", s.adminDisable(false), Allow("user", "write", nil))
	s.route(g, http.MethodPost, "/users/:id/password", s.adminResetPassword, Allow("user", "write", nil))
	s.route(g, http.MethodGet, "/audit", s.adminAudit, Allow("audit", "read", nil))
}

// FormRegion scopes a form post to the region named by a form field. An
// unknown region resolves to no region at all (only a "*" grant reaches
// it), so the handler can answer it with a clear 400.
func FormRegion(field string) Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		code := strings.TrimSpace(c.FormValue(field))
		if code == "" {
			return models.Target{}, nil
		}
		if _, err := models.GetRegion(c.Request().Context(), s.DB, code); err != nil {
			return models.Target{}, nil
		}
		return models.Target{RegionCode: code}, nil
	}
}

// formFailure renders a refused form again with its message and the status
// of the error's kind; errors that are not the user's fault pass through.
func (s *Server) formFailure(c echo.Context, err error, rerender func(msg string, status int) error) error {
	e, ok := models.AsError(err)
	if !ok || (e.Kind != models.KindInvalid && e.Kind != models.KindConflict) {
		return err
	}
	return rerender(translator(c).T(e.MsgID, e.Params), statusOf[e.Kind])
}

func (s *Server) renderWithError(c echo.Context, status int, name, title, msg string, data any) error {
	p := s.page(c, title, data)
	p.Error = msg
	return s.renderPageModel(c, status, name, p)
}

// regionReach lists the region codes the viewer's grants allowing act on
// obj reach (nil: every region).
func (s *Server) regionReach(ctx context.Context, v *Viewer, obj, act string) ([]string, error) {
	sub := policies.UserSubject(v.User.ID)
	codes := []string{}
	for _, g := range v.Grants {
		ok, err := s.Authz.E.Enforce(sub, g.Domain, obj, act)
		if err != nil || !ok {
			continue
		}
		kind, key, _ := policies.ParseDomain(g.Domain)
		switch kind {
		case policies.AllDomains:
			return nil, nil
		case "region":
			sub, err := models.SubRegionCodes(ctx, s.DB, key)
			if err != nil {
				return nil, err
			}
			codes = append(codes, sub...)
		}
	}
	return codes, nil
}

// --- regions ---------------------------------------------------------------

type regionView struct {
	Code, Name, Level, Parent string
	Schools                   int64
}

type adminRegionsData struct {
	Regions []regionView
}

func (s *Server) adminRegions(c echo.Context) error {
	ctx := c.Request().Context()
	codes, err := s.regionReach(ctx, viewerOf(c), "region", "read")
	if err != nil {
		return err
	}
	rows, err := models.RegionsWithSchoolCounts(ctx, s.DB, codes)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, r := range rows {
		names[r.Code] = r.Name
	}
	var data adminRegionsData
	for _, r := range rows {
		v := regionView{Code: r.Code, Name: r.Name, Level: r.Level, Schools: r.Schools}
		if r.ParentCode != nil {
			v.Parent = strings.TrimSpace(names[*r.ParentCode] + " " + *r.ParentCode)
		}
		data.Regions = append(data.Regions, v)
	}
	return s.renderPage(c, http.StatusOK, "admin/regions", "admin.regions.title", data)
}

// --- schools ---------------------------------------------------------------

type schoolForm struct {
	RegionCode  string `form:"region_code"`
	Name        string `form:"name"`
	Stage       string `form:"stage"`
	Code        string `form:"code"`
	OffWorkTime string `form:"off_work_time"`
	TimeZone    string `form:"time_zone"`
}

type adminSchoolsData struct {
	Schools   []models.School
	Regions   []models.RegionRow
	Names     map[string]string
	Stages    []string
	CanCreate bool
	Form      schoolForm
}

func (s *Server) renderSchools(c echo.Context, status int, f schoolForm, msg string) error {
	ctx := c.Request().Context()
	v := viewerOf(c)
	schools, err := s.Authz.VisibleSchools(ctx, v.User.ID, "school", "list")
	if err != nil {
		return err
	}
	codes, err := s.regionReach(ctx, v, "school", "list")
	if err != nil {
		return err
	}
	regions, err := models.RegionsWithSchoolCounts(ctx, s.DB, codes)
	if err != nil {
		return err
	}
	canCreate, err := s.Authz.AllowedAnywhere(v.User.ID, "school", "write")
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, r := range regions {
		names[r.Code] = r.Name
	}
	if f.OffWorkTime == "" {
		f.OffWorkTime = "17:30"
	}
	if f.TimeZone == "" {
		f.TimeZone = models.DefaultTimeZone
	}
	data := adminSchoolsData{Schools: schools, Regions: regions, Names: names, Stages: models.Stages, CanCreate: canCreate, Form: f}
	return s.renderWithError(c, status, "admin/schools", "admin.schools.title", msg, data)
}

func (s *Server) adminSchools(c echo.Context) error {
	return s.renderSchools(c, http.StatusOK, schoolForm{}, "")
}

func (s *Server) adminCreateSchool(c echo.Context) error {
	var f schoolForm
	if err := bind(c, &f); err != nil {
		return err
	}
	sc, err := models.CreateSchool(c.Request().Context(), s.DB, models.NewSchool(f))
	if err != nil {
		return s.formFailure(c, err, func(msg string, status int) error { return s.renderSchools(c, status, f, msg) })
	}
	return redirectWithFlash(c, "/admin/schools#school-"+strconv.FormatInt(sc.ID, 10), "admin.schools.created")
}

// --- accounts --------------------------------------------------------------

type userForm struct {
	Username    string `form:"username"`
	DisplayName string `form:"display_name"`
	SchoolID    string `form:"school_id"`
	Password    string `form:"password"`
}

type userView struct {
	ID                    int64
	Username, DisplayName string
	School                string
	Disabled              bool
}

type adminUsersData struct {
	Users    []userView
	Search   string
	SchoolID string
	Form     userForm
}

func (s *Server) schoolNames(ctx context.Context) (map[int64]string, error) {
	var rows []models.School
	if err := s.DB.WithContext(ctx).Select("id", "name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

func (s *Server) renderUsers(c echo.Context, status int, f userForm, msg string) error {
	ctx := c.Request().Context()
	q := models.UserQuery{Search: c.QueryParam("q")}
	q.SchoolID, _ = strconv.ParseInt(c.QueryParam("school"), 10, 64)
	users, err := models.ListUsers(ctx, s.DB, q)
	if err != nil {
		return err
	}
	names, err := s.schoolNames(ctx)
	if err != nil {
		return err
	}
	data := adminUsersData{Search: q.Search, SchoolID: c.QueryParam("school"), Form: f}
	for _, u := range users {
		v := userView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Disabled: u.Disabled}
		if u.SchoolID != nil {
			v.School = names[*u.SchoolID]
		}
		data.Users = append(data.Users, v)
	}
	return s.renderWithError(c, status, "admin/users", "admin.users.title", msg, data)
}

func (s *Server) adminUsers(c echo.Context) error {
	return s.renderUsers(c, http.StatusOK, userForm{}, "")
}

func (s *Server) adminCreateUser(c echo.Context) error {
	var f userForm
	if err := bind(c, &f); err != nil {
		return err
	}
	fail := func(err error) error {
		f.Password = ""
		return s.formFailure(c, err, func(msg string, status int) error { return s.renderUsers(c, status, f, msg) })
	}
	n := models.NewAccount{Username: f.Username, DisplayName: f.DisplayName, Password: f.Password}
	if sid := strings.TrimSpace(f.SchoolID); sid != "" {
		id, err := strconv.ParseInt(sid, 10, 64)
		if err != nil || id <= 0 {
			return fail(models.Invalid("account.school_unknown", map[string]any{"ID": sid}))
		}
		n.SchoolID = &id
	}
	generated := n.Password == ""
	if generated {
		n.Password, n.OneTime = models.GeneratePassword(), true
	}
	u, err := models.CreateAccount(c.Request().Context(), s.DB, n)
	if err != nil {
		return fail(err)
	}
	oneTime := ""
	if generated {
		oneTime = n.Password
	}
	return s.renderUser(c, http.StatusCreated, u.ID, userPageExtras{OneTimePassword: oneTime, Flash: "admin.users.created"})
}

type adminUserData struct {
	User            *models.User
	School          string
	Grants          []grantRow
	Roles           []string
	DefaultDomain   string
	OneTimePassword string
	Self            bool
	Audit           []auditRow
}

type grantRow struct {
	Role, Domain, Scope string
}

type userPageExtras struct {
	OneTimePassword string
	Flash           string // message id shown at the top
	Error           string // localized message
}

func (s *Server) renderUser(c echo.Context, status int, id int64, x userPageExtras) error {
	ctx := c.Request().Context()
	u, err := models.GetUser(ctx, s.DB, id)
	if err != nil {
		return err
	}
	grants, err := s.Authz.GrantsOf(u.ID)
	if err != nil {
		return err
	}
	tr := translator(c)
	data := adminUserData{User: u, Roles: policies.Roles, OneTimePassword: x.OneTimePassword, Self: viewerOf(c).User.ID == u.ID}
	for _, g := range grants {
		data.Grants = append(data.Grants, grantRow{Role: g.Role, Domain: g.Domain, Scope: s.scopeName(c, tr, g.Domain)})
	}
	if u.SchoolID != nil {
		data.DefaultDomain = policies.SchoolDomain(*u.SchoolID)
		if sc, err := models.GetSchool(ctx, s.DB, *u.SchoolID); err == nil {
			data.School = sc.Name
		}
	}
	logs, err := models.ListAudit(ctx, s.DB, models.AuditQuery{Entity: "user", EntityID: strconv.FormatInt(u.ID, 10), Limit: 20})
	if err != nil {
		return err
	}
	if data.Audit, err = s.auditRows(ctx, logs); err != nil {
		return err
	}
	p := s.page(c, "admin.user.title", data)
	p.Error = x.Error
	if x.Flash != "" {
		p.Flash = tr.T(x.Flash)
	}
	if x.OneTimePassword != "" {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	return s.renderPageModel(c, status, "admin/user", p)
}

func (s *Server) adminUser(c echo.Context) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	return s.renderUser(c, http.StatusOK, id, userPageExtras{})
}

type grantForm struct {
	Role   string `form:"role"`
	Domain string `form:"domain"`
}

// userAction runs a write on the account in path parameter id and answers
// with a redirect to its page, or the page again with the refusal.
func (s *Server) userAction(c echo.Context, fn func(ctx context.Context, id int64) (flash string, err error)) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := models.GetUser(ctx, s.DB, id); err != nil {
		return err
	}
	flash, err := fn(ctx, id)
	if err != nil {
		return s.formFailure(c, err, func(msg string, status int) error {
			return s.renderUser(c, status, id, userPageExtras{Error: msg})
		})
	}
	return redirectWithFlash(c, "/admin/users/"+strconv.FormatInt(id, 10), flash)
}

func (s *Server) adminGrant(c echo.Context) error {
	var f grantForm
	if err := bind(c, &f); err != nil {
		return err
	}
	return s.userAction(c, func(ctx context.Context, id int64) (string, error) {
		role, domain := strings.TrimSpace(f.Role), strings.TrimSpace(f.Domain)
		if err := models.CheckGrant(ctx, s.DB, role, domain); err != nil {
			return "", err
		}
		return "admin.user.granted", s.Authz.Grant(ctx, id, role, domain)
	})
}

func (s *Server) adminRevoke(c echo.Context) error {
	var f grantForm
	if err := bind(c, &f); err != nil {
		return err
	}
	return s.userAction(c, func(ctx context.Context, id int64) (string, error) {
		if id == viewerOf(c).User.ID && f.Role == policies.RoleAdmin {
			return "", models.Invalid("account.cannot_revoke_own_admin", nil)
		}
		return "admin.user.revoked", s.Authz.Revoke(ctx, id, f.Role, f.Domain)
	})
}

func (s *Server) adminDisable(disabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		return s.userAction(c, func(ctx context.Context, id int64) (string, error) {
			if disabled && id == viewerOf(c).User.ID {
				return "", models.Invalid("account.cannot_disable_self", nil)
			}
			if disabled {
				return "admin.user.disabled", models.SetDisabled(ctx, s.DB, id, true)
			}
			return "admin.user.enabled", models.SetDisabled(ctx, s.DB, id, false)
		})
	}
}

type passwordForm struct {
	Password string `form:"password"`
}

func (s *Server) adminResetPassword(c echo.Context) error {
	var f passwordForm
	if err := bind(c, &f); err != nil {
		return err
	}
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pw := f.Password
	if pw == "" {
		pw = models.GeneratePassword()
	}
	if err := models.ResetPassword(ctx, s.DB, id, pw, f.Password == ""); err != nil {
		return s.formFailure(c, err, func(msg string, status int) error {
			return s.renderUser(c, status, id, userPageExtras{Error: msg})
		})
	}
	if f.Password != "" {
		return redirectWithFlash(c, "/admin/users/"+strconv.FormatInt(id, 10), "admin.user.password_set")
	}
	// A generated password is shown this once, never stored in clear.
	return s.renderUser(c, http.StatusOK, id, userPageExtras{OneTimePassword: pw, Flash: "admin.user.password_set"})
}

// --- audit log -------------------------------------------------------------

type auditRow struct {
	ID        int64
	At        string
	Actor     string
	Action    string
	Entity    string
	EntityID  string
	School    string
	SchoolID  int64
	Before    string
	After     string
	RequestID string
}

func (s *Server) auditRows(ctx context.Context, logs []models.AuditLog) ([]auditRow, error) {
	ids := map[int64]bool{}
	for _, l := range logs {
		if l.ActorID != nil {
			ids[*l.ActorID] = true
		}
	}
	actors := map[int64]string{}
	if len(ids) > 0 {
		keys := make([]int64, 0, len(ids))
		for id := range ids {
			keys = append(keys, id)
		}
		var users []models.User
		if err := s.DB.WithContext(ctx).Select("id", "username").Where("id IN ?", keys).Find(&users).Error; err != nil {
			return nil, err
		}
		for _, u := range users {
			actors[u.ID] = u.Username
		}
	}
	names, err := s.schoolNames(ctx)
	if err != nil {
		return nil, err
	}
	loc := models.School{}.Location()
	out := make([]auditRow, 0, len(logs))
	for _, l := range logs {
		r := auditRow{ID: l.ID, At: l.CreatedAt.In(loc).Format("2006-01-02 15:04:05"), Action: l.Action, Entity: l.Entity,
			EntityID: l.EntityID, Before: l.BeforeJSON, After: l.AfterJSON, RequestID: l.RequestID}
		if l.ActorID != nil {
			r.Actor = actors[*l.ActorID]
		}
		if l.SchoolID != nil {
			r.SchoolID = *l.SchoolID
			r.School = names[*l.SchoolID]
		}
		out = append(out, r)
	}
	return out, nil
}

type adminAuditData struct {
	Rows     []auditRow
	Entities []string
	Schools  []models.School
	Entity   string
	EntityID string
	SchoolID int64
	All      bool   // the viewer sees every school's rows (and rows of no school)
	Older    string // link to the next page, if any
}

func (s *Server) adminAudit(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewerOf(c)
	q := models.AuditQuery{Entity: c.QueryParam("entity"), EntityID: strings.TrimSpace(c.QueryParam("entity_id")), Limit: 100}
	q.SchoolID, _ = strconv.ParseInt(c.QueryParam("school"), 10, 64)
	q.BeforeID, _ = strconv.ParseInt(c.QueryParam("before"), 10, 64)
	all, err := s.Authz.E.Enforce(policies.UserSubject(v.User.ID), policies.AllDomains, "audit", "read")
	if err != nil {
		return err
	}
	schools, err := s.Authz.VisibleSchools(ctx, v.User.ID, "audit", "read")
	if err != nil {
		return err
	}
	if !all {
		q.OnlyIn = make([]int64, 0, len(schools))
		reach := false
		for _, sc := range schools {
			q.OnlyIn = append(q.OnlyIn, sc.ID)
			reach = reach || sc.ID == q.SchoolID
		}
		if q.SchoolID > 0 && !reach {
			return models.ErrNotFound // another region's school: as if it did not exist
		}
	}
	logs, err := models.ListAudit(ctx, s.DB, q)
	if err != nil {
		return err
	}
	entities, err := models.AuditEntities(ctx, s.DB)
	if err != nil {
		return err
	}
	rows, err := s.auditRows(ctx, logs)
	if err != nil {
		return err
	}
	data := adminAuditData{Rows: rows, Entities: entities, Schools: schools, Entity: q.Entity, EntityID: q.EntityID, SchoolID: q.SchoolID, All: all}
	if len(logs) == q.Limit {
		next := url.Values{"before": {strconv.FormatInt(logs[len(logs)-1].ID, 10)}}
		for k, val := range map[string]string{"entity": q.Entity, "entity_id": q.EntityID, "school": c.QueryParam("school")} {
			if val != "" {
				next.Set(k, val)
			}
		}
		data.Older = "/admin/audit?" + next.Encode()
	}
	sort.SliceStable(data.Schools, func(i, j int) bool { return data.Schools[i].ID < data.Schools[j].ID })
	return s.renderPage(c, http.StatusOK, "admin/audit", "admin.audit.title", data)
}
