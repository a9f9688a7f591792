package app_test

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

// foreignIDs are the ids of another school's resources, by what a path
// parameter names: the parameter itself (:school, :class, :code) or, for :id,
// the path segment before it ("/exams/:id" → "exams"). A route whose
// parameter is not here fails the sweep: add its case when adding the route.
type foreignIDs map[string]string

func foreignOf(e *apptest.Env, school models.School) foreignIDs {
	one := func(q string, args ...any) string {
		var id int64
		e.DB.Raw(q, args...).Scan(&id)
		if id == 0 {
			return "999999" // none seeded: an id that exists nowhere still must not answer 200
		}
		return fmt.Sprint(id)
	}
	sid := school.ID
	f := foreignIDs{
		"school":      fmt.Sprint(sid),
		"class":       one("SELECT id FROM classes WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"code":        school.RegionCode,
		"exams":       one("SELECT id FROM exam_events WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"programs":    one("SELECT id FROM programs WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"homework":    one("SELECT id FROM homework_items WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"enrollments": one("SELECT id FROM enrollments WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"sessions":    one("SELECT id FROM program_sessions WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"reports":     one("SELECT id FROM school_reports WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"alerts":      one("SELECT id FROM alerts WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		"complaints":  one("SELECT id FROM complaints WHERE region_code = ? ORDER BY id LIMIT 1", school.RegionCode),
		"users":       one("SELECT id FROM users WHERE school_id = ? ORDER BY id LIMIT 1", sid),
		// Public routes keyed by an unguessable token: a made-up one.
		"file":     "not-a-token.ics",
		"tracking": "JFNOSUCHCODE",
		"lang":     "en",
	}
	f["items"] = f["homework"]
	return f
}

var paramRE = regexp.MustCompile(`:([a-z_]+)`)

// fill puts foreign ids into a route path; ok is false when a parameter has
// no case.
func (f foreignIDs) fill(path string) (string, []string, bool) {
	var missing []string
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		name := s[1:]
		if name == "id" && i > 0 {
			name = segs[i-1]
		}
		v, ok := f[name]
		if !ok {
			missing = append(missing, s+" after /"+segs[max(i-1, 0)])
			continue
		}
		segs[i] = v
	}
	return strings.Join(segs, "/"), missing, len(missing) == 0
}

type sweepIdentity struct {
	user  string
	other string // the school whose ids it must not reach
}

// TestRouteRoleSweep walks every route in echo.Routes() as each identity
// against another school's ids: the answer is 404 (403 where the route's
// permission has no scope, 401 signed out), never a 2xx or 5xx, and nothing
// is written (audit_logs, where every write lands, and the main tables keep
// their counts).
func TestRouteRoleSweep(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz, xq := e.HZ1(), e.School("阜新市新邱区第一小学")
		ids := map[string]foreignIDs{hz.Name: foreignOf(e, hz), xq.Name: foreignOf(e, xq)}
		identities := []sweepIdentity{
			{"principal.hz1", xq.Name}, {"academic.hz1", xq.Name}, {"head.hz1", xq.Name}, {"teacher.hz1", xq.Name},
			{"parent.hz1", xq.Name}, {"bureau.haizhou", xq.Name}, {"principal.xq1", hz.Name}, {"", hz.Name},
		}
		routes := e.Srv.E.Routes()
		for _, r := range routes {
			if _, _, ok := ids[hz.Name].fill(r.Path); !ok {
				_, missing, _ := ids[hz.Name].fill(r.Path)
				t.Errorf("route %s %s has no sweep case for %v: add it to foreignOf", r.Method, r.Path, missing)
			}
		}
		tables := []string{"audit_logs", "homework_items", "homework_feedbacks", "enrollments", "exam_events", "exam_results", "programs",
			"program_sessions", "complaints", "school_reports", "settings", "casbin_rule", "users"}
		counts := func() map[string]int64 {
			out := map[string]int64{}
			for _, tb := range tables {
				out[tb] = e.Count(tb, "1 = 1")
			}
			return out
		}
		before := counts()
		var requests, leaks, fivexx atomic.Int64
		for _, id := range identities {
			b := e.Browser()
			if id.user != "" {
				b.SignIn(id.user)
			}
			_, home := b.Get("/login")
			if id.user != "" {
				_, home = b.Get("/")
			}
			csrf := apptest.CSRFFrom(t, home)
			for _, r := range routes {
				if !strings.Contains(r.Path, ":") || r.Method == "echo_route_not_found" {
					continue // nothing of another school's to point at
				}
				perm, _ := e.Srv.PermissionOf(r.Method, r.Path)
				path, _, ok := ids[id.other].fill(r.Path)
				if !ok {
					continue
				}
				path = strings.ReplaceAll(path, "*", "css/none.css")
				var body string
				req, _ := http.NewRequest(r.Method, e.HTTP.URL+path, nil)
				if r.Method != http.MethodGet && r.Method != http.MethodHead {
					if strings.HasPrefix(path, "/api/") {
						body = "{}"
						req, _ = http.NewRequest(r.Method, e.HTTP.URL+path, strings.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
					} else {
						body = "_csrf=" + csrf
						req, _ = http.NewRequest(r.Method, e.HTTP.URL+path, strings.NewReader(body))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					}
					req.Header.Set("X-CSRF-Token", csrf)
				}
				resp, err := b.C.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				requests.Add(1)
				st := resp.StatusCode
				if st >= 500 {
					fivexx.Add(1)
					t.Errorf("%s %s %s: %d", id.user, r.Method, path, st)
					continue
				}
				if perm.Public {
					continue // public (language switch, calendar token, tracking code): only no 5xx and no write
				}
				want := map[int]bool{http.StatusNotFound: true}
				if perm.Scope == nil && !perm.SignedIn {
					want[http.StatusForbidden] = true
				}
				if id.user == "" {
					want = map[int]bool{http.StatusUnauthorized: true, http.StatusSeeOther: true} // pages send to the login page
				}
				if !want[st] {
					leaks.Add(1)
					t.Errorf("%s %s %s (another school's): %d", nameOr(id.user), r.Method, path, st)
				}
			}
		}
		after := counts()
		for _, tb := range tables {
			if after[tb] != before[tb] {
				t.Errorf("the sweep wrote to %s: %d → %d rows", tb, before[tb], after[tb])
			}
		}
		t.Logf("route×role sweep: %d routes, %d identities, %d requests, %d leaks, %d 5xx", len(routes), len(identities), requests.Load(), leaks.Load(), fivexx.Load())
		if out := os.Getenv("JIANFU_SWEEP_REPORT"); out != "" {
			f, _ := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			fmt.Fprintf(f, "%s routes=%d identities=%d requests=%d leaks=%d 5xx=%d\n", models.DialectOf(e.DB), len(routes), len(identities), requests.Load(), leaks.Load(), fivexx.Load())
			f.Close()
		}
	})
}

func nameOr(u string) string {
	if u == "" {
		return "anonymous"
	}
	return u
}
