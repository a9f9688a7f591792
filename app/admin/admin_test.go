package admin_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

func TestAdminPagesNeedTheAdminRole(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		admin := e.Browser()
		admin.SignIn("admin")
		for _, p := range []string{"/admin/regions", "/admin/schools", "/admin/users", "/admin/audit", "/admin/users/1"} {
			if status, page := admin.Get(p); status != 200 {
				t.Errorf("admin GET %s: %d %s", p, status, page)
			}
		}
		principal := e.Browser()
		principal.SignIn("principal.hz1")
		_, home := principal.Get("/")
		for _, p := range []string{"/admin/regions", "/admin/schools", "/admin/users", "/admin/users/1", "/admin/audit"} {
			if status, _ := principal.Get(p); status != http.StatusForbidden {
				t.Errorf("principal GET %s: %d, want 403", p, status)
			}
		}
		before := e.Count("users", "")
		status, _, _ := principal.Form(home, "/admin/users", url.Values{"username": {"sneaky"}, "password": {"sneaky-password"}})
		if status != http.StatusForbidden || e.Count("users", "") != before {
			t.Errorf("principal POST /admin/users: %d", status)
		}

		bureau := e.Browser()
		bureau.SignIn("bureau.haizhou")
		status, page := bureau.Get("/admin/schools")
		if status != 200 || !strings.Contains(page, "阜新市海州区实验学校") || strings.Contains(page, "新邱区第一小学") || strings.Contains(page, `id="school-form"`) {
			t.Errorf("bureau.haizhou schools page: %d", status)
		}
		schools := e.Count("schools", "")
		status, _, _ = bureau.Form(page, "/admin/schools", url.Values{"region_code": {"210902"}, "name": {"新学校"}, "stage": {"primary"}, "code": {"2109029999"}, "off_work_time": {"17:30"}})
		if status != http.StatusForbidden {
			t.Errorf("bureau creating a school in its region: %d, want 403", status)
		}
		status, _, _ = bureau.Form(page, "/admin/schools", url.Values{"region_code": {"210903"}, "name": {"新学校"}, "stage": {"primary"}, "code": {"2109039999"}, "off_work_time": {"17:30"}})
		if status != http.StatusNotFound {
			t.Errorf("bureau creating a school in another region: %d, want 404", status)
		}
		if e.Count("schools", "") != schools {
			t.Error("a school was written")
		}
		if status, _ := bureau.Get("/admin/users"); status != http.StatusForbidden {
			t.Errorf("bureau GET /admin/users: %d", status)
		}

		if status, _ := e.Browser().Get("/admin/users"); status != http.StatusSeeOther {
			t.Errorf("anonymous GET /admin/users: %d", status)
		}
	})

}

