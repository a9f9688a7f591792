// Package apptest is the HTTP test harness of every area: a real server (real
// router, auth, Casbin, database) over the demo district, API and browser
// clients that sign in for real, and helpers to read the database.
//
// The demo district is seeded once per test binary and dialect into a
// template — a file on SQLite, a database on PostgreSQL — and each Env gets
// a copy of it (a file copy; CREATE DATABASE … TEMPLATE), so a package's
// tests do not seed the district again and again and can run in parallel.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/app"
	"jianfu/app/areas"
	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/seed"
)

// Today is the fixed "today" of the test district: a Wednesday in term.
const Today = "2026-11-25"

// Now is the clock of every test server: Today at 18:00 in China.
func Now() time.Time {
	tm, _ := time.ParseInLocation("2006-01-02 15:04", Today+" 18:00", time.FixedZone("CST", 8*3600))
	return tm
}

// SeedOptions are the demo district's options for the template: a few
// students per class keep tests quick.
var SeedOptions = seed.Options{Seed: 1, Today: Today, StudentsPerClass: 4}

// Env is a real server over a fresh copy of the demo district.
type Env struct {
	T        *testing.T
	DB       *gorm.DB
	Srv      *app.Server
	HTTP     *httptest.Server
	District *seed.District
}

// New starts a server of dialect d over a copy of the seeded template.
func New(t *testing.T, d models.Dialect) *Env {
	t.Helper()
	tpl, err := template(d)
	if err != nil {
		t.Fatal(err)
	}
	db := tpl.copy(t)
	srv, err := areas.NewServer(app.Config{Now: Now}, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.E)
	t.Cleanup(hs.Close)
	// The copy has the template's ids, so its district description holds;
	// tests only read it.
	return &Env{T: t, DB: db, Srv: srv, HTTP: hs, District: tpl.district}
}

// Each runs fn on a fresh server per dialect, the dialects in parallel.
func Each(t *testing.T, fn func(t *testing.T, e *Env)) {
	t.Helper()
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, New(t, d))
		})
	}
}

// EachSerial is Each for tests that change package state (registries): the
// dialects run one after the other.
func EachSerial(t *testing.T, fn func(t *testing.T, e *Env)) {
	t.Helper()
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, New(t, d)) })
	}
}

// ---- templates ----

type tmpl struct {
	dialect  models.Dialect
	path     string // SQLite: the seeded file
	dbname   string // PostgreSQL: the seeded database
	district *seed.District
}

var templates = struct {
	sync.Mutex
	m    map[models.Dialect]*tmpl
	errs map[models.Dialect]error
}{m: map[models.Dialect]*tmpl{}, errs: map[models.Dialect]error{}}

func template(d models.Dialect) (*tmpl, error) {
	templates.Lock()
	defer templates.Unlock()
	if t, ok := templates.m[d]; ok {
		return t, nil
	}
	if err := templates.errs[d]; err != nil {
		return nil, err
	}
	t, err := buildTemplate(d)
	if err != nil {
		templates.errs[d] = err
		return nil, err
	}
	templates.m[d] = t
	return t, nil
}

