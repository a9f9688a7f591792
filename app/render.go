package app

import (
	"bytes"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/views"
)

// Render implements echo.Renderer: data is a *views.Page.
func (s *Server) Render(w io.Writer, name string, data any, c echo.Context) (err error) {
	defer models.Wrap(&err, "app.Render")
	return s.views.Execute(w, name, data)
}

// page builds the chrome of a page for the current user.
func (s *Server) Page(c echo.Context, title string, data any) *views.Page {
	p := &views.Page{Translator: Translator(c), Title: title, Data: data, Path: c.Request().URL.Path, RequestID: RequestID(c)}
	if tok, ok := c.Get("csrf").(string); ok {
		p.CSRF = tok
	}
	if v := ViewerOf(c); v != nil {
		p.User = v.User
		p.UserName = v.User.DisplayName
		p.Nav = s.NavFor(c, v)
	}
	if f, err := c.Cookie("flash"); err == nil && f.Value != "" {
		p.Flash = Translator(c).T(f.Value)
		c.SetCookie(&http.Cookie{Name: "flash", Path: "/", MaxAge: -1})
	}
	return p
}

// renderPage renders a page into a buffer, then writes it with status.
func (s *Server) RenderPage(c echo.Context, status int, name, title string, data any) (err error) {
	defer models.Wrap(&err, "app.RenderPage")
	var buf bytes.Buffer
	if err := s.views.Execute(&buf, name, s.Page(c, title, data)); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// redirectWithFlash answers a successful form post with 303 and a message id
// shown once on the next page.
func RedirectWithFlash(c echo.Context, to, msgID string) (err error) {
	defer models.Wrap(&err, "app.RedirectWithFlash")
	c.SetCookie(&http.Cookie{Name: "flash", Value: msgID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	return c.Redirect(http.StatusSeeOther, to)
}

var _ = views.Page{}
