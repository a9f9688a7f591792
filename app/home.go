package app

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

func (s *Server) homeRoutes() {
	g := s.E.Group("")
	s.Route(g, http.MethodGet, "/", s.home, SignedIn())
}

// HomeLink is a tile on a role's home page. Each area adds its own through
// Router.AddHomeLinks; URL may depend on the viewer's grant.
type HomeLink struct {
	Role  string
	Label string // message id
	Icon  string
	URL   func(g models.Grant) string
}

type grantView struct {
	Role  string
	Scope string
}

type homeData struct {
	Grants []grantView
	Links  []views.NavLink
}

// linksFor lists the home tiles of the viewer's grants, without repeats.
func (s *Server) linksFor(v *Viewer) []views.NavLink {
	var out []views.NavLink
	seen := map[string]bool{}
	for _, g := range v.Grants {
		for _, l := range s.links {
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

func (s *Server) NavFor(c echo.Context, v *Viewer) []views.NavLink {
	links := s.linksFor(v)
	if len(links) > 6 {
		links = links[:6]
	}
	return append([]views.NavLink{{URL: "/", Label: "home.title"}}, links...)
}

func (s *Server) home(c echo.Context) error {
	v := ViewerOf(c)
	tr := Translator(c)
	data := homeData{Links: s.linksFor(v)}
	for _, g := range v.Grants {
		data.Grants = append(data.Grants, grantView{Role: g.Role, Scope: s.ScopeName(c, tr, g.Domain)})
	}
	return s.RenderPage(c, http.StatusOK, "home/home", "home.title", data)
}

func (s *Server) ScopeName(c echo.Context, tr *views.Translator, domain string) string {
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

// List is the body of every API list answer: {"items": [...]}.
type List[T any] struct {
	Items []T `json:"items"`
}

// ClassAccessOf works out the viewer's relation to a class; the check itself
// lives in models, next to the data it guards.
func (s *Server) ClassAccessOf(c echo.Context, cl *models.Class) (_ models.ClassAccess, err error) {
	defer models.Wrap(&err, "app.ClassAccessOf")
	v := ViewerOf(c)
	return models.ClassAccessFor(c.Request().Context(), s.DB, s.Authz, v.User.ID, v.Grants, cl)
}
