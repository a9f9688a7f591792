package app

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

func (s *Server) coreRoutes() {
	g := s.E.Group("")
	s.route(g, http.MethodGet, "/", s.home, SignedIn())
	api := s.E.Group("/api/v1")
	s.route(api, http.MethodGet, "/schools", s.apiSchools, Allow("school", "list", nil))
	s.route(api, http.MethodGet, "/schools/:school/classes", s.apiClasses, Allow("class", "read", SchoolParam("school")))
	s.route(api, http.MethodGet, "/classes/:class/students", s.apiStudents, Allow("student", "read", ClassParam("class")))
}

// HomeLink is a tile on a role's home page. Each area adds its own in an
// init func with addHomeLinks; URL may depend on the viewer's grant.
type HomeLink struct {
	Role  string
	Label string // message id
	Icon  string
	URL   func(g models.Grant) string
}

var homeLinks []HomeLink

func addHomeLinks(l ...HomeLink) { homeLinks = append(homeLinks, l...) }

type grantView struct {
	Role  string
	Scope string
}

type homeData struct {
	Grants []grantView
	Links  []views.NavLink
}

// linksFor lists the home tiles of the viewer's grants, without repeats.
func linksFor(v *Viewer) []views.NavLink {
	var out []views.NavLink
	seen := map[string]bool{}
	for _, g := range v.Grants {
		for _, l := range homeLinks {
			if l.Role != g.Role {
				continue
			}
			u := l.URL(g)
			if seen[u] {
				continue
			}
			seen[u] = true
			out = append(out, views.NavLink{URL: u, Label: l.Label, Icon: l.Icon})
		}
	}
	return out
}

func (s *Server) navFor(c echo.Context, v *Viewer) []views.NavLink {
	links := linksFor(v)
	if len(links) > 6 {
		links = links[:6]
	}
	return append([]views.NavLink{{URL: "/", Label: "home.title"}}, links...)
}

func (s *Server) home(c echo.Context) error {
	v := viewerOf(c)
	tr := translator(c)
	data := homeData{Links: linksFor(v)}
	for _, g := range v.Grants {
		data.Grants = append(data.Grants, grantView{Role: g.Role, Scope: s.scopeName(c, tr, g.Domain)})
	}
	return s.renderPage(c, http.StatusOK, "home/home", "home.title", data)
}

func (s *Server) scopeName(c echo.Context, tr *views.Translator, domain string) string {
	kind, key, _ := policies.ParseDomain(domain)
	ctx := c.Request().Context()
	switch kind {
	case "school":
		id, _ := strconv.ParseInt(key, 10, 64)
		if sc, err := models.GetSchool(ctx, s.DB, id); err == nil {
			return tr.T("scope.school", "Name", sc.Name)
		}
	case "region":
		if r, err := models.GetRegion(ctx, s.DB, key); err == nil {
			return tr.T("scope.region", "Name", r.Name)
		}
	}
	return tr.T("scope.all")
}

// SchoolItem is a school in API lists.
type SchoolItem struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	RegionCode string `json:"region_code"`
	Stage      string `json:"stage"`
}

type list[T any] struct {
	Items []T `json:"items"`
}

func (s *Server) apiSchools(c echo.Context) error {
	schools, err := s.Authz.VisibleSchools(c.Request().Context(), viewerOf(c).User.ID, "school", "list")
	if err != nil {
		return err
	}
	out := list[SchoolItem]{Items: make([]SchoolItem, 0, len(schools))}
	for _, sc := range schools {
		out.Items = append(out.Items, SchoolItem{ID: sc.ID, Name: sc.Name, RegionCode: sc.RegionCode, Stage: sc.Stage})
	}
	return c.JSON(http.StatusOK, out)
}

// ClassItem is a class in API lists.
type ClassItem struct {
	ID            int64  `json:"id"`
	Grade         int    `json:"grade"`
	Number        int    `json:"number"`
	Name          string `json:"name"`
	HeadTeacherID *int64 `json:"head_teacher_id"`
}

func (s *Server) apiClasses(c echo.Context) error {
	classes, err := models.ClassesOfSchool(c.Request().Context(), s.DB, TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	out := list[ClassItem]{Items: make([]ClassItem, 0, len(classes))}
	for _, cl := range classes {
		out.Items = append(out.Items, ClassItem{ID: cl.ID, Grade: cl.Grade, Number: cl.Number, Name: cl.Name, HeadTeacherID: cl.HeadTeacherID})
	}
	return c.JSON(http.StatusOK, out)
}

// StudentItem is a student in API lists.
type StudentItem struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// apiStudents lists a class's students to the staff of that class: school
// leaders, its head teacher and the teachers who teach it.
func (s *Server) apiStudents(c echo.Context) error {
	cl := ClassOf(c)
	acc, err := s.classAccess(c, cl)
	if err != nil {
		return err
	}
	if !acc.Staff() {
		return models.ErrNotFound
	}
	students, err := models.StudentsOfClass(c.Request().Context(), s.DB, cl.SchoolID, cl.ID)
	if err != nil {
		return err
	}
	out := list[StudentItem]{Items: make([]StudentItem, 0, len(students))}
	for _, st := range students {
		out.Items = append(out.Items, StudentItem{ID: st.ID, Name: st.Name})
	}
	return c.JSON(http.StatusOK, out)
}

// ClassAccess is how the viewer relates to a class, below the school level.
type ClassAccess struct {
	Leader   bool // principal or academic director of the school
	Head     bool // the class's head teacher
	Teaches  bool // teaches a subject in the class
	Guardian bool // guardian of a student in the class
	Overseer bool // bureau or admin reaching the school (read only)
}

// Staff reports whether the viewer works with the class.
func (a ClassAccess) Staff() bool { return a.Leader || a.Head || a.Teaches }

// Any reports whether the viewer has any reason to see the class.
func (a ClassAccess) Any() bool { return a.Staff() || a.Guardian || a.Overseer }

// classAccess works out the viewer's relation to a class (ownership checked
// next to the query, as DESIGN.md asks).
func (s *Server) classAccess(c echo.Context, cl *models.Class) (ClassAccess, error) {
	v := viewerOf(c)
	ctx := c.Request().Context()
	var a ClassAccess
	a.Leader = s.Authz.HasRoleIn(v.User.ID, policies.RolePrincipal, cl.SchoolID) || s.Authz.HasRoleIn(v.User.ID, policies.RoleAcademic, cl.SchoolID)
	a.Head = cl.HeadTeacherID != nil && *cl.HeadTeacherID == v.User.ID
	var err error
	if a.Teaches, err = models.TeachesClass(ctx, s.DB, v.User.ID, cl.ID); err != nil {
		return a, err
	}
	if a.Guardian, err = models.GuardsClass(ctx, s.DB, v.User.ID, cl.ID); err != nil {
		return a, err
	}
	if v.HasRole(policies.RoleBureau) || v.HasRole(policies.RoleAdmin) {
		ok, _, err := s.Authz.Allowed(ctx, v.User.ID, models.Target{SchoolID: cl.SchoolID}, "school", "read")
		if err != nil {
			return a, err
		}
		a.Overseer = ok
	}
	return a, nil
}
