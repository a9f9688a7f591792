package app

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

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
		var err error
		kind := ""
		if t := bearerToken(c); t != "" {
			u, err = models.UserBySession(ctx, s.DB, t, models.SessionBearer)
			kind = models.SessionBearer
		} else if ck, cerr := c.Cookie(SessionCookie); cerr == nil {
			u, err = models.UserBySession(ctx, s.DB, ck.Value, models.SessionCookie)
			kind = models.SessionCookie
		}
		// No live session is "not signed in"; a database that cannot tell is
		// a 503 (logged by the error handler), never a false "please sign in".
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if u != nil {
			// Pages of a signed-in user are theirs alone: no shared or
			// browser cache may keep them.
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
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

// SafeNext keeps redirects on this site: a path of this site or "/".
// Browsers read a backslash as a slash ("/\evil" is "//evil", another host)
// and drop tabs and newlines inside URLs, so any of those, a scheme, a host
// or a leading "//" sends the user home instead.
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\") || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
		!utf8.ValidString(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || u.Scheme != "" || u.Opaque != "" || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	// The path once decoded must not turn into another host either
	// ("/%5Cevil", "/%2F/evil").
	if dec, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(dec, "//") || strings.ContainsAny(dec, "\\") {
		return "/"
	}
	return next
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(SessionCookie); err == nil {
		if err := models.DeleteSession(c.Request().Context(), s.DB, ck.Value); err != nil {
			return models.Unavailable(err) // the session would stay valid: say so
		}
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

// apiLogout ends the session the request came with: the bearer token, or
// the cookie session of a browser calling the API (which must not stay valid).
func (s *Server) apiLogout(c echo.Context) error {
	token := bearerToken(c)
	if token == "" {
		if ck, err := c.Cookie(SessionCookie); err == nil {
			token = ck.Value
			c.SetCookie(&http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true})
		}
	}
	if token != "" {
		if err := models.DeleteSession(c.Request().Context(), s.DB, token); err != nil {
			return models.Unavailable(err)
		}
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) apiMe(c echo.Context) error { return c.JSON(http.StatusOK, toMe(ViewerOf(c))) }
