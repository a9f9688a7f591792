package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/app"
	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/seed"
)

// env is a real server (real router, auth, Casbin, database) over the demo
// district, with a few students per class to keep tests quick.
type env struct {
	t        *testing.T
	DB       *gorm.DB
	Srv      *app.Server
	HTTP     *httptest.Server
	District *seed.District
}

// testToday is the fixed "today" of the test district: a Wednesday in term.
const testToday = "2026-11-25"

func newEnv(t *testing.T, d models.Dialect) *env {
	t.Helper()
	db := dbtest.Open(t, d)
	srv, err := app.New(app.Config{Now: func() time.Time {
		tm, _ := time.ParseInLocation("2006-01-02 15:04", testToday+" 18:00", time.FixedZone("CST", 8*3600))
		return tm
	}}, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	dist, err := seed.Demo(context.Background(), db, srv.Authz, seed.Options{Seed: 1, Today: testToday, StudentsPerClass: 4})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.E)
	t.Cleanup(hs.Close)
	return &env{t: t, DB: db, Srv: srv, HTTP: hs, District: dist}
}

// eachEnv runs fn on a fresh server per dialect.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, newEnv(t, d)) })
	}
}

// client is an API client signed in with a bearer token.
type client struct {
	e     *env
	token string
}

func (e *env) login(username string) *client {
	e.t.Helper()
	status, body := (&client{e: e}).do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": seed.DemoPassword})
	if status != http.StatusOK {
		e.t.Fatalf("login %s: %d %v", username, status, body)
	}
	return &client{e: e, token: body["token"].(string)}
}

// do sends a JSON request and decodes a JSON object answer.
func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.e.t.Helper()
	status, raw := c.raw(method, path, body)
	out := map[string]any{}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.e.t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return status, out
}

func (c *client) raw(method, path string, body any) (int, []byte) {
	c.e.t.Helper()
	var r io.Reader
	if s, ok := body.(string); ok {
		r = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.e.HTTP.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// items returns the "items" list of a list answer.
func items(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

// school returns the demo school whose accounts carry key (hz1, xq1).
func (e *env) school(name string) models.School {
	for _, s := range e.District.Schools {
		if s.Name == name {
			return s
		}
	}
	e.t.Fatalf("no school %s", name)
	return models.School{}
}

// hz1 is the nine-year school of 海州区 with the demo accounts.
func (e *env) hz1() models.School { return e.school("阜新市海州区实验学校") }

// class finds a class of a school by grade and number.
func (e *env) class(schoolID int64, grade, number int) models.Class {
	for _, c := range e.District.Classes[schoolID] {
		if c.Grade == grade && c.Number == number {
			return c
		}
	}
	e.t.Fatalf("no class %d-%d in school %d", grade, number, schoolID)
	return models.Class{}
}

// browser is a cookie-holding client for the HTML pages.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar := newJar()
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.HTTP.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.e.t.Helper()
	resp, err := b.c.PostForm(b.e.HTTP.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// csrf reads the CSRF token that a page embeds in its forms.
func csrfFrom(t *testing.T, page string) string {
	t.Helper()
	const marker = `name="_csrf" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatal("no CSRF token in page")
	}
	rest := page[i+len(marker):]
	return rest[:strings.Index(rest, `"`)]
}

// signIn logs a browser in through the login form.
func (b *browser) signIn(username string) {
	b.e.t.Helper()
	_, page := b.get("/login")
	status, _, _ := b.post("/login", url.Values{"_csrf": {csrfFrom(b.e.t, page)}, "username": {username}, "password": {seed.DemoPassword}})
	if status != http.StatusSeeOther {
		b.e.t.Fatalf("sign in %s: status %d", username, status)
	}
}