func buildTemplate(d models.Dialect) (t *tmpl, err error) {
	defer models.Wrap(&err, "apptest template (%s)", d)
	t = &tmpl{dialect: d}
	var db *gorm.DB
	switch d {
	case models.Postgres:
		t.dbname = fmt.Sprintf("jianfu_tpl_%d_%d", os.Getpid(), rand.Uint32())
		if err := adminExec("CREATE DATABASE " + t.dbname); err != nil {
			return nil, err
		}
		if db, err = models.Open(pgURL(t.dbname)); err != nil {
			return nil, err
		}
	default:
		dir, err := os.MkdirTemp("", "jianfu-apptest-")
		if err != nil {
			return nil, err
		}
		t.path = filepath.Join(dir, "template.db")
		if db, err = models.Open(t.path); err != nil {
			return nil, err
		}
	}
	if err := models.Migrate(context.Background(), db); err != nil {
		return nil, err
	}
	az, err := models.NewAuthorizer(db)
	if err != nil {
		return nil, err
	}
	dist, serr := seed.Demo(context.Background(), db, az, SeedOptions)
	t.district = dist
	az.Close()
	if d == models.SQLite {
		db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
	if serr != nil {
		return nil, serr
	}
	return t, nil
}

// copy gives a test its own database from the template, removed at cleanup.
func (tp *tmpl) copy(t *testing.T) *gorm.DB {
	t.Helper()
	switch tp.dialect {
	case models.Postgres:
		name := fmt.Sprintf("t_%d_%d", os.Getpid(), rand.Uint64()%1_000_000_000_000)
		if err := adminExec("CREATE DATABASE " + name + " TEMPLATE " + tp.dbname); err != nil {
			t.Fatal(err)
		}
		db, err := models.Open(pgURL(name))
		if err != nil {
			t.Fatal(err)
		}
		limitPool(db)
		t.Cleanup(func() {
			if s, err := db.DB(); err == nil {
				s.Close()
			}
			_ = adminExec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		})
		return db
	default:
		path := filepath.Join(t.TempDir(), "test.db")
		if err := copyFile(tp.path, path); err != nil {
			t.Fatal(err)
		}
		db, err := models.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if s, err := db.DB(); err == nil {
				s.Close()
			}
		})
		return db
	}
}

// limitPool keeps parallel tests within PostgreSQL's default 100 connections.
func limitPool(db *gorm.DB) {
	if s, err := db.DB(); err == nil {
		s.SetMaxOpenConns(12)
		s.SetMaxIdleConns(4)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

func pgURL(dbname string) string {
	u, _ := url.Parse(os.Getenv("TEST_DATABASE_URL"))
	u.Path = "/" + dbname
	return u.String()
}

// adminExec runs one statement on the TEST_DATABASE_URL database.
func adminExec(sql string) error {
	db, err := models.Open(os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		return err
	}
	defer func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	}()
	return db.Exec(sql).Error
}

// Main runs a package's tests and then removes the templates.
// Request logs are noise in tests; TEST_LOG=1 shows them.
func Main(m *testing.M) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if os.Getenv("TEST_LOG") != "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	}
	code := m.Run()
	templates.Lock()
	defer templates.Unlock()
	for _, t := range templates.m {
		if t.dbname != "" {
			_ = adminExec("DROP DATABASE IF EXISTS " + t.dbname + " WITH (FORCE)")
		}
		if t.path != "" {
			os.RemoveAll(filepath.Dir(t.path))
		}
	}
	return code
}

// ---- the district ----

// School returns the demo school named name.
func (e *Env) School(name string) models.School {
	for _, s := range e.District.Schools {
		if s.Name == name {
			return s
		}
	}
	e.T.Fatalf("no school %s", name)
	return models.School{}
}

// HZ1 is the nine-year school of 海州区 with the demo accounts.
func (e *Env) HZ1() models.School { return e.School("阜新市海州区实验学校") }

// Class finds a class of a school by grade and number.
func (e *Env) Class(schoolID int64, grade, number int) models.Class {
	for _, c := range e.District.Classes[schoolID] {
		if c.Grade == grade && c.Number == number {
			return c
		}
	}
	e.T.Fatalf("no class %d-%d in school %d", grade, number, schoolID)
	return models.Class{}
}

// Count returns the number of rows of table matching where.
func (e *Env) Count(table, where string, args ...any) int64 {
	e.T.Helper()
	var n int64
	q := e.DB.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		e.T.Fatal(err)
	}
	return n
}

// ClassItems counts the homework rows of a class-day and sums their active, counted minutes.
func (e *Env) ClassItems(classID int64, date string) (rows int64, activeMinutes int) {
	e.T.Helper()
	e.DB.Model(&models.HomeworkItem{}).Where("class_id = ? AND date = ?", classID, date).Count(&rows)
	e.DB.Model(&models.HomeworkItem{}).Select("COALESCE(SUM(minutes), 0)").
		Where("class_id = ? AND date = ? AND status = ? AND counted = ?", classID, date, models.HomeworkActive, true).Scan(&activeMinutes)
	return
}

