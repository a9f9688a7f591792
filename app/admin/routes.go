package admin

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

// Admin pages: regions, schools, accounts (create, grant, revoke, disable,
// reset password) and the audit log. Accounts are the admin's alone; the
// bureau sees its region's regions, schools and audit log.

// Routes registers the admin area with the server: its routes, each with
// its declared permission, and its home tiles.
func Routes(r app.Router, d app.Deps) {
	s := &handlers{Deps: d, r: r}
	admin := func(label, icon, url string) app.HomeLink {
		return app.HomeLink{Role: policies.RoleAdmin, Label: label, Icon: icon, URL: func(models.Grant) string { return url }}
	}
	r.AddHomeLinks(
		admin("admin.regions.title", "🗺️", "/admin/regions"),
		admin("admin.schools.title", "🏫", "/admin/schools"),
		admin("admin.users.title", "👤", "/admin/users"),
		admin("admin.audit.title", "📜", "/admin/audit"),
		app.HomeLink{Role: policies.RoleBureau, Label: "admin.audit.title", Icon: "📜", URL: func(models.Grant) string { return "/admin/audit" }},
		setupHomeLink(),
	)
	s.adminRoutes()
}

func (s *handlers) adminRoutes() {
	s.directoryRoutes()
	s.setupRoutes()
	g := s.r.Group("/admin")
	s.r.Route(g, http.MethodGet, "/regions", s.adminRegions, app.Allow("region", "read", nil))
	s.r.Route(g, http.MethodGet, "/schools", s.adminSchools, app.Allow("school", "list", nil))
	s.r.Route(g, http.MethodPost, "/schools", s.adminCreateSchool, app.Allow("school", "write", FormRegion("region_code")))
	s.r.Route(g, http.MethodGet, "/users", s.adminUsers, app.Allow("user", "read", nil))
	s.r.Route(g, http.MethodPost, "/users", s.adminCreateUser, app.Allow("user", "write", nil))
	s.r.Route(g, http.MethodGet, "/users/:id", s.adminUser, app.Allow("user", "read", nil))
	s.r.Route(g, http.MethodPost, "/users/:id/grants", s.adminGrant, app.Allow("user", "write", nil))
	s.r.Route(g, http.MethodPost, "/users/:id/revoke", s.adminRevoke, app.Allow("user", "write", nil))
	s.r.Route(g, http.MethodPost, "/users/:id/disable", s.adminDisable(true), app.Allow("user", "write", nil))
	s.r.Route(g, http.MethodPost, "/users/:id/enable", s.adminDisable(false), app.Allow("user", "write", nil))
	s.r.Route(g, http.MethodPost, "/users/:id/password", s.adminResetPassword, app.Allow("user", "write", nil))
	s.r.Route(g, http.MethodGet, "/audit", s.adminAudit, app.Allow("audit", "read", nil))
}

// FormRegion scopes a form post to the region named by a form field. An
// unknown region resolves to no region at all (only a "*" grant reaches
// it), so the handler can answer it with a clear 400.
func FormRegion(field string) app.Scope {
	return func(c echo.Context, s *app.Server) (models.Target, error) {
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

// --- regions ---------------------------------------------------------------

type regionView struct {
	Code, Name, Level, Parent string
	Schools                   int64
}

type adminRegionsData struct {
	Regions   []regionView
	CanCreate bool
	Form      *views.Form
}

func (s *handlers) adminRegions(c echo.Context) error {
	return s.renderRegions(c, http.StatusOK, nil, "")
}

func (s *handlers) renderRegions(c echo.Context, status int, form *views.Form, msg string) error {
	ctx := c.Request().Context()
	codes, err := s.regionReach(ctx, app.ViewerOf(c), "region", "read")
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
	data := adminRegionsData{Form: form}
	if data.CanCreate, err = s.Authz.AllowedAnywhere(app.ViewerOf(c).User.ID, "region", "write"); err != nil {
		return err
	}
	for _, r := range rows {
		v := regionView{Code: r.Code, Name: r.Name, Level: r.Level, Schools: r.Schools}
		if r.ParentCode != nil {
			v.Parent = strings.TrimSpace(names[*r.ParentCode] + " " + *r.ParentCode)
		}
		data.Regions = append(data.Regions, v)
	}
	return s.RenderWithError(c, status, "admin/regions", "admin.regions.title", msg, data)
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

func (s *handlers) renderSchools(c echo.Context, status int, f schoolForm, msg string) (err error) {
	defer models.Wrap(&err, "admin.renderSchools")
	ctx := c.Request().Context()
	v := app.ViewerOf(c)
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
	return s.RenderWithError(c, status, "admin/schools", "admin.schools.title", msg, data)
}

func (s *handlers) adminSchools(c echo.Context) error {
	return s.renderSchools(c, http.StatusOK, schoolForm{}, "")
}

func (s *handlers) adminCreateSchool(c echo.Context) error {
	var f schoolForm
	if err := app.Bind(c, &f); err != nil {
		return err
	}
	sc, err := models.CreateSchool(c.Request().Context(), s.DB, models.NewSchool(f))
	if err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderSchools(c, fe.Status, f, fe.Message)
		})
	}
	// A new school goes straight to its setup: terms, staff, classes, students.
	return app.RedirectWithFlash(c, "/schools/"+strconv.FormatInt(sc.ID, 10)+"/setup", "admin.schools.created")
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

func (s *handlers) renderUsers(c echo.Context, status int, f userForm, msg string) (err error) {
	defer models.Wrap(&err, "admin.renderUsers")
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
	return s.RenderWithError(c, status, "admin/users", "admin.users.title", msg, data)
}

func (s *handlers) adminUsers(c echo.Context) error {
	return s.renderUsers(c, http.StatusOK, userForm{}, "")
}

func (s *handlers) adminCreateUser(c echo.Context) error {
	var f userForm
	if err := app.Bind(c, &f); err != nil {
		return err
	}
	fail := func(err error) error {
		f.Password = ""
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderUsers(c, fe.Status, f, fe.Message)
		})
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
	Domains         []domainOption // every scope a role can be granted in, by name
	OneTimePassword string
	Self            bool
	Audit           []auditRow
}

