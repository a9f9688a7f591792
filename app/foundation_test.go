package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jianfu/app"
	"jianfu/app/apptest"
)

func TestLogin(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		anon := e.Anon()
		t.Run("OK", func(t *testing.T) {
			c := e.Login("principal.hz1")
			status, me := c.Do(http.MethodGet, "/api/v1/me", nil)
			if status != 200 || me["username"] != "principal.hz1" {
				t.Fatalf("me: %d %v", status, me)
			}
			grants := me["grants"].([]any)
			g := grants[0].(map[string]any)
			if g["role"] != "principal" || g["domain"] != fmt.Sprintf("school:%d", e.HZ1().ID) {
				t.Errorf("grants = %v", grants)
			}
		})
		t.Run("WrongPassword", func(t *testing.T) {
			status, body := anon.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "teacher.hz1", "password": "nope-nope"})
			if status != 401 || body["error"] != "bad_credentials" || body["message"] == "" {
				t.Fatalf("got %d %v", status, body)
			}
		})
		t.Run("BadJSON", func(t *testing.T) {
			status, body := anon.Do(http.MethodPost, "/api/v1/auth/login", `{"username":`)
			if status != 400 || !strings.Contains(body["message"].(string), "JSON") {
				t.Fatalf("got %d %v", status, body)
			}
		})
		t.Run("MissingFields", func(t *testing.T) {
			status, body := anon.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "x"})
			if status != 400 || body["error"] != "validation_failed" {
				t.Fatalf("got %d %v", status, body)
			}
		})
		t.Run("ThrottledPerAccount", func(t *testing.T) {
			for i := 0; i < 5; i++ {
				anon.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "academic.hz1", "password": "wrong-password"})
			}

			status, body := anon.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "academic.hz1", "password": "jianfu-demo"})
			if status != 429 || body["error"] != "too_many_attempts" {
				t.Fatalf("got %d %v", status, body)
			}

			e.Login("head.hz1")
		})
		t.Run("TokenNotStoredInClear", func(t *testing.T) {
			c := e.Login("teacher.hz1")
			var n int64
			e.DB.Table("sessions").Where("token_hash = ?", c.Token).Count(&n)
			if n != 0 {
				t.Fatal("bearer token stored in clear")
			}
			var hash string
			e.DB.Table("users").Select("password_hash").Where("username = ?", "teacher.hz1").Scan(&hash)
			if !strings.HasPrefix(hash, "$argon2id$") {
				t.Fatalf("password not hashed with argon2id: %q", hash[:10])
			}
		})
		t.Run("Logout", func(t *testing.T) {
			c := e.Login("teacher.hz1")
			if status, _ := c.Do(http.MethodPost, "/api/v1/auth/logout", nil); status != 204 {
				t.Fatalf("logout %d", status)
			}
			if status, _ := c.Do(http.MethodGet, "/api/v1/me", nil); status != 401 {
				t.Fatalf("me after logout %d", status)
			}
		})
	})

}

func TestBrowserLoginAndCSRF(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		t.Run("NoToken", func(t *testing.T) {
			b := e.Browser()
			b.Get("/login")
			status, _, _ := b.Post("/login", url.Values{"username": {"principal.hz1"}, "password": {"jianfu-demo"}})
			if status != 400 && status != 403 {
				t.Fatalf("login without CSRF token: %d", status)
			}
		})
		t.Run("WrongToken", func(t *testing.T) {
			b := e.Browser()
			b.Get("/login")
			status, body, _ := b.Post("/login", url.Values{"_csrf": {"forged"}, "username": {"principal.hz1"}, "password": {"jianfu-demo"}})
			if status != 403 || !strings.Contains(body, "页面已过期") {
				t.Fatalf("login with forged token: %d", status)
			}
		})
		t.Run("OK", func(t *testing.T) {
			b := e.Browser()
			b.SignIn("principal.hz1")
			status, page := b.Get("/")
			if status != 200 || !strings.Contains(page, "校长") {
				t.Fatalf("home: %d", status)
			}

			u, _ := url.Parse(e.HTTP.URL)
			found := false
			for _, ck := range b.C.Jar.Cookies(u) {
				found = found || ck.Name == "jianfu_session"
			}
			if !found {
				t.Fatal("no session cookie")
			}

			status, _, _ = b.Post("/logout", url.Values{"_csrf": {apptest.CSRFFrom(t, page)}})
			if status != http.StatusSeeOther {
				t.Fatalf("logout: %d", status)
			}
			if status, _ := b.Get("/"); status != http.StatusSeeOther {
				t.Fatalf("home after logout: %d", status)
			}
		})
		t.Run("EnglishSwitch", func(t *testing.T) {
			b := e.Browser()
			b.Get("/lang/en?next=/login")
			_, page := b.Get("/login")
			if !strings.Contains(page, "Sign in") {
				t.Fatal("login page not in English after the switch")
			}
		})
		t.Run("SecurityHeaders", func(t *testing.T) {
			resp, err := http.Get(e.HTTP.URL + "/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("headers: %v", resp.Header)
			}
		})
	})

}

