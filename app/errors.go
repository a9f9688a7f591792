package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/views"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[models.Kind]int{
	models.KindNotFound:     http.StatusNotFound,
	models.KindInvalid:      http.StatusBadRequest,
	models.KindRule:         http.StatusUnprocessableEntity,
	models.KindConflict:     http.StatusConflict,
	models.KindForbidden:    http.StatusForbidden,
	models.KindUnauthorized: http.StatusUnauthorized,
	models.KindTooMany:      http.StatusTooManyRequests,
	models.KindTooLarge:     http.StatusRequestEntityTooLarge,
	models.KindUnavailable:  http.StatusServiceUnavailable,
}

// apiError is the body of every API error.
type apiError struct {
	Error   string         `json:"error"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// handleError renders every error: JSON under /api, a page elsewhere. Only
// 5xx are logged as errors; their cause never reaches the client.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	tr := Translator(c)
	status, body := http.StatusInternalServerError, apiError{Error: "internal", Message: tr.T("error.internal")}
	var he *echo.HTTPError
	// A database that does not answer is the server's trouble, not the
	// client's: 503 with Retry-After, whatever error wraps it.
	if models.IsUnavailable(err) {
		if e, ok := models.AsError(err); !ok || e.Kind != models.KindUnavailable {
			err = models.Unavailable(err)
		}
	}
	if e, ok := models.AsError(err); ok {
		if e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		}
		status = statusOf[e.Kind]
		if status == 0 {
			status = http.StatusBadRequest
		}
		body = apiError{Error: e.Code, Message: tr.T(e.MsgID, LocalParams(tr, e)), Details: e.Details}
	} else if errors.As(err, &he) {
		status = he.Code
		body = apiError{Error: strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")), Message: tr.T(httpMessage(he.Code))}
	}
	if status >= 500 {
		slog.Error("request failed", "err", err, "path", c.Path(), "request_id", RequestID(c))
	}
	if status == http.StatusUnauthorized && !IsAPI(c) {
		_ = c.Redirect(http.StatusSeeOther, "/login?next="+c.Request().URL.RequestURI())
		return
	}
	if IsAPI(c) || c.Request().Header.Get("HX-Request") == "true" && strings.Contains(c.Request().Header.Get("Accept"), "json") {
		_ = c.JSON(status, body)
		return
	}
	rule, _ := body.Details["rule"].(string)
	data := errorPage{Status: status, Message: body.Message, Rule: rule}
	if rerr := s.RenderPage(c, status, "home/error", "error.title", data); rerr != nil {
		_ = c.String(status, body.Message)
	}
}

type errorPage struct {
	Status  int
	Message string
	Rule    string
}

func httpMessage(code int) string {
	switch code {
	case http.StatusNotFound:
		return "error.not_found"
	case http.StatusMethodNotAllowed:
		return "error.method"
	case http.StatusRequestEntityTooLarge:
		return "error.too_large"
	case http.StatusForbidden:
		return "error.forbidden"
	case http.StatusUnauthorized:
		return "auth.required"
	}
	if code < 500 {
		return "error.bad_request"
	}
	return "error.internal"
}

func IsAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

func RequestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// recoverPanics turns a panic into a logged 500 with a clean body.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				slog.Error("panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()), "request_id", RequestID(c))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

func Translator(c echo.Context) *views.Translator {
	if t, ok := c.Get("jianfu.tr").(*views.Translator); ok {
		return t
	}
	lang := ""
	if ck, err := c.Cookie("lang"); err == nil {
		lang = ck.Value
	}
	t := views.NewTranslator(views.MatchLanguage(lang, c.Request().Header.Get("Accept-Language")))
	c.Set("jianfu.tr", t)
	return t
}
