package app

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"jianfu/models"
)

// Permission is what a route requires. Every route declares one where it is
// registered; TestEveryRouteDeclaresPermission walks echo.Routes() for it.
type Permission struct {
	Resource string
	Action   string
	Scope    Scope // resolves the school or region the request is about; nil: any grant
	Public   bool  // no sign-in needed
	SignedIn bool  // any signed-in user, no role needed (own profile, home)
}

// Scope finds what a request is about, from its path parameters.
type Scope func(c echo.Context, s *Server) (models.Target, error)

// Public is for routes anyone may call (login, static files, health).
func Public() Permission { return Permission{Public: true} }

// SignedIn is for routes every signed-in user may call.
func SignedIn() Permission { return Permission{SignedIn: true} }

// Allow requires resource/action in the domain chain of the scope's target.
func Allow(resource, action string, scope Scope) Permission {
	return Permission{Resource: resource, Action: action, Scope: scope}
}

// route registers a handler with its declared permission.
func (s *Server) Route(g *echo.Group, method, path string, h echo.HandlerFunc, p Permission) {
	r := g.Add(method, path, h, s.authorize(p))
	s.perms[r.Method+" "+r.Path] = p
}

// PermissionOf returns the permission declared for a registered route.
func (s *Server) PermissionOf(method, path string) (Permission, bool) {
	p, ok := s.perms[method+" "+path]
	return p, ok
}

func (s *Server) authorize(p Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p.Public {
				return next(c)
			}
			v := ViewerOf(c)
			if v == nil {
				return ErrUnauthenticated
			}
			if p.SignedIn {
				return next(c)
			}
			if p.Scope == nil {
				ok, err := s.Authz.AllowedAnywhere(v.User.ID, p.Resource, p.Action)
				if err != nil {
					return err
				}
				if !ok {
					return ErrForbidden
				}
				return next(c)
			}
			t, err := p.Scope(c, s)
			if err != nil {
				return err
			}
			ok, reaches, err := s.Authz.Allowed(c.Request().Context(), v.User.ID, t, p.Resource, p.Action)
			if err != nil {
				return models.NotFoundIf(err)
			}
			if !ok {
				if !reaches {
					return models.ErrNotFound // another school's: don't reveal it exists
				}
				return ErrForbidden
			}
			c.Set(targetKey, t)
			return next(c)
		}
	}
}

const targetKey = "jianfu.target"

// TargetOf is the school or region the authorize middleware resolved.
func TargetOf(c echo.Context) models.Target {
	t, _ := c.Get(targetKey).(models.Target)
	return t
}

var (
	ErrUnauthenticated = &models.Error{Kind: models.KindUnauthorized, Code: "unauthenticated", MsgID: "auth.required"}
	ErrForbidden       = &models.Error{Kind: models.KindForbidden, Code: "forbidden", MsgID: "error.forbidden"}
)

// paramID parses an integer path parameter; a bad one is a 404, like a missing row.
func ParamID(c echo.Context, name string) (_ int64, err error) {
	defer models.Wrap(&err, "app.ParamID")
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.ErrNotFound
	}
	return id, nil
}

// SchoolParam scopes a route to the school in path parameter name.
func SchoolParam(name string) Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		id, err := ParamID(c, name)
		if err != nil {
			return models.Target{}, err
		}
		return models.Target{SchoolID: id}, nil
	}
}

// ClassParam scopes a route to the school of the class in path parameter
// name, and keeps the class for the handler (ClassOf).
func ClassParam(name string) Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		id, err := ParamID(c, name)
		if err != nil {
			return models.Target{}, err
		}
		cl, err := models.GetClass(c.Request().Context(), s.DB, id)
		if err != nil {
			return models.Target{}, err
		}
		c.Set(classKey, cl)
		return models.Target{SchoolID: cl.SchoolID}, nil
	}
}

const classKey = "jianfu.class"

// ClassOf is the class resolved by ClassParam.
func ClassOf(c echo.Context) *models.Class {
	cl, _ := c.Get(classKey).(*models.Class)
	return cl
}

// RegionParam scopes a route to the region in path parameter name.
func RegionParam(name string) Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		code := c.Param(name)
		if _, err := models.GetRegion(c.Request().Context(), s.DB, code); err != nil {
			return models.Target{}, err
		}
		return models.Target{RegionCode: code}, nil
	}
}

// SchoolOf scopes a route by looking up the school of a row: lookup gets the
// id in path parameter name and returns the school id of that row.
func SchoolOf(name string, lookup func(c echo.Context, s *Server, id int64) (int64, error)) Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		id, err := ParamID(c, name)
		if err != nil {
			return models.Target{}, err
		}
		school, err := lookup(c, s, id)
		if err != nil {
			return models.Target{}, models.NotFoundIf(err)
		}
		return models.Target{SchoolID: school}, nil
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// SetClass keeps a class a scope resolved for the handler (ClassOf).
func SetClass(c echo.Context, cl *models.Class) { c.Set(classKey, cl) }

// SetViewer signs a request in as v, for routes that authenticate by other
// means than a session (the calendar feed's token).
func SetViewer(c echo.Context, v *Viewer) { c.Set(viewerKey, v) }

// SchoolItem is a school in API lists.
type SchoolItem struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	RegionCode string `json:"region_code"`
	Stage      string `json:"stage"`
}
