package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"jianfu/app"
	"jianfu/app/apptest"
	"jianfu/models"
)

// send is a raw request with headers of the test's choosing.
func send(t *testing.T, e *apptest.Env, token, method, path, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.HTTP.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// Finding 1: a database failure while looking up the session answered 401
// "please sign in" (and pages redirected to the login page). It is a 503
// with Retry-After, and a page is an error page, not a redirect.
func TestDatabaseDownIs503NotSignIn(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Login("teacher.hz1")
		b := e.Browser()
		b.SignIn("principal.hz1")
		sqlDB, _ := e.DB.DB()
		sqlDB.Close()
		resp, body := send(t, e, c.Token, http.MethodGet, "/api/v1/me", "", nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"unavailable"`) {
			t.Fatalf("API with the database down: %d %q (Retry-After %q), want 503", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
		status, page, loc := b.GetWithLocation("/")
		if status != http.StatusServiceUnavailable || loc != "" {
			t.Fatalf("page with the database down: %d → %q, want 503 and no redirect\n%.300s", status, loc, page)
		}
		resp, _ = send(t, e, "", http.MethodPost, "/api/v1/auth/login", `{"username":"teacher.hz1","password":"x-wrong-x"}`, nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("sign-in with the database down: %d, want 503", resp.StatusCode)
		}
		if r, _ := send(t, e, "", http.MethodGet, "/readyz", "", nil); r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz with the database down: %d", r.StatusCode)
		}
	})
}

// Finding 10: /lang/en?next=/%5Cevil and the login form's next sent the
// browser to another origin.
func TestRedirectsStayOnSite(t *testing.T) {
	for _, next := range []string{`/\evil.example`, "/%5Cevil.example", "/%2F/evil.example", "//evil.example", "https://evil.example", "/\t/evil.example",
		"javascript:alert(1)", "/%5C%5Cevil", "\\\\evil", "/./\\evil"} {
		if got := app.SafeNext(next); got != "/" {
			t.Errorf("SafeNext(%q) = %q, want /", next, got)
		}
	}
	for _, ok := range []string{"/", "/homework?date=2026-11-25", "/schools/3/exams#x"} {
		if got := app.SafeNext(ok); got != ok {
			t.Errorf("SafeNext(%q) = %q", ok, got)
		}
	}
	e := apptest.New(t, models.SQLite)
	resp, _ := send(t, e, "", http.MethodGet, "/lang/en?next=/%5Cevil.example", "", nil)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Fatalf("/lang/en?next=/%%5Cevil → %q", loc)
	}
	b := e.Browser()
	_, page := b.Get("/login")
	status, _, h := b.Form(page, "/login", url.Values{"username": {"teacher.hz1"}, "password": {"jianfu-demo"}, "next": {`/\evil.example`}})
	if status != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("login next: %d → %q", status, h.Get("Location"))
	}
}

// Findings 12 and 9: trailing data after JSON, an empty replacing body, NUL
// bytes, NaN and int32 overflow are 400s naming the problem, and change nothing.
func TestHostileBodies(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Login("teacher.hz1")
		cl := e.Class(e.HZ1().ID, 8, 1)
		path := fmt.Sprintf("/api/v1/classes/%d/homework", cl.ID)
		before, _ := e.ClassItems(cl.ID, "2026-11-26")
		item := `{"subject":"数学","date":"2026-11-26","title":"练习","minutes":10,"kind":"written","layer":"required"}`
		for name, tc := range map[string]struct{ body, code string }{
			"trailing garbage": {item + `{"minutes":500}`, "bad_json"},
			"trailing text":    {item + " x", "bad_json"},
			"NUL in title":     {strings.Replace(item, "练习", `练\u0000习`, 1), "validation_failed"},
			"minutes overflow": {strings.Replace(item, `"minutes":10`, `"minutes":4294967306`, 1), ""},
		} {
			resp, body := send(t, e, c.Token, http.MethodPost, path, tc.body, nil)
			if resp.StatusCode != http.StatusBadRequest || (tc.code != "" && !strings.Contains(body, `"`+tc.code+`"`)) {
				t.Errorf("%s: %d %s, want 400 %s", name, resp.StatusCode, body, tc.code)
			}
		}
		if after, _ := e.ClassItems(cl.ID, "2026-11-26"); after != before {
			t.Fatalf("refused bodies saved %d items", after-before)
		}
		for name, p := range map[string]string{"NUL in query": path + "?date=2026-11-26%00", "NUL in path": "/api/v1/classes/1%00/homework",
			"bad UTF-8 in query": path + "?date=%ff"} {
			if resp, body := send(t, e, c.Token, http.MethodGet, p, "", nil); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", name, resp.StatusCode, body)
			}
		}
		// A PUT with no body replaced data with nothing.
		ac := e.Login("academic.hz1")
		if resp, body := send(t, e, ac.Token, http.MethodPut, "/api/v1/exams/1/paper", "", nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("empty PUT: %d %s, want 400", resp.StatusCode, body)
		}
		// NaN is not JSON; a paper with NaN points sent as a huge exponent (Inf) is refused.
		if resp, body := send(t, e, ac.Token, http.MethodPut, "/api/v1/exams/1/paper", `{"items":[{"points":1e999,"difficulty":"easy","cognitive":"recall"}]}`, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Inf points: %d %s, want 400", resp.StatusCode, body)
		}
	})
}

// Finding 13: API logout over a cookie session left it valid; the CSRF token
// was accepted from the query; static folders listed; personal pages had no
// Cache-Control: no-store; the calendar URL came from the Host header.
func TestSessionAndHeaders(t *testing.T) {
	e := apptest.New(t, models.SQLite)
	b := e.Browser()
	b.SignIn("parent.hz1")
	status, home := b.Get("/")
	if status != 200 {
		t.Fatalf("home: %d", status)
	}
	resp, err := b.C.Get(e.HTTP.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("signed-in page Cache-Control %q, want no-store", cc)
	}
	// CSRF in the query only: refused (403).
	tok := apptest.CSRFFrom(t, home)
	r, err := b.C.Post(e.HTTP.URL+"/api/v1/auth/logout?_csrf="+url.QueryEscape(tok), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("CSRF token in the query: %d, want 403", r.StatusCode)
	}
	// API logout with the cookie session ends it.
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+"/api/v1/auth/logout", nil)
	req.Header.Set("X-CSRF-Token", tok)
	r, err = b.C.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNoContent {
		t.Fatalf("API logout: %d", r.StatusCode)
	}
	if n := e.Count("sessions", "user_id = (SELECT id FROM users WHERE username = ?) AND kind = ?", "parent.hz1", "cookie"); n != 0 {
		t.Fatalf("%d cookie sessions left after API logout", n)
	}
	// Static folders do not list.
	for _, p := range []string{"/static/", "/static/css/", "/static/js/"} {
		if r, _ := send(t, e, "", http.MethodGet, p, "", nil); r.StatusCode == 200 {
			t.Errorf("%s lists: %d", p, r.StatusCode)
		}
	}
	// The calendar URL is built from PUBLIC_URL, not Host.
	e.Srv.Cfg.PublicURL = "https://jianfu.example.edu.cn"
	parent := e.Login("parent.hz1")
	resp, body := send(t, e, parent.Token, http.MethodPost, "/api/v1/me/calendar-token", "", map[string]string{"Host": "evil.example"})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, "https://jianfu.example.edu.cn/cal/") || strings.Contains(body, "evil") {
		t.Fatalf("calendar URL: %d %s", resp.StatusCode, body)
	}
}

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "实验学校": "实验学校", "": ""} {
		if got := app.CSVText(in); got != want {
			t.Errorf("CSVText(%q) = %q, want %q", in, got, want)
		}
	}
}

// Finding 5: a create retried with its Idempotency-Key is answered once;
// the same key with another body is 422; parallel retries make one record.
func TestIdempotencyKeyOnCreate(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Login("teacher.hz1")
		cl := e.Class(e.HZ1().ID, 8, 1)
		path := fmt.Sprintf("/api/v1/classes/%d/homework", cl.ID)
		day := "2026-11-27"
		item := jsonOf(map[string]any{"subject": "数学", "date": day, "title": "练习", "minutes": 10, "kind": "written", "layer": "required"})
		key := map[string]string{app.HeaderIdempotencyKey: "hw-1"}
		r1, b1 := send(t, e, c.Token, http.MethodPost, path, item, key)
		r2, b2 := send(t, e, c.Token, http.MethodPost, path, item, key)
		if r1.StatusCode != 201 || r2.StatusCode != 201 || b1 != b2 || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %s / %d %s (replayed %q)", r1.StatusCode, b1, r2.StatusCode, b2, r2.Header.Get("Idempotent-Replayed"))
		}
		if rows, _ := e.ClassItems(cl.ID, day); rows != 1 {
			t.Fatalf("%d items after a retried create, want 1", rows)
		}
		other := strings.Replace(item, `"minutes":10`, `"minutes":11`, 1)
		if r, b := send(t, e, c.Token, http.MethodPost, path, other, key); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, "idempotency_key_reused") {
			t.Fatalf("same key, other body: %d %s, want 422", r.StatusCode, b)
		}
		// Parallel retries of one key: one record.
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		par := map[string]string{app.HeaderIdempotencyKey: "hw-par"}
		body := strings.Replace(item, "练习", "并发", 1)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _ := send(t, e, c.Token, http.MethodPost, path, body, par)
				mu.Lock()
				statuses[r.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if n := e.Count("homework_items", "class_id = ? AND date = ? AND title = ?", cl.ID, day, "并发"); n != 1 || statuses[500] > 0 {
			t.Fatalf("8 parallel sends of one key: %d records, statuses %v", n, statuses)
		}
		if r, _ := send(t, e, c.Token, http.MethodPost, path, item, map[string]string{app.HeaderIdempotencyKey: "bad key with spaces"}); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("malformed key: %d", r.StatusCode)
		}
	})
}

var _ = bytes.NewReader

// Finding 12: an empty body cleared a report narrative; an empty settings
// form deleted a region's alert rules; a malformed item_id was saved as a
// whole-evening report.
func TestBadInputChangesNothing(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		var rep models.SchoolReport
		e.DB.Where("school_id = ? AND status = ?", e.HZ1().ID, "draft").Order("id").First(&rep)
		principal := e.Login("principal.hz1")
		path := fmt.Sprintf("/api/v1/reports/%d/narrative", rep.ID)
		if status, body := principal.Do(http.MethodPut, path, map[string]string{"narrative": "本期情况平稳。"}); status != 200 {
			t.Fatalf("narrative: %d %v", status, body)
		}
		for _, body := range []string{"", "{}", `{"other":1}`} {
			if status, _ := principal.Raw(http.MethodPut, path, body); status != http.StatusBadRequest {
				t.Errorf("narrative PUT %q: %d, want 400", body, status)
			}
		}
		e.DB.First(&rep, rep.ID)
		if rep.Narrative != "本期情况平稳。" {
			t.Fatalf("narrative now %q", rep.Narrative)
		}
		// Alert rules survive an empty settings form and a PUT naming neither list.
		fuxin := e.Login("bureau.fuxin")
		rules := map[string]any{"alert_rules": []map[string]any{{"id": "R1", "key": "ex.events_total", "op": "gt", "threshold": 3}}}
		if status, body := fuxin.Do(http.MethodPut, "/api/v1/regions/210900/settings/bureau", rules); status != 200 {
			t.Fatalf("settings: %d %v", status, body)
		}
		count := func() int {
			_, body := fuxin.Do(http.MethodGet, "/api/v1/regions/210900/settings/bureau", nil)
			r, _ := body["alert_rules"].([]any)
			return len(r)
		}
		if count() != 1 {
			t.Fatal("rule not saved")
		}
		if status, _ := fuxin.Raw(http.MethodPut, "/api/v1/regions/210900/settings/bureau", "{}"); status != http.StatusBadRequest {
			t.Errorf("PUT {}: %d, want 400", status)
		}
		b := e.Browser()
		b.SignIn("bureau.fuxin")
		_, page := b.Get("/regions/210900/settings")
		if status, _, _ := b.Form(page, "/regions/210900/settings", url.Values{}); status != http.StatusBadRequest {
			t.Errorf("empty settings form: %d, want 400", status)
		}
		if n := count(); n != 1 {
			t.Fatalf("%d alert rules after empty submissions, want 1", n)
		}
		// A malformed item_id is refused, not saved as a whole-evening report.
		before := e.Count("homework_feedbacks", "1 = 1")
		pb := e.Browser()
		pb.SignIn("parent.hz1")
		var st models.Student
		e.DB.Raw(`SELECT students.* FROM students JOIN guardians ON guardians.student_id = students.id JOIN users ON users.id = guardians.user_id
			WHERE users.username = 'parent.hz1' ORDER BY students.id LIMIT 1`).Scan(&st)
		_, home := pb.Get("/")
		status, _, _ := pb.Form(home, "/homework/feedback", url.Values{"student_id": {fmt.Sprint(st.ID)}, "item_id": {"12abc"}, "actual_minutes": {"30"}})
		if status != http.StatusBadRequest {
			t.Errorf("malformed item_id: %d, want 400", status)
		}
		if after := e.Count("homework_feedbacks", "1 = 1"); after != before {
			t.Fatalf("malformed item_id saved %d reports", after-before)
		}
	})
}

// Finding 2: without server timeouts 1,000 slowloris connections held a
// replica. A connection that does not finish its headers is closed.
func TestSlowlorisIsCut(t *testing.T) {
	e := apptest.New(t, models.SQLite)
	e.Srv.Cfg.ReadHeaderTimeout = 300 * time.Millisecond
	hs := e.Srv.HTTPServer()
	if hs.ReadHeaderTimeout != 300*time.Millisecond || hs.ReadTimeout == 0 || hs.WriteTimeout == 0 || hs.IdleTimeout == 0 {
		t.Fatalf("server timeouts %v %v %v %v", hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(l)
	defer hs.Close()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "))
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(conn)
	if took := time.Since(start); err != nil || took > 3*time.Second {
		t.Fatalf("slow header connection still open after %v (%v)", took, err)
	}
}

// Finding 7: /readyz stayed 200 while SQLite writes failed. It checks a write.
func TestReadyzChecksAWrite(t *testing.T) {
	e := apptest.New(t, models.SQLite)
	sqlDB, _ := e.DB.DB()
	sqlDB.SetMaxOpenConns(1)
	if r, _ := send(t, e, "", http.MethodGet, "/readyz", "", nil); r.StatusCode != 200 {
		t.Fatalf("/readyz: %d", r.StatusCode)
	}
	if err := e.DB.Exec("PRAGMA query_only = 1").Error; err != nil { // reads work, writes fail: as on a full disk
		t.Fatal(err)
	}
	if err := sqlDB.Ping(); err != nil {
		t.Fatal(err)
	}
	if r, _ := send(t, e, "", http.MethodGet, "/readyz", "", nil); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with writes failing: %d, want 503", r.StatusCode)
	}
	e.DB.Exec("PRAGMA query_only = 0")
}

// Finding 5, the other creates: an exam and an enrollment retried with their
// key are made once; a sign-in with a key stores nothing (its answer is a
// secret).
func TestIdempotencyKeyOtherCreates(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		ac := e.Login("academic.hz1")
		exams := fmt.Sprintf("/api/v1/schools/%d/exams", e.HZ1().ID)
		exam := jsonOf(map[string]any{"grades": []int{8}, "subject": "历史", "kind": "midterm", "paper_based": true, "date": "2026-11-18",
			"start": "09:00", "duration_minutes": 90})
		key := map[string]string{app.HeaderIdempotencyKey: "exam-1"}
		before := e.Count("exam_events", "school_id = ?", e.HZ1().ID)
		r1, b1 := send(t, e, ac.Token, http.MethodPost, exams, exam, key)
		r2, b2 := send(t, e, ac.Token, http.MethodPost, exams, exam, key)
		if r1.StatusCode != 201 || r2.StatusCode != 201 || b1 != b2 {
			t.Fatalf("exam retry: %d %s / %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
		}
		if n := e.Count("exam_events", "school_id = ?", e.HZ1().ID); n != before+1 {
			t.Fatalf("%d exams made by a retried create, want 1", n-before)
		}
		resp, body := send(t, e, "", http.MethodPost, "/api/v1/auth/login", `{"username":"teacher.hz1","password":"jianfu-demo"}`,
			map[string]string{app.HeaderIdempotencyKey: "login-1"})
		if resp.StatusCode != 200 || !strings.Contains(body, "token") {
			t.Fatalf("login: %d %s", resp.StatusCode, body)
		}
		if n := e.Count("idempotency_keys", "body LIKE ?", "%token%"); n != 0 {
			t.Fatalf("a sign-in answer (its token) was stored for replay: %d rows", n)
		}
	})
}
