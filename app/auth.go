package app

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/views"
)

// Viewer is the signed-in user of a request and their grants.
type Viewer struct {
	User   *models.User
	Grants []models.Grant
	Kind   string // cookie or bearer
}

const viewerKey = "jianfu.viewer"

func ViewerOf(c echo.Context) *Viewer {
	v, _ := c.Get(viewerKey).(*Viewer)
	return v
}

// HasRole reports whether the viewer holds role in any domain.
func (v *Viewer) HasRole(role string) bool {
	for _, g := range v.Grants {
		if g.Role == role {
			return true
		}
	}
	return false
}

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "jianfu_session"

func bearerToken(c echo.Context) string {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// authenticate resolves a bearer token or session cookie to a Viewer and puts
// the actor into the request context for the audit log. It never refuses a
// request itself: routes do, by their declared permission.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		var u *models.User
		kind := ""
		if t := bearerToken(c); t != "" {
			u, _ = models.UserBySession(ctx, s.DB, t, models.SessionBearer)
			kind = models.SessionBearer
		} else if ck, err := c.Cookie(SessionCookie); err == nil {
			u, _ = models.UserBySession(ctx, s.DB, ck.Value, models.SessionCookie)
			kind = models.SessionCookie
		}
		if u != nil {
			grants, err := s.Authz.GrantsOf(u.ID)
			if err != nil {
				return err
			}
			c.Set(viewerKey, &Viewer{User: u, Grants: grants, Kind: kind})
		}
		actor := models.Actor{RequestID: RequestID(c)}
		if u != nil {
			actor.UserID = u.ID
		}
		c.SetRequest(c.Request().WithContext(models.WithActor(ctx, actor)))
		return next(c)
	}
}

func (s *Server) authRoutes() {
	g := s.E.Group("")
	s.Route(g, http.MethodGet, "/login", s.loginPage, Public())
	s.Route(g, http.MethodPost, "/login", s.loginSubmit, Public())
	s.Route(g, http.MethodPost, "/logout", s.logout, SignedIn())
	s.Route(g, http.MethodGet, "/lang/:lang", s.switchLanguage, Public())
	api := s.E.Group("/api/v1")
	s.Route(api, http.MethodPost, "/auth/login", s.apiLogin, Public())
	s.Route(api, http.MethodPost, "/auth/logout", s.apiLogout, SignedIn())
	s.Route(api, http.MethodGet, "/me", s.apiMe, SignedIn())
}

type loginForm struct {
	Username string `json:"username" form:"username" validate:"required,max=64"`
	Password string `json:"password" form:"password" validate:"required,max=256"`
	Next     string `json:"-" form:"next"`
}

type loginPageData struct {
	Next     string
	Username string
}

func (s *Server) loginPage(c echo.Context) error {
	if ViewerOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.RenderPage(c, http.StatusOK, "auth/login", "auth.login_title", loginPageData{Next: SafeNext(c.QueryParam("next"))})
}

func (s *Server) loginSubmit(c echo.Context) error {
	var f loginForm
	if err := c.Bind(&f); err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	u, err := models.Authenticate(c.Request().Context(), s.DB, f.Username, f.Password, c.RealIP())
	if err != nil {
		return s.FormFailure(c, err, func(fe FormError) error {
			return s.RenderWithError(c, fe.Status, "auth/login", "auth.login_title", fe.Message,
				loginPageData{Next: SafeNext(f.Next), Username: f.Username})
		})
	}
	token, err := models.CreateSession(c.Request().Context(), s.DB, u.ID, models.SessionCookie, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.Cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(models.CookieTTL.Seconds())})
	return c.Redirect(http.StatusSeeOther, SafeNext(f.Next))
}

func (s *Server) RenderPageModel(c echo.Context, status int, name string, p *views.Page) (err error) {
	defer models.Wrap(&err, "app.RenderPageModel")
	var b strings.Builder
	if err := s.views.Execute(&b, name, p); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

// safeNext keeps redirects on this site.
func SafeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(SessionCookie); err == nil {
		_ = models.DeleteSession(c.Request().Context(), s.DB, ck.Value)
	}
	c.SetCookie(&http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true})
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) switchLanguage(c echo.Context) error {
	lang := views.MatchLanguage(c.Param("lang"), "")
	c.SetCookie(&http.Cookie{Name: "lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, SafeNext(c.QueryParam("next")))
}

type meResponse struct {
	ID          int64          `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	SchoolID    *int64         `json:"school_id,omitempty"`
	Grants      []models.Grant `json:"grants"`
}

func toMe(v *Viewer) meResponse {
	return meResponse{ID: v.User.ID, Username: v.User.Username, DisplayName: v.User.DisplayName, SchoolID: v.User.SchoolID, Grants: v.Grants}
}

type loginResponse struct {
	Token string     `json:"token"`
	User  meResponse `json:"user"`
}

func (s *Server) apiLogin(c echo.Context) error {
	var f loginForm
	if err := Bind(c, &f); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := models.Authenticate(ctx, s.DB, f.Username, f.Password, c.RealIP())
	if err != nil {
		return err
	}
	token, err := models.CreateSession(ctx, s.DB, u.ID, models.SessionBearer, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	grants, err := s.Authz.GrantsOf(u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginResponse{Token: token, User: toMe(&Viewer{User: u, Grants: grants})})
}

func (s *Server) apiLogout(c echo.Context) error {
	if t := bearerToken(c); t != "" {
		if err := models.DeleteSession(c.Request().Context(), s.DB, t); err != nil {
			return err
		}
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) apiMe(c echo.Context) error { return c.JSON(http.StatusOK, toMe(ViewerOf(c))) }
