package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"jianfu/models"
)

type echoValidator struct{ v *validator.Validate }

func newValidator() *echoValidator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflectStructField) string {
		name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
		if name == "" || name == "-" {
			name = strings.SplitN(f.Tag.Get("form"), ",", 2)[0]
		}
		if name == "-" {
			return ""
		}
		return name
	})
	_ = v.RegisterValidation("date", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		if s == "" {
			return true
		}
		_, err := time.Parse(models.DateLayout, s)
		return err == nil
	})
	_ = v.RegisterValidation("hhmm", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		if s == "" {
			return true
		}
		_, err := time.Parse("15:04", s)
		return err == nil && len(s) == 5
	})
	return &echoValidator{v: v}
}

func (ev *echoValidator) Validate(i any) (err error) {
	defer models.Wrap(&err, "app.Validate")
	err = ev.v.Struct(i)
	var ve validator.ValidationErrors
	if errors.As(err, &ve) {
		fields := map[string]any{}
		names := make([]string, 0, len(ve))
		for _, fe := range ve {
			name := fe.Field()
			fields[name] = fe.Tag()
			names = append(names, name)
		}
		e := models.Invalid("error.validation", map[string]any{"Fields": strings.Join(names, ", ")})
		e.Code = "validation_failed"
		e.Details = map[string]any{"fields": fields}
		return e
	}
	return err
}

// bind decodes the request into req and validates it. Malformed bodies are a
// 400 with a message in the user's language, never a 500.
//
// A JSON body must be exactly one JSON value (trailing data is refused, not
// ignored), a PUT or PATCH must have a body (an empty one would replace data
// with nothing), and every decoded string, float and int must pass
// models.CheckValues (no NUL byte, NaN, ±Inf or int32 overflow).
func Bind(c echo.Context, req any) (err error) {
	defer models.Wrap(&err, "app.Bind")
	if err := checkBody(c); err != nil {
		return err
	}
	if err := c.Bind(req); err != nil {
		var he *echo.HTTPError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		isJSON := strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON)
		switch {
		case errors.As(err, &se), errors.As(err, &te), isJSON && errors.As(err, &he) && he.Code == 400:
			e := models.Invalid("error.bad_json", nil)
			e.Code = "bad_json"
			return e
		case errors.As(err, &he):
			e := models.Invalid("error.bad_request", nil)
			e.Code = "bad_request"
			return e
		}
		return models.Invalid("error.bad_request", nil)
	}
	if err := models.CheckValues(req); err != nil {
		return err
	}
	return c.Validate(req)
}

func isJSONRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON)
}

// checkBody reads a JSON body once, refuses trailing data or an empty
// replacing body, and puts the bytes back for the binder.
func checkBody(c echo.Context) error {
	r := c.Request()
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return nil
	}
	if !isJSONRequest(r) {
		if (r.Method == http.MethodPut || r.Method == http.MethodPatch) && r.ContentLength == 0 {
			return emptyBody()
		}
		return nil
	}
	if r.Body == nil {
		return emptyBody()
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return models.Invalid("error.bad_request", nil)
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	if len(bytes.TrimSpace(data)) == 0 {
		if r.Method == http.MethodPost {
			return nil // an action without parameters
		}
		return emptyBody()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return badJSON()
	}
	if _, err := dec.Token(); err != io.EOF {
		e := models.Invalid("error.json_trailing", nil)
		e.Code = "bad_json"
		return e
	}
	return nil
}

func emptyBody() error {
	e := models.Invalid("error.empty_body", nil)
	e.Code = "empty_body"
	return e
}

func badJSON() error {
	e := models.Invalid("error.bad_json", nil)
	e.Code = "bad_json"
	return e
}

// guardInput refuses, before any handler, a path, query or urlencoded form
// value with a NUL byte, another control character or invalid UTF-8: such
// input reached the database as a 500 in 40+ places. It also keeps the CSRF
// token out of the query string: a token in a URL leaks through logs and
// Referer headers, so only the header and the form body count.
func guardInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		path, err := url.PathUnescape(r.URL.EscapedPath())
		if err != nil || badText(path) {
			return fieldInvalid("path")
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return fieldInvalid("query")
		}
		for k, vs := range q {
			if badText(k) {
				return fieldInvalid("query")
			}
			for _, v := range vs {
				if badText(v) {
					return fieldInvalid(k)
				}
			}
		}
		if q.Has("_csrf") {
			q.Del("_csrf")
			r.URL.RawQuery = q.Encode()
		}
		if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationForm) {
			if err := r.ParseForm(); err != nil {
				return fieldInvalid("body")
			}
			for k, vs := range r.PostForm {
				for _, v := range vs {
					if err := models.CheckText(k, v); err != nil {
						return err
					}
				}
			}
		}
		return next(c)
	}
}

// badText: a NUL or other C0 control (tab, CR and LF aside) or invalid UTF-8.
func badText(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f })
}

func fieldInvalid(field string) error {
	if err := models.CheckText(field, "\x00"); err != nil {
		return err
	}
	return nil
}

type reflectStructField = reflect.StructField
