package app

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

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
func Bind(c echo.Context, req any) (err error) {
	defer models.Wrap(&err, "app.Bind")
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
	return c.Validate(req)
}

type reflectStructField = reflect.StructField
