package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"jianfu/app"
	"jianfu/app/apptest"
	"jianfu/app/areas"
	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/seed"
)

// hostileValues are what a fuzzed body puts in every field.
var hostileValues = []string{`""`, `"\u0000"`, `"` + strings.Repeat("长", 5000) + `"`, `-1`, `0`, `2147483648`, `9223372036854775807`,
	`1e308`, `-1e308`, `1.5`, `true`, `null`, `[]`, `{}`, `"2026-02-30"`, `"25:61"`, `"NaN"`, `[{"points":1e999}]`, `[[[[[[[[1]]]]]]]]`}

// bodyFields are the JSON field names of the write routes' requests.
var bodyFields = strings.Fields(`subject date due_date title details minutes kind layer in_school student_id actual_minutes
stopped_at_bedtime grades capacity slots weekday start end name category fee_fen fee_unit mode items points difficulty cognitive
real_life within_standard narrative comment note region_code body school_name rows scores student_no days segments username
password role domain display_name report_cycles alert_rules threshold op key id term_id duration_minutes paper_based response
school_id instructor_ids room rank fee_waived apply_until seed reason off_work_time provider_id external_instructor expected_p
anonymous reporter_name reporter_contact status present absent excused marks one_time disabled`)

// fuzzBodies are the bodies sent to every write route.
func fuzzBodies() []string {
	out := []string{"{}", `{"a":1} trailing`, `[1,2,3]`, `"string"`, `{"title":"x"}{"title":"y"}`, `{`, "\x00", strings.Repeat("[", 10000)}
	for _, v := range hostileValues {
		var b strings.Builder
		b.WriteString("{")
		for i, f := range bodyFields {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:%s", f, v)
		}
		b.WriteString("}")
		out = append(out, b.String())
	}
	return out
}

func writeRoutes(srv *app.Server) []string {
	var out []string
	for _, r := range srv.E.Routes() {
		if strings.HasPrefix(r.Path, "/api/") && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete || r.Method == http.MethodPatch) {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

var sweepUsers = []string{"admin", "bureau.fuxin", "principal.hz1", "academic.hz1", "head.hz1", "teacher.hz1", "parent.hz1"}

// TestFuzzedWriteRoutes sends every fuzz body to every API write route of
// the school's own ids as each role, on both databases: bad input is a 4xx
// (or a save), never a 5xx.
func TestFuzzedWriteRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of requests")
	}
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		own := foreignOf(e, e.HZ1())
		own["code"] = "210900"
		tokens := map[string]string{}
		for _, u := range sweepUsers {
			tokens[u] = e.Login(u).Token
		}
		bodies := fuzzBodies()
		requests, fivexx := 0, 0
		for _, rt := range writeRoutes(e.Srv) {
			method, path, _ := strings.Cut(rt, " ")
			p, _, ok := own.fill(path)
			if !ok {
				continue // TestRouteRoleSweep reports it
			}
			for _, u := range sweepUsers {
				for _, body := range bodies {
					req, _ := http.NewRequest(method, e.HTTP.URL+p, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+tokens[u])
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					requests++
					if resp.StatusCode >= 500 {
						fivexx++
						t.Errorf("%s %s %s as %s: %d (body %.80q)", method, p, rt, u, resp.StatusCode, body)
					}
				}
			}
		}
		t.Logf("fuzzed write sweep on %s: %d write routes, %d requests, %d 5xx", models.DialectOf(e.DB), len(writeRoutes(e.Srv)), requests, fivexx)
		if out := os.Getenv("JIANFU_SWEEP_REPORT"); out != "" {
			f, _ := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			fmt.Fprintf(f, "%s fuzzed-writes routes=%d requests=%d 5xx=%d\n", models.DialectOf(e.DB), len(writeRoutes(e.Srv)), requests, fivexx)
			f.Close()
		}
	})
}

// fuzzServer is a server over a seeded SQLite district for fuzz targets
// (testing.F cannot start an apptest.Env).
func fuzzServer(f *testing.F) (*app.Server, map[string]string, foreignIDs) {
	db := dbtest.Open(f, models.SQLite)
	ctx := context.Background()
	az, err := models.NewAuthorizer(db)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := seed.Demo(ctx, db, az, apptest.SeedOptions); err != nil {
		f.Fatal(err)
	}
	az.Close()
	srv, err := areas.NewServer(app.Config{Now: apptest.Now}, db)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	tokens := map[string]string{}
	for _, u := range sweepUsers {
		us, err := models.UserByUsername(ctx, db, u)
		if err != nil {
			f.Fatal(err)
		}
		if tokens[u], err = models.CreateSession(ctx, db, us.ID, models.SessionBearer, "", ""); err != nil {
			f.Fatal(err)
		}
	}
	var hz models.School
	db.Where("name = ?", "阜新市海州区实验学校").First(&hz)
	own := foreignIDs{"school": fmt.Sprint(hz.ID), "code": "210900"}
	for k, q := range map[string]string{"class": "classes", "exams": "exam_events", "programs": "programs", "homework": "homework_items",
		"enrollments": "enrollments", "sessions": "program_sessions", "reports": "school_reports", "alerts": "alerts", "users": "users"} {
		var id int64
		db.Raw("SELECT id FROM "+q+" WHERE school_id = ? ORDER BY id LIMIT 1", hz.ID).Scan(&id)
		own[k] = fmt.Sprint(id)
	}
	own["items"], own["complaints"] = own["homework"], "1"
	return srv, tokens, own
}