type grantRow struct {
	Role, Domain, Scope string
}

// domainOption is a scope the grant form offers: chosen by name, not typed
// as `school:15`.
type domainOption struct{ Value, Label string }

func (s *handlers) domainOptions(ctx context.Context, tr *views.Translator) ([]domainOption, error) {
	out := []domainOption{{Value: policies.AllDomains, Label: tr.T("scope.all")}}
	regions, err := models.RegionsWithSchoolCounts(ctx, s.DB, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range regions {
		out = append(out, domainOption{Value: policies.RegionDomain(r.Code), Label: tr.T("scope.region", "Name", r.Name) + " " + r.Code})
	}
	var schools []models.School
	if err := s.DB.WithContext(ctx).Order("region_code, name").Find(&schools).Error; err != nil {
		return nil, err
	}
	for _, sc := range schools {
		out = append(out, domainOption{Value: policies.SchoolDomain(sc.ID), Label: tr.T("scope.school", "Name", sc.Name)})
	}
	return out, nil
}

type userPageExtras struct {
	OneTimePassword string
	Flash           string // message id shown at the top
	Error           string // localized message
}

func (s *handlers) renderUser(c echo.Context, status int, id int64, x userPageExtras) (err error) {
	defer models.Wrap(&err, "admin.renderUser")
	ctx := c.Request().Context()
	u, err := models.GetUser(ctx, s.DB, id)
	if err != nil {
		return err
	}
	grants, err := s.Authz.GrantsOf(u.ID)
	if err != nil {
		return err
	}
	tr := app.Translator(c)
	data := adminUserData{User: u, Roles: policies.Roles, OneTimePassword: x.OneTimePassword, Self: app.ViewerOf(c).User.ID == u.ID}
	for _, g := range grants {
		data.Grants = append(data.Grants, grantRow{Role: g.Role, Domain: g.Domain, Scope: s.ScopeName(c, tr, g.Domain)})
	}
	if data.Domains, err = s.domainOptions(ctx, tr); err != nil {
		return err
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
	p := s.Page(c, "admin.user.title", data)
	p.Error = x.Error
	if x.Flash != "" {
		p.Flash = tr.T(x.Flash)
	}
	if x.OneTimePassword != "" {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	return s.RenderPageModel(c, status, "admin/user", p)
}

func (s *handlers) adminUser(c echo.Context) error {
	id, err := app.ParamID(c, "id")
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
func (s *handlers) userAction(c echo.Context, fn func(ctx context.Context, id int64) (flash string, err error)) error {
	id, err := app.ParamID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := models.GetUser(ctx, s.DB, id); err != nil {
		return err
	}
	flash, err := fn(ctx, id)
	if err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderUser(c, fe.Status, id, userPageExtras{Error: fe.Message})
		})
	}
	return app.RedirectWithFlash(c, "/admin/users/"+strconv.FormatInt(id, 10), flash)
}

func (s *handlers) adminGrant(c echo.Context) error {
	var f grantForm
	if err := app.Bind(c, &f); err != nil {
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

func (s *handlers) adminRevoke(c echo.Context) error {
	var f grantForm
	if err := app.Bind(c, &f); err != nil {
		return err
	}
	return s.userAction(c, func(ctx context.Context, id int64) (string, error) {
		if id == app.ViewerOf(c).User.ID && f.Role == policies.RoleAdmin {
			return "", models.Invalid("account.cannot_revoke_own_admin", nil)
		}
		return "admin.user.revoked", s.Authz.Revoke(ctx, id, f.Role, f.Domain)
	})
}

func (s *handlers) adminDisable(disabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		return s.userAction(c, func(ctx context.Context, id int64) (string, error) {
			if disabled && id == app.ViewerOf(c).User.ID {
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

func (s *handlers) adminResetPassword(c echo.Context) error {
	var f passwordForm
	if err := app.Bind(c, &f); err != nil {
		return err
	}
	id, err := app.ParamID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pw := f.Password
	if pw == "" {
		pw = models.GeneratePassword()
	}
	if err := models.ResetPassword(ctx, s.DB, id, pw, f.Password == ""); err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderUser(c, fe.Status, id, userPageExtras{Error: fe.Message})
		})
	}
	if f.Password != "" {
		return app.RedirectWithFlash(c, "/admin/users/"+strconv.FormatInt(id, 10), "admin.user.password_set")
	}
	// A generated password is shown this once, never stored in clear.
	return s.renderUser(c, http.StatusOK, id, userPageExtras{OneTimePassword: pw, Flash: "admin.user.password_set"})
}

// --- audit log -------------------------------------------------------------

type auditRow struct {
	SettingKey string // a setting's key (message id of its name), for entity "setting"
	ID         int64
	At         string
	Actor      string
	Action     string
	Entity     string
	EntityID   string
	School     string
	SchoolID   int64
	Before     string
	After      string
	RequestID  string
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

func (s *handlers) adminAudit(c echo.Context) error {
	ctx := c.Request().Context()
	v := app.ViewerOf(c)
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
	return s.RenderPage(c, http.StatusOK, "admin/audit", "admin.audit.title", data)
}