func TestAdminCreatesSchool(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		b := e.Browser()
		b.SignIn("admin")
		_, page := b.Get("/admin/schools")
		good := url.Values{"region_code": {"210903"}, "name": {"阜新市新邱区第三小学"}, "stage": {"primary"},
			"code": {"2109030301"}, "off_work_time": {"17:00"}, "time_zone": {"Asia/Shanghai"}}
		for _, tc := range []struct {
			name, field, value string
			status             int
			message            string
		}{
			{"ShortCode", "code", "21090303", 422, "学校标识码应为 10 位数字"},
			{"LettersInCode", "code", "21090303ab", 422, "学校标识码应为 10 位数字"},
			{"TakenCode", "code", e.HZ1().Code, 422, "已被其他学校使用"},
			{"NoName", "name", "  ", 422, "学校名称不能为空"},
			{"UnknownRegion", "region_code", "999999", 422, "区域代码 999999 不存在"},
			{"BadStage", "stage", "college", 422, "学段应为小学、初中或九年一贯制"},
			{"BadOffWork", "off_work_time", "25:00", 422, "下班时间格式应为 HH:MM"},
			{"BadTimeZone", "time_zone", "Mars/Base", 422, "时区应为 IANA 名称"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				schools, audits := e.Count("schools", ""), e.Count("audit_logs", "")
				v := url.Values{}
				for k, x := range good {
					v[k] = x
				}
				v.Set(tc.field, tc.value)
				status, body, _ := b.Form(page, "/admin/schools", v)
				if status != tc.status || !strings.Contains(body, tc.message) {
					t.Errorf("got %d, want %d with %q", status, tc.status, tc.message)
				}
				if e.Count("schools", "") != schools || e.Count("audit_logs", "") != audits {
					t.Error("a refused school was written")
				}

				if tc.field != "region_code" && !strings.Contains(body, `value="`+good.Get("code")) && tc.field != "code" {
					t.Error("the form lost its values")
				}
			})
		}
		status, _, h := b.Form(page, "/admin/schools", good)
		if status != http.StatusSeeOther {
			t.Fatalf("create: %d", status)
		}
		var s models.School
		if err := e.DB.Where("code = ?", "2109030301").First(&s).Error; err != nil {
			t.Fatal(err)
		}
		if s.RegionCode != "210903" || s.Stage != "primary" || s.OffWorkTime != "17:00" || s.TimeZone != "Asia/Shanghai" {
			t.Errorf("school = %+v", s)
		}
		if n := e.Count("audit_logs", "entity = ? AND entity_id = ? AND action = ?", "school", fmt.Sprint(s.ID), "create"); n != 1 {
			t.Errorf("audit rows for the new school: %d", n)
		}
		_, list := b.Get(h.Get("Location"))
		if !strings.Contains(list, "学校已创建") || !strings.Contains(list, "阜新市新邱区第三小学") {
			t.Error("the list does not show the new school")
		}

		status, body := e.Login("bureau.fuxin").Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/classes", s.ID), nil)
		if status != 200 {
			t.Errorf("bureau.fuxin on the new school: %d %v", status, body)
		}
	})

}

var oneTimeRe = regexp.MustCompile(`<strong class="rule">([^<]+)</strong>`)

