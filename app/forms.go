package app

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/views"
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
// typed — with the message at the top (the page scrolls to it), a message
// next to each field at fault (labels in the user's language) and status
// 422 (429 when throttled). Anything else (not found, forbidden, a database
// failure) passes through to the error handler, which picks its own status.
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
	status := http.StatusUnprocessableEntity
	switch e.Kind {
	case models.KindTooMany, models.KindUnauthorized:
		status = StatusOf(err) // 429 throttled, 401 a wrong password
	}
	f := FormError{Status: status, Message: tr.T(e.MsgID, LocalParams(tr, e)), Fields: map[string]string{}, Details: e.Details}
	if r, ok := e.Details["rule"]; ok {
		f.Rule = fmt.Sprint(r)
		if !strings.Contains(f.Message, f.Rule) {
			f.Message += " (" + f.Rule + ")"
		}
	}
	if e.Field != "" {
		f.Fields[e.Field] = f.Message
	}
	if fields, ok := e.Details["fields"].(map[string]any); ok {
		for name, tag := range fields {
			f.Fields[name] = tr.T("field.error."+validationKind(fmt.Sprint(tag)), "Field", FieldLabel(tr, name))
		}
	}
	return rerender(f)
}

// Form is the refusal as the page's form state: form name (which form of the
// page was sent), what was typed and the message per field.
func (f FormError) Form(c echo.Context, name string) *views.Form {
	vals := c.Request().PostForm
	if vals == nil {
		_ = c.Request().ParseForm()
		vals = c.Request().PostForm
	}
	return &views.Form{Name: name, Values: vals, Errors: f.Fields, Summary: []string{f.Message}}
}

// FieldLabel is a form field's name for people: the catalog's field.<name>.
func FieldLabel(tr *views.Translator, name string) string { return tr.T("field." + name) }

// validationKind groups validator tags into the few messages people read.
func validationKind(tag string) string {
	switch tag {
	case "required", "required_if", "required_with":
		return "required"
	case "max", "lte", "lt":
		return "too_long"
	case "min", "gte", "gt":
		return "too_small"
	default:
		return "invalid"
	}
}

// LocalParams are an error's message parameters for people: a validation
// failure's field list becomes the fields' labels in the user's language
// (it said 「输入有误：title, minutes」).
func LocalParams(tr *views.Translator, e *models.Error) map[string]any {
	fields, ok := e.Details["fields"].(map[string]any)
	if !ok || e.Code != "validation_failed" {
		return e.Params
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	labels := make([]string, len(names))
	for i, n := range names {
		labels[i] = FieldLabel(tr, n)
	}
	out := map[string]any{}
	for k, v := range e.Params {
		out[k] = v
	}
	out["Fields"] = strings.Join(labels, tr.T("list.sep"))
	return out
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