// FuzzAPIWriteBodies: any body to any API write route, as any role, is
// never a 5xx. The seed corpus is every route × the fuzz bodies (and
// testdata/fuzz/FuzzAPIWriteBodies).
func FuzzAPIWriteBodies(f *testing.F) {
	srv, tokens, own := fuzzServer(f)
	routes := writeRoutes(srv)
	for i := range routes {
		for j, b := range fuzzBodies() {
			if j%3 == i%3 {
				f.Add(uint16(i), uint8(i+j), []byte(b))
			}
		}
	}
	f.Fuzz(func(t *testing.T, route uint16, who uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		method, path, _ := strings.Cut(rt, " ")
		p, _, ok := own.fill(path)
		if !ok {
			return
		}
		req := httptest.NewRequest(method, p, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[sweepUsers[int(who)%len(sweepUsers)]])
		rec := httptest.NewRecorder()
		srv.E.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s as %s: %d %s", rt, sweepUsers[int(who)%len(sweepUsers)], rec.Code, rec.Body.String())
		}
	})
}

// FuzzSafeNext: whatever next is, the redirect stays on this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/homework", `/\evil`, "/%5Cevil", "//evil", "https://evil", "/\t/evil", "/%2F%2Fevil", "javascript:x", "/a?b=//c#//d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := app.SafeNext(next)
		if got == "/" {
			return
		}
		if got != next {
			t.Fatalf("SafeNext(%q) = %q: rewritten, not kept or refused", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\t\r\n") {
			t.Fatalf("SafeNext(%q) = %q leaves the site", next, got)
		}
		// What a browser does: resolve against the site.
		base, _ := url.Parse("https://jianfu.example/")
		if r := base.ResolveReference(u); r.Host != "jianfu.example" {
			t.Fatalf("SafeNext(%q) resolves to host %q", next, r.Host)
		}
		if dec, err := url.PathUnescape(u.EscapedPath()); err == nil && (strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\")) {
			t.Fatalf("SafeNext(%q) decodes to %q", next, dec)
		}
	})
}

// FuzzCheckValues: the binder's input checks never panic, and a value they
// accept carries no NUL.
func FuzzCheckValues(f *testing.F) {
	f.Add("数学", 10.5, int64(3))
	f.Add("a\x00b", 1e308, int64(1)<<40)
	f.Fuzz(func(t *testing.T, s string, x float64, n int64) {
		type req struct {
			S  string    `json:"s"`
			X  float64   `json:"x"`
			N  int       `json:"n"`
			XS []float64 `json:"xs"`
		}
		r := req{S: s, X: x, N: int(n), XS: []float64{x}}
		if err := models.CheckValues(&r); err == nil && (strings.ContainsRune(s, 0) || x != x || n > 1<<31-1 || n < -(1<<31)) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// FuzzRouteParams: any path id, date, time or term in any route's path and
// query, as any role, is never a 5xx (a NUL or "1e99" id gave 500s).
func FuzzRouteParams(f *testing.F) {
	srv, tokens, own := fuzzServer(f)
	var routes []string
	for _, r := range srv.E.Routes() {
		if strings.Contains(r.Path, ":") && !strings.Contains(r.Path, "*") {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	for i, v := range []string{"1", "0", "-1", "99999999999999999999", "1e99", "%00", "%ff", "2026-02-30", "25:61", "..%2f", "１２", " 1", "0x10"} {
		f.Add(uint16(i*7), uint8(i), v, "2026-11-25")
		f.Add(uint16(i*13+1), uint8(i+3), "1", v)
	}
	f.Fuzz(func(t *testing.T, route uint16, who uint8, id, date string) {
		rt := routes[int(route)%len(routes)]
		method, path, _ := strings.Cut(rt, " ")
		p, _, ok := own.fill(path)
		if !ok {
			return
		}
		// Replace the last id of the path with the fuzzed one.
		if i := strings.LastIndex(p, "/"); i >= 0 && strings.Contains(path[strings.LastIndex(path, "/"):], ":") {
			p = p[:i+1] + url.PathEscape(id)
		}
		q := url.Values{"date": {date}, "from": {date}, "to": {date}, "start": {date}, "term": {id}, "grade": {id}}
		req := httptest.NewRequest(method, p+"?"+q.Encode(), strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[sweepUsers[int(who)%len(sweepUsers)]])
		rec := httptest.NewRecorder()
		srv.E.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s as %s: %d %.200s", method, req.URL, sweepUsers[int(who)%len(sweepUsers)], rec.Code, rec.Body.String())
		}
	})
}