func TestAdminManagesAccounts(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		b := e.Browser()
		b.SignIn("admin")
		_, page := b.Get("/admin/users")
		xq1 := e.School("阜新市新邱区第一小学")

		t.Run("BadInput", func(t *testing.T) {
			for _, tc := range []struct {
				v       url.Values
				status  int
				message string
			}{
				{url.Values{"username": {"Zhang San"}}, 422, "用户名须为"},
				{url.Values{"username": {"zhang.san"}, "password": {"short"}}, 422, "密码至少 8 位"},
				{url.Values{"username": {"zhang.san"}, "school_id": {"999999"}}, 422, "学校编号 999999 不存在"},
				{url.Values{"username": {"zhang.san"}, "school_id": {"abc"}}, 422, "学校编号 abc 不存在"},
				{url.Values{"username": {"teacher.hz1"}}, 422, "用户名 teacher.hz1 已被使用"},
			} {
				users, audits := e.Count("users", ""), e.Count("audit_logs", "")
				status, body, _ := b.Form(page, "/admin/users", tc.v)
				if status != tc.status || !strings.Contains(body, tc.message) {
					t.Errorf("%v: got %d, want %d with %q", tc.v, status, tc.status, tc.message)
				}
				if e.Count("users", "") != users || e.Count("audit_logs", "") != audits {
					t.Errorf("%v: something was written", tc.v)
				}
			}
		})

		var userID int64
		var password string
		t.Run("CreateWithGeneratedPassword", func(t *testing.T) {
			status, body, h := b.Form(page, "/admin/users", url.Values{"username": {"wang.laoshi"}, "display_name": {"王老师"}, "school_id": {fmt.Sprint(xq1.ID)}})
			if status != http.StatusCreated {
				t.Fatalf("create: %d", status)
			}
			m := oneTimeRe.FindStringSubmatch(body)
			if m == nil || len(m[1]) != 12 {
				t.Fatalf("no one-time password shown")
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Error("a page with a password may be cached")
			}
			password = m[1]
			u, err := models.UserByUsername(t.Context(), e.DB, "wang.laoshi")
			if err != nil {
				t.Fatal(err)
			}
			userID = u.ID
			if u.SchoolID == nil || *u.SchoolID != xq1.ID || strings.Contains(u.PasswordHash, password) {
				t.Errorf("user = %+v", u)
			}
			if n := e.Count("audit_logs", "entity = 'user' AND entity_id = ? AND action = 'create'", fmt.Sprint(u.ID)); n != 1 {
				t.Errorf("audit rows: %d", n)
			}

			_, again := b.Get(fmt.Sprintf("/admin/users/%d", u.ID))
			if strings.Contains(again, password) {
				t.Error("the one-time password is shown twice")
			}
		})

		c := e.Anon()
		status, body := c.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "wang.laoshi", "password": password})
		if status != 200 {
			t.Fatalf("login with the one-time password: %d %v", status, body)
		}
		c.Token = body["token"].(string)
		classes := fmt.Sprintf("/api/v1/schools/%d/classes", xq1.ID)

		if status, body := c.Do(http.MethodGet, classes, nil); status != 403 || body["error"] != "password_change_required" {
			t.Fatalf("API with a one-time password: %d %v", status, body)
		}
		if status, _ := c.Do(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": "wrong-password", "new_password": "my-own-password"}); status != 400 {
			t.Errorf("change with a wrong current password: %d", status)
		}
		if status, _ := c.Do(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": password, "new_password": "my-own-password"}); status != 204 {
			t.Fatalf("change the one-time password: %d", status)
		}
		c = e.LoginWith("wang.laoshi", "my-own-password")
		if n := e.Count("audit_logs", "entity = 'user' AND entity_id = ? AND action = 'password_change'", fmt.Sprint(userID)); n != 1 {
			t.Errorf("password_change audit rows: %d", n)
		}
		if status, _ := c.Do(http.MethodGet, classes, nil); status != 404 {
			t.Fatalf("classes before the grant: %d, want 404", status)
		}

		userPage := fmt.Sprintf("/admin/users/%d", userID)
		_, up := b.Get(userPage)
		t.Run("GrantRefusals", func(t *testing.T) {
			for _, tc := range []struct{ role, domain, message string }{
				{"wizard", "school:1", "未知角色"},
				{"teacher", "region:210903", "角色与范围不匹配"},
				{"bureau", "school:1", "角色与范围不匹配"},
				{"teacher", "school:999999", "学校编号 999999 不存在"},
				{"teacher", "school:x", "范围格式应为"},
				{"bureau", "region:123456", "区域代码 123456 不存在"},
				{"teacher", "class:3", "范围格式应为"},
			} {
				audits := e.Count("audit_logs", "")
				status, body, _ := b.Form(up, userPage+"/grants", url.Values{"role": {tc.role}, "domain": {tc.domain}})
				if status != 422 || !strings.Contains(body, tc.message) {
					t.Errorf("%s in %s: %d, want 422 with %q", tc.role, tc.domain, status, tc.message)
				}
				if e.Count("audit_logs", "") != audits || e.Count("casbin_rule", "ptype = 'g' AND v0 = ?", fmt.Sprintf("user:%d", userID)) != 0 {
					t.Errorf("%s in %s: something was written", tc.role, tc.domain)
				}
			}
		})

		t.Run("GrantWorksAtOnce", func(t *testing.T) {
			status, _, _ := b.Form(up, userPage+"/grants", url.Values{"role": {"principal"}, "domain": {fmt.Sprintf("school:%d", xq1.ID)}})
			if status != http.StatusSeeOther {
				t.Fatalf("grant: %d", status)
			}

			if status, body := c.Do(http.MethodGet, classes, nil); status != 200 || len(apptest.Items(t, body)) == 0 {
				t.Fatalf("classes after the grant: %d", status)
			}

			if status, _, _ := b.Form(up, userPage+"/grants", url.Values{"role": {"principal"}, "domain": {fmt.Sprintf("school:%d", xq1.ID)}}); status != http.StatusSeeOther {
				t.Fatalf("second grant: %d", status)
			}
			if n := e.Count("audit_logs", "entity = 'user' AND entity_id = ? AND action = 'grant'", fmt.Sprint(userID)); n != 1 {
				t.Errorf("grant audit rows: %d, want 1", n)
			}
			_, up = b.Get(userPage)
			if !strings.Contains(up, "校长") {
				t.Error("the account page does not list the grant")
			}
			status, _, _ = b.Form(up, userPage+"/revoke", url.Values{"role": {"principal"}, "domain": {fmt.Sprintf("school:%d", xq1.ID)}})
			if status != http.StatusSeeOther {
				t.Fatalf("revoke: %d", status)
			}
			if status, _ := c.Do(http.MethodGet, classes, nil); status != 404 {
				t.Fatalf("classes after the revoke: %d, want 404", status)
			}
		})

		t.Run("ResetPassword", func(t *testing.T) {
			_, up = b.Get(userPage)
			status, body, _ := b.Form(up, userPage+"/password", url.Values{"password": {"short"}})
			if status != 422 || !strings.Contains(body, "密码至少 8 位") {
				t.Errorf("short password: %d", status)
			}
			status, _, _ = b.Form(up, userPage+"/password", url.Values{"password": {"typed-by-admin"}})
			if status != http.StatusSeeOther {
				t.Fatalf("reset: %d", status)
			}

			if status, _ := c.Do(http.MethodGet, "/api/v1/me", nil); status != 401 {
				t.Errorf("old token after a reset: %d", status)
			}
			status, body2 := e.Anon().Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "wang.laoshi", "password": "typed-by-admin"})
			if status != 200 {
				t.Fatalf("login with the new password: %d", status)
			}
			c.Token = body2["token"].(string)

			status, page, _ := b.Form(up, userPage+"/password", url.Values{})
			if status != 200 || oneTimeRe.FindStringSubmatch(page) == nil {
				t.Errorf("generated reset: %d", status)
			}
			if n := e.Count("audit_logs", "entity = 'user' AND entity_id = ? AND action = 'password_reset'", fmt.Sprint(userID)); n != 2 {
				t.Errorf("reset audit rows: %d, want 2", n)
			}
		})

		t.Run("Disable", func(t *testing.T) {
			_, up = b.Get(userPage)
			status, _, _ := b.Form(up, userPage+"/disable", url.Values{})
			if status != http.StatusSeeOther {
				t.Fatalf("disable: %d", status)
			}
			if status, _ := c.Do(http.MethodGet, "/api/v1/me", nil); status != 401 {
				t.Errorf("token of a disabled account: %d", status)
			}
			_, up = b.Get(userPage)
			status, _, _ = b.Form(up, userPage+"/enable", url.Values{})
			if status != http.StatusSeeOther {
				t.Fatalf("enable: %d", status)
			}
			for _, action := range []string{"disable", "enable"} {
				if n := e.Count("audit_logs", "entity = 'user' AND entity_id = ? AND action = ?", fmt.Sprint(userID), action); n != 1 {
					t.Errorf("%s audit rows: %d", action, n)
				}
			}

			adminID := viewerID(t, e, "admin")
			_, own := b.Get(fmt.Sprintf("/admin/users/%d", adminID))
			status, body, _ := b.Form(own, fmt.Sprintf("/admin/users/%d/disable", adminID), url.Values{})
			if status != 422 || !strings.Contains(body, "不能停用自己的账号") {
				t.Errorf("self-disable: %d", status)
			}
		})

		t.Run("AuditViewer", func(t *testing.T) {
			status, page := b.Get(fmt.Sprintf("/admin/audit?entity=user&entity_id=%d", userID))
			// Actions and record types by their names, never the codes
			// (the log showed raw `password_reset`, `grant`).
			if status != 200 || !strings.Contains(page, "重置密码") || !strings.Contains(page, "授予角色") || strings.Contains(page, "<td>学校 <span") ||
				strings.Contains(page, "password_reset") || strings.Contains(page, ">grant<") {
				t.Errorf("audit filtered by entity: %d", status)
			}

			bureau := e.Browser()
			bureau.SignIn("bureau.haizhou")
			if status, _ := bureau.Get(fmt.Sprintf("/admin/audit?school=%d", xq1.ID)); status != 404 {
				t.Errorf("bureau.haizhou on a 新邱区 school's log: %d, want 404", status)
			}
			status, page = bureau.Get("/admin/audit")
			if status != 200 || strings.Contains(page, "wang.laoshi") || strings.Contains(page, "重置密码") {
				t.Errorf("bureau.haizhou audit: %d (sees rows of other schools)", status)
			}
			bx := e.Browser()
			bx.SignIn("bureau.fuxin")
			status, page = bx.Get(fmt.Sprintf("/admin/audit?school=%d", xq1.ID))
			if status != 200 || !strings.Contains(page, "授予角色") {
				t.Errorf("bureau.fuxin on 新邱区 school's log: %d", status)
			}
		})
	})

}

