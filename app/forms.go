package app

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/models"
)

// FormError is what a refused form shows: the message at the top, the rule
// that said no (if any), a message per field, and the status of the answer.
type FormError struct {
	Status  int
	Message string
	Rule    string
	Fields  map[string]string // form field name → translated message
	Details map[string]any    // the error's details (violations, limits)
}

// FormFailure is the one answer to a refused form on every page. When err is
// the user's to fix (malformed input, a rule, a conflict, throttling, a
// wrong password),
// rerender draws the same page again — the caller's data keeps what was
// typed — with the message and the status from the error table. Anything
// else (not found, forbidden, a database failure) passes through to the
// error handler, which picks its own status.
func (s *Server) FormFailure(c echo.Context, err error, rerender func(f FormError) error) error {
	e, ok := models.AsError(err)
	if !ok {
		return err
	}
	switch e.Kind {
	case models.KindInvalid, models.KindRule, models.KindConflict, models.KindTooMany, models.KindUnauthorized, models.KindTooLarge:
	default:
		return err
	}
	if e.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	tr := Translator(c)
	f := FormError{Status: StatusOf(err), Message: tr.T(e.MsgID, e.Params), Fields: map[string]string{}, Details: e.Details}
	if r, ok := e.Details["rule"]; ok {
		f.Rule = fmt.Sprint(r)
	}
	if fields, ok := e.Details["fields"].(map[string]any); ok {
		for name := range fields {
			f.Fields[name] = f.Message
		}
	}
	return rerender(f)
}

// RefusePage is FormFailure for the common case: page name is drawn again
// with data and the refusal's message.
func (s *Server) RefusePage(c echo.Context, err error, name, title string, data any) error {
	return s.FormFailure(c, err, func(f FormError) error {
		return s.RenderWithError(c, f.Status, name, title, f.Message, data)
	})
}

// RenderWithError renders a page with a message at the top (a refusal).
func (s *Server) RenderWithError(c echo.Context, status int, name, title, msg string, data any) (err error) {
	defer models.Wrap(&err, "app.RenderWithError")
	p := s.Page(c, title, data)
	p.Error = msg
	return s.RenderPageModel(c, status, name, p)
}

// StatusOf is the HTTP status of err from the one table (500 for errors that
// are not the user's).
func StatusOf(err error) int {
	if e, ok := models.AsError(err); ok {
		if st := statusOf[e.Kind]; st != 0 {
			return st
		}
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