// DayLoad is the class-day rollup row of a class and date.
func (e *Env) DayLoad(classID int64, date string) models.ClassDayLoad {
	e.T.Helper()
	var l models.ClassDayLoad
	e.DB.Where("class_id = ? AND date = ?", classID, date).Take(&l)
	return l
}

// ---- API client ----

// Client is an API client, signed in with a bearer token (or anonymous).
type Client struct {
	E     *Env
	Token string
}

// Anon is a client that is not signed in.
func (e *Env) Anon() *Client { return &Client{E: e} }

// Login signs username in over the API with the demo password.
func (e *Env) Login(username string) *Client { return e.LoginWith(username, seed.DemoPassword) }

// LoginWith signs in over the API with a password of the test's choosing.
func (e *Env) LoginWith(username, password string) *Client {
	e.T.Helper()
	status, body := e.Anon().Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	if status != http.StatusOK {
		e.T.Fatalf("login %s: %d %v", username, status, body)
	}
	return &Client{E: e, Token: body["token"].(string)}
}

// Do sends a JSON request and decodes a JSON object answer.
func (c *Client) Do(method, path string, body any) (int, map[string]any) {
	c.E.T.Helper()
	status, raw := c.Raw(method, path, body)
	out := map[string]any{}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.E.T.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return status, out
}

// Raw sends a request (a string body as is, anything else as JSON) and returns the raw answer.
func (c *Client) Raw(method, path string, body any) (int, []byte) {
	c.E.T.Helper()
	var r io.Reader
	if s, ok := body.(string); ok {
		r = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.E.HTTP.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.E.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Items returns the "items" list of a list answer.
func Items(t *testing.T, body map[string]any) []map[string]any {
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

// ---- browser client (HTML pages) ----

// Browser is a cookie-holding client for the HTML pages; it does not follow redirects.
type Browser struct {
	E *Env
	C *http.Client
}

// NewJar is an empty cookie jar.
func NewJar() http.CookieJar {
	j, _ := cookiejar.New(nil)
	return j
}

// Browser returns a new browser with its own cookies.
func (e *Env) Browser() *Browser {
	return &Browser{E: e, C: &http.Client{Jar: NewJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Get fetches a page.
func (b *Browser) Get(path string) (int, string) {
	b.E.T.Helper()
	status, body, _ := b.GetWithLocation(path)
	return status, body
}

// GetWithLocation is Get that also returns the redirect target, if any.
func (b *Browser) GetWithLocation(path string) (int, string, string) {
	b.E.T.Helper()
	resp, err := b.C.Get(b.E.HTTP.URL + path)
	if err != nil {
		b.E.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

// Post posts a form.
func (b *Browser) Post(path string, form url.Values) (int, string, http.Header) {
	b.E.T.Helper()
	resp, err := b.C.PostForm(b.E.HTTP.URL+path, form)
	if err != nil {
		b.E.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// Form posts a form from a page the browser already holds (for its CSRF token).
func (b *Browser) Form(page, path string, v url.Values) (int, string, http.Header) {
	b.E.T.Helper()
	v.Set("_csrf", CSRFFrom(b.E.T, page))
	return b.Post(path, v)
}

// PostJSON posts JSON with the browser's cookies and a CSRF header.
func (b *Browser) PostJSON(path, token string, body any) (int, string) {
	b.E.T.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, b.E.HTTP.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-CSRF-Token", token)
	}
	resp, err := b.C.Do(req)
	if err != nil {
		b.E.T.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// CSRFFrom reads the CSRF token that a page embeds in its forms.
func CSRFFrom(t *testing.T, page string) string {
	t.Helper()
	const marker = `name="_csrf" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatal("no CSRF token in page")
	}
	rest := page[i+len(marker):]
	return rest[:strings.Index(rest, `"`)]
}

// SignIn logs a browser in through the login form.
func (b *Browser) SignIn(username string) {
	b.E.T.Helper()
	_, page := b.Get("/login")
	status, _, _ := b.Post("/login", url.Values{"_csrf": {CSRFFrom(b.E.T, page)}, "username": {username}, "password": {seed.DemoPassword}})
	if status != http.StatusSeeOther {
		b.E.T.Fatalf("sign in %s: status %d", username, status)
	}
}
