package admin_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jianfu/app/apptest"
	"jianfu/models"
	"jianfu/views"
)

// upload posts a file in a multipart form from a page the browser holds.
func upload(t *testing.T, b *apptest.Browser, page, path string, file []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", apptest.CSRFFrom(t, page))
	fw, _ := w.CreateFormFile("file", "setup.xlsx")
	_, _ = fw.Write(file)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.E.HTTP.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.C.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// fillTemplate fills the downloaded template's sheets (zh-CN names).
func fillTemplate(t *testing.T, tmpl []byte, rows map[string][][]string) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(tmpl))
	if err != nil {
		t.Fatalf("the template is not a workbook: %v", err)
	}
	tr := views.NewTranslator("zh-CN")
	for key, rs := range rows {
		for i, r := range rs {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			vals := make([]any, len(r))
			for j := range r {
				vals[j] = r[j]
			}
			if err := f.SetSheetRow(tr.T("setup.sheet."+key), cell, &vals); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out bytes.Buffer
	_ = f.Write(&out)
	return out.Bytes()
}

var hiddenField = regexp.MustCompile(`name="(file|sum)" value="([^"]*)"`)

// TestNewSchoolSetUpInTheBrowser: the admin creates a region and a school
// and sets the school up by form and from the Excel template: every refusal
// is a 422 that keeps what was typed and puts the message next to its
// field; the import previews without writing, then commits all of it.
func TestNewSchoolSetUpInTheBrowser(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		b := e.Browser()
		b.SignIn("admin")
		_, page := b.Get("/admin/regions")
		status, body, _ := b.Form(page, "/admin/regions", url.Values{"code": {"21099"}, "name": {"新区"}, "parent_code": {"210900"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-region-code"`) || !strings.Contains(body, `value="新区"`) {
			t.Fatalf("bad region code: %d, no field message or lost input", status)
		}
		if status, _, _ = b.Form(page, "/admin/regions", url.Values{"code": {"210999"}, "name": {"新区"}, "parent_code": {"210900"}}); status != http.StatusSeeOther {
			t.Fatalf("create region: %d", status)
		}
		_, page = b.Get("/admin/schools")
		status, _, h := b.Form(page, "/admin/schools", url.Values{"region_code": {"210999"}, "name": {"新区第一小学"}, "stage": {"primary"},
			"code": {"2109990001"}, "off_work_time": {"17:30"}, "time_zone": {"Asia/Shanghai"}})
		if status != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/setup") {
			t.Fatalf("create school: %d → %s (a new school must go to its setup)", status, h.Get("Location"))
		}
		setup := h.Get("Location")
		status, page = b.Get(setup)
		if status != 200 || !strings.Contains(page, "新区第一小学") {
			t.Fatalf("setup page: %d", status)
		}
		// A refused term: 422, typed values kept, the message by its field.
		status, body, _ = b.Form(page, setup+"/terms", url.Values{"school_year": {"2026-2027"}, "semester": {"1"}, "name": {"第一学期"},
			"start_date": {"2026-09-01"}, "end_date": {"2027-01-22"}, "no_school_days": {"2027-03-01 春游"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-term-no_school_days"`) || !strings.Contains(body, "2027-03-01 春游") || !strings.Contains(body, `value="第一学期"`) {
			t.Fatalf("refused term: %d", status)
		}
		if n := e.Count("terms", "school_id IN (SELECT id FROM schools WHERE code = ?)", "2109990001"); n != 0 {
			t.Fatalf("a refused term was written")
		}
		status, _, _ = b.Form(page, setup+"/terms", url.Values{"school_year": {"2026-2027"}, "semester": {"1"}, "name": {"第一学期"},
			"start_date": {"2026-09-01"}, "end_date": {"2027-01-22"}, "no_school_days": {"2026-10-01 国庆节"}})
		if status != http.StatusSeeOther {
			t.Fatalf("term: %d", status)
		}
		status, body, _ = b.Form(page, setup+"/staff", url.Values{"username": {"li.xin"}, "display_name": {"李欣"}, "roles": {"academic"}})
		pw := regexp.MustCompile(`<code>([A-Za-z0-9]{12})</code>`).FindStringSubmatch(body)
		if status != http.StatusCreated || pw == nil {
			t.Fatalf("staff: %d, one-time password shown: %v", status, pw != nil)
		}
		_, page = b.Get(setup)
		var staff models.User
		e.DB.Where("username = ?", "li.xin").First(&staff)
		status, body, _ = b.Form(page, setup+"/classes", url.Values{"grade": {"4"}, "number": {"0"}, "name": {"4年级"}, "head_teacher_id": {fmt.Sprint(staff.ID)}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-class-number"`) {
			t.Fatalf("class number 0: %d", status)
		}
		if status, _, _ = b.Form(page, setup+"/classes", url.Values{"grade": {"4"}, "number": {"1"}, "name": {"4年级1班"}, "head_teacher_id": {fmt.Sprint(staff.ID)}}); status != http.StatusSeeOther {
			t.Fatalf("class: %d", status)
		}

		// The Excel template, filled in and uploaded: a preview first.
		status, tmpl := b.Get(setup + "/template.xlsx")
		if status != 200 {
			t.Fatalf("template: %d", status)
		}
		book := fillTemplate(t, []byte(tmpl), map[string][][]string{
			"teachers":    {{"zhao.min", "赵敏", ""}},
			"classes":     {{"4", "2", "4年级2班", "zhao.min"}},
			"assignments": {{"zhao.min", "4-2", "数学"}, {"li.xin", "4-1", "语文"}},
			"students":    {{"X001", "王小明", "4-1", "男"}, {"X002", "赵小红", "4-2", "女"}},
			"guardians":   {{"X001", "parent.x001", "王爸爸", "父亲"}, {"X002", "parent.x002", "赵妈妈", "母亲"}},
		})
		_, page = b.Get(setup)
		status, body = upload(t, b, page, setup+"/import", book)
		if status != 200 || !strings.Contains(body, `id="import-preview"`) {
			t.Fatalf("preview: %d", status)
		}
		if n := e.Count("students", "student_no IN ('X001','X002')"); n != 0 {
			t.Fatal("the preview wrote students")
		}
		vals := url.Values{}
		for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
			vals.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
		}
		tampered := url.Values{"file": vals["file"], "sum": {"0000"}}
		if status, _, _ = b.Form(body, setup+"/import/commit", tampered); status != http.StatusUnprocessableEntity {
			t.Fatalf("a commit of another file than the preview's: %d", status)
		}
		status, body, _ = b.Form(body, setup+"/import/commit", vals)
		if status != 200 || !strings.Contains(body, "导入完成") {
			t.Fatalf("commit: %d", status)
		}
		if n := e.Count("students", "student_no IN ('X001','X002')"); n != 2 {
			t.Fatalf("students after the import: %d", n)
		}
		if n := e.Count("guardians", "user_id IN (SELECT id FROM users WHERE username LIKE 'parent.x00%')"); n != 2 {
			t.Fatalf("guardians after the import: %d", n)
		}

		// A file with bad rows: 422, every problem by sheet, row and column, nothing written.
		bad := fillTemplate(t, []byte(tmpl), map[string][][]string{
			"students":  {{"X003", "孙小", "9-9", ""}, {"X001", "重复", "4-1", ""}},
			"guardians": {{"X404", "parent.x404", "某", ""}},
		})
		students := e.Count("students", "")
		_, page = b.Get(setup)
		status, body = upload(t, b, page, setup+"/import", bad)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="import-problems"`) {
			t.Fatalf("bad file: %d", status)
		}
		for _, want := range []string{"C2", "A3", "A2", "学号 X001 已被本校学生使用", "本校没有这个班级"} {
			if !strings.Contains(body, want) {
				t.Errorf("the problems do not name %q", want)
			}
		}
		if e.Count("students", "") != students {
			t.Fatal("a refused import wrote students")
		}
		// The new teacher is a teacher of the school now (the enforcer sees the grant).
		tc := e.LoginWith("li.xin", pw[1])
		if st, _ := tc.Do(http.MethodGet, "/api/v1/me", nil); st != 200 {
			t.Fatalf("the new teacher cannot sign in: %d", st)
		}
	})
}

// TestSetupBelongsToTheSchool: the principal sets up their own school only;
// a teacher cannot.
func TestSetupBelongsToTheSchool(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		p := e.Browser()
		p.SignIn("principal.hz1")
		if status, page := p.Get(fmt.Sprintf("/schools/%d/setup", e.HZ1().ID)); status != 200 || !strings.Contains(page, "学校设置") {
			t.Fatalf("principal on own setup: %d", status)
		}
		if status, _ := p.Get(fmt.Sprintf("/schools/%d/setup", e.School("阜新市新邱区第一小学").ID)); status != http.StatusNotFound {
			t.Fatalf("principal on another school's setup: %d, want 404", status)
		}
		_, home := p.Get("/")
		if !strings.Contains(home, fmt.Sprintf("/schools/%d/setup", e.HZ1().ID)) {
			t.Error("the principal's home has no setup tile")
		}
		tb := e.Browser()
		tb.SignIn("teacher.hz1")
		if status, _ := tb.Get(fmt.Sprintf("/schools/%d/setup", e.HZ1().ID)); status != http.StatusForbidden {
			t.Fatalf("teacher on setup: %d, want 403", status)
		}
	})
}