func viewerID(t *testing.T, e *apptest.Env, username string) int64 {
	t.Helper()
	u, err := models.UserByUsername(t.Context(), e.DB, username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// An account created with a generated password is sent to choose its own at
// its first sign-in, and can open nothing else until it has.
func TestOneTimePasswordMustBeChanged(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		admin := e.Browser()
		admin.SignIn("admin")
		_, page := admin.Get("/admin/users")
		_, body, _ := admin.Form(page, "/admin/users", url.Values{"username": {"li.laoshi"}})
		m := oneTimeRe.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no one-time password")
		}
		b := e.Browser()
		_, login := b.Get("/login")
		status, _, h := b.Form(login, "/login", url.Values{"username": {"li.laoshi"}, "password": {m[1]}})
		if status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", status)
		}
		for _, p := range []string{h.Get("Location"), "/", "/admin/users"} {
			if status, _, loc := b.GetWithLocation(p); status != http.StatusSeeOther || loc != "/account/password" {
				t.Errorf("GET %s with a one-time password: %d → %s", p, status, loc)
			}
		}
		status, form := b.Get("/account/password")
		if status != 200 || !strings.Contains(form, "一次性密码") {
			t.Fatalf("password page: %d", status)
		}
		for _, bad := range []struct {
			v       url.Values
			message string
		}{
			{url.Values{"current_password": {"nope-nope"}, "new_password": {"abcdefgh1"}, "repeat_password": {"abcdefgh1"}}, "当前密码不正确"},
			{url.Values{"current_password": {m[1]}, "new_password": {"abcdefgh1"}, "repeat_password": {"abcdefgh2"}}, "两次输入的新密码不一致"},
			{url.Values{"current_password": {m[1]}, "new_password": {"short"}, "repeat_password": {"short"}}, "密码至少 8 位"},
			{url.Values{"current_password": {m[1]}, "new_password": {m[1]}, "repeat_password": {m[1]}}, "不能与当前密码相同"},
		} {
			status, body, _ := b.Form(form, "/account/password", bad.v)
			if status != 422 || !strings.Contains(body, bad.message) {
				t.Errorf("%v: %d, want 422 with %q", bad.v, status, bad.message)
			}
		}
		status, _, h = b.Form(form, "/account/password", url.Values{"current_password": {m[1]}, "new_password": {"li-laoshi-2026"}, "repeat_password": {"li-laoshi-2026"}})
		if status != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("change: %d → %s", status, h.Get("Location"))
		}
		_, login = b.Get("/login")
		if !strings.Contains(login, "密码已修改") {
			t.Error("no notice after the change")
		}
		status, _, _ = b.Form(login, "/login", url.Values{"username": {"li.laoshi"}, "password": {"li-laoshi-2026"}})
		if status != http.StatusSeeOther {
			t.Fatalf("sign in with the new password: %d", status)
		}
		if status, _ := b.Get("/"); status != 200 {
			t.Errorf("home after the change: %d", status)
		}

		_, page = admin.Get("/admin/users")
		admin.Form(page, "/admin/users", url.Values{"username": {"zhao.laoshi"}, "password": {"typed-by-admin"}})
		if _, body := e.LoginWith("zhao.laoshi", "typed-by-admin").Do(http.MethodGet, "/api/v1/schools", nil); body["error"] != "forbidden" {
			t.Errorf("an account without roles and with a typed password: %v (want a plain 403)", body)
		}
	})

}