// Every route declares a permission (or is declared public) where it is registered.
func TestEveryRouteDeclaresPermission(t *testing.T) {
	e := apptest.New(t, "sqlite")
	routes := e.Srv.E.Routes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, r := range routes {
		p, ok := e.Srv.PermissionOf(r.Method, r.Path)
		if !ok {
			t.Errorf("%s %s declares no permission", r.Method, r.Path)
			continue
		}
		if !p.Public && !p.SignedIn && (p.Resource == "" || p.Action == "") {
			t.Errorf("%s %s: permission without resource/action", r.Method, r.Path)
		}
		// Everything under /api/v1 but login is behind sign-in.
		if strings.HasPrefix(r.Path, "/api/v1/") && p.Public && r.Path != "/api/v1/auth/login" && !publicAPI[r.Path] {
			t.Errorf("%s %s is public", r.Method, r.Path)
		}
	}
}

// publicAPI lists API paths that are public on purpose, each with its reason.
var publicAPI = map[string]bool{
	// MON-04: anyone with the link may file a complaint (CSRF protected and
	// limited per address) and follow it with its unguessable tracking code.
	"/api/v1/complaints":                 true,
	"/api/v1/complaints/track/:tracking": true,
}

func TestTenantIsolation(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz1 := e.HZ1()
		xq := e.Login("principal.xq1")
		status, body := xq.Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/classes", hz1.ID), nil)
		if status != 404 || body["error"] != "not_found" {
			t.Fatalf("principal.xq1 on hz1 classes: %d %v", status, body)
		}
		c41 := e.Class(hz1.ID, 4, 1)
		if status, _ := xq.Do(http.MethodGet, fmt.Sprintf("/api/v1/classes/%d/students", c41.ID), nil); status != 404 {
			t.Fatalf("principal.xq1 on hz1 students: %d", status)
		}
		hz := e.Login("principal.hz1")
		status, body = hz.Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/classes", hz1.ID), nil)
		if status != 200 || len(apptest.Items(t, body)) != 18 {
			t.Fatalf("principal.hz1 classes: %d, want 18 classes", status)
		}

		for _, p := range []string{"/api/v1/schools/999999/classes", "/api/v1/schools/abc/classes"} {
			if status, _ := hz.Do(http.MethodGet, p, nil); status != 404 {
				t.Errorf("%s: %d", p, status)
			}
		}
	})

}

func TestClassStudentsOwnership(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz1 := e.HZ1()
		teacher := e.Login("teacher.hz1")
		for _, tc := range []struct {
			grade, number, want int
		}{{4, 1, 200}, {8, 1, 200}, {1, 1, 200}, {2, 1, 404}, {4, 2, 404}} {
			cl := e.Class(hz1.ID, tc.grade, tc.number)
			status, body := teacher.Do(http.MethodGet, fmt.Sprintf("/api/v1/classes/%d/students", cl.ID), nil)
			if status != tc.want {
				t.Errorf("teacher.hz1 students of %d-%d: %d, want %d", tc.grade, tc.number, status, tc.want)
			}
			if status == 200 && len(apptest.Items(t, body)) != 4 {
				t.Errorf("students of %d-%d: %v", tc.grade, tc.number, body)
			}
		}
		parent := e.Login("parent.hz1")
		cl := e.Class(hz1.ID, 4, 1)
		if status, _ := parent.Do(http.MethodGet, fmt.Sprintf("/api/v1/classes/%d/students", cl.ID), nil); status == 200 {
			t.Error("a parent may not list a class's students")
		}
	})

}

func TestBureauRegionReach(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		status, body := e.Login("bureau.haizhou").Do(http.MethodGet, "/api/v1/schools", nil)
		if status != 200 {
			t.Fatal(status)
		}
		list := apptest.Items(t, body)
		if len(list) != 2 {
			t.Fatalf("bureau.haizhou sees %d schools, want the 2 of 海州区", len(list))
		}
		for _, s := range list {
			if s["region_code"] != "210902" {
				t.Errorf("bureau.haizhou sees %v", s)
			}
		}
		status, body = e.Login("bureau.fuxin").Do(http.MethodGet, "/api/v1/schools", nil)
		if status != 200 || len(apptest.Items(t, body)) != len(e.District.Schools) {
			t.Fatalf("bureau.fuxin: %d %d", status, len(apptest.Items(t, body)))
		}

		hz := e.Login("bureau.haizhou")
		if status, _ := hz.Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/classes", e.HZ1().ID), nil); status != 200 {
			t.Errorf("bureau.haizhou on a 海州区 school: %d", status)
		}
		if status, _ := hz.Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/classes", e.School("阜新市新邱区第一小学").ID), nil); status != 404 {
			t.Errorf("bureau.haizhou on a 新邱区 school: %d", status)
		}

		if status, _ := e.Login("teacher.hz1").Do(http.MethodGet, "/api/v1/schools", nil); status != 403 {
			t.Errorf("teacher on /schools: %d", status)
		}
	})

}

func TestOperations(t *testing.T) {
	e := apptest.New(t, "sqlite")
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get(e.HTTP.URL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, err, resp)
		}
		resp.Body.Close()
		_ = want
	}
	e.Login("admin")
	// /metrics is not public: without METRICS_TOKEN it answers 404, and with
	// one only to that bearer token.
	for _, tok := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodGet, e.HTTP.URL+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound {
			t.Fatalf("/metrics with token %q: %d, want 404", tok, r.StatusCode)
		}
	}
	e.Srv.Cfg.MetricsToken = "scrape-secret"
	req, _ := http.NewRequest(http.MethodGet, e.HTTP.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer scrape-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	_, _ = fmt.Fprint(buf, "")
	b := make([]byte, 1<<20)
	n, _ := resp.Body.Read(b)
	if !strings.Contains(string(b[:n]), `jianfu_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"}`) {
		t.Errorf("metrics lack the login route count")
	}
	var _ = app.Config{}
}
