package app_test

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"jianfu/models"
	"jianfu/seed"
	"jianfu/views"
)

// setupWorkbook writes the setup template filled with a small school.
func setupWorkbook(t *testing.T) string {
	t.Helper()
	tr := views.NewTranslator("zh-CN")
	var buf bytes.Buffer
	if err := models.WriteSetupTemplate(&buf, tr.Text); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][][]string{
		"teachers":       {{"wu.lei", "吴磊", ""}, {"zheng.ya", "郑雅", "教务主任"}},
		"classes":        {{"3", "1", "3年级1班", "wu.lei"}},
		"assignments":    {{"wu.lei", "3-1", "语文"}, {"zheng.ya", "3-1", "数学"}},
		"terms":          {{"2026-2027", "1", "2026—2027学年第一学期", "2026-09-01", "2027-01-22"}},
		"no_school_days": {{"2026-2027", "1", "2026-10-01", "国庆节"}},
		"students":       {{"N001", "钱小雨", "3-1", "女"}, {"N002", "孙小川", "3-1", "男"}},
		"guardians":      {{"N001", "parent.n001", "钱妈妈", "母亲"}},
	}
	for key, rs := range rows {
		for i, r := range rs {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			vals := make([]any, len(r))
			for j := range r {
				vals[j] = r[j]
			}
			_ = f.SetSheetRow(tr.T("setup.sheet."+key), cell, &vals)
		}
	}
	path := filepath.Join(t.TempDir(), "school.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// setValue sets a form field by script (date inputs and selects take typed
// keys differently per locale).
func (v *visitor) setValue(sel, value string) {
	v.t.Helper()
	v.do("set "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// TestBrowserAdminSetsUpANewSchool: on a phone, the admin creates a region and
// a school, sets the school up from the Excel template (check, preview,
// confirm), and the imported teacher signs in, changes the one-time password
// and sets homework for the new class — the school is usable from the
// browser alone.
func TestBrowserAdminSetsUpANewSchool(t *testing.T) {
	_, c := newBrowserEnv(t)
	v := c.visitor(t)
	v.phone()
	v.signIn("admin", seed.DemoPassword)

	v.visit("/admin/regions")
	v.fill(`#region-form input[name="code"]`, "210900") // taken
	v.fill(`#region-form input[name="name"]`, "示范区")
	v.submit(`#region-form button[type="submit"]`)
	// Refused (the code is taken): the message is next to the field and
	// what was typed is still there.
	if text := v.text(); !strings.Contains(text, "区域代码 210900 已存在") || v.eval(`document.querySelector('#region-form input[name="name"]').value`) != "示范区" {
		t.Fatalf("refused region form:\n%s", text)
	}
	if v.eval(`document.querySelector("#err-region-code") ? "yes" : "no"`) != "yes" {
		t.Error("no message next to the code field")
	}
	v.setValue(`#region-form input[name="code"]`, "210988")
	v.setValue(`#region-form select[name="parent_code"]`, "210900")
	v.submit(`#region-form button[type="submit"]`)
	if !strings.Contains(v.text(), "区域已创建") {
		t.Fatal("region not created")
	}
	v.screenshot("setup_1_region")

	v.visit("/admin/schools")
	v.fill(`#school-form input[name="name"]`, "示范区实验小学")
	v.setValue(`#school-form select[name="region_code"]`, "210988")
	v.setValue(`#school-form select[name="stage"]`, "primary")
	v.fill(`#school-form input[name="code"]`, "2109880001")
	v.submit(`#school-form button[type="submit"]`)
	if text := v.text(); !strings.Contains(text, "学校设置") || !strings.Contains(text, "示范区实验小学") {
		t.Fatalf("a new school should open its setup page:\n%s", text)
	}

	v.do("upload", chromedp.SetUploadFiles(chromedp.CSS(`#import-form input[type="file"]`), []string{setupWorkbook(t)}))
	v.submit(`#import-form button[type="submit"]`)
	if text := v.text(); !strings.Contains(text, "预览") || !strings.Contains(text, "教师: 2") {
		t.Fatalf("no preview after the upload:\n%s", text)
	}
	v.screenshot("setup_2_preview")
	v.submit(`#import-preview button[type="submit"]`)
	text := v.text()
	if !strings.Contains(text, "导入完成") || !strings.Contains(text, "wu.lei") {
		t.Fatalf("import not committed:\n%s", text)
	}
	if w := v.scrollWidth(); w > phoneWidth {
		t.Errorf("the setup page scrolls sideways: %d", w)
	}
	v.screenshot("setup_3_done")
	m := regexp.MustCompile(`wu\.lei\s+吴磊\s+([A-Za-z0-9]{12})`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no one-time password for wu.lei:\n%s", text)
	}

	// The imported teacher: one-time password, a new one, then homework.
	tv := c.visitor(t)
	tv.phone()
	tv.signIn("wu.lei", m[1])
	if !strings.Contains(tv.location(), "/account/password") {
		t.Fatalf("a one-time password must be changed first; at %s", tv.location())
	}
	tv.fill(`input[name="current_password"]`, m[1])
	tv.fill(`input[name="new_password"]`, "wu-lei-2026!")
	tv.fill(`input[name="repeat_password"]`, "wu-lei-2026!")
	tv.submit(`main form button[type="submit"]`)
	if strings.Contains(tv.location(), "/login") { // a changed password ends the session
		tv.signIn("wu.lei", "wu-lei-2026!")
	}
	tv.visit("/homework")
	if text := tv.text(); !strings.Contains(text, "3-1") {
		t.Fatalf("the new teacher does not see the new class:\n%s", text)
	}
	tv.fill(`input[name="title"]`, "朗读课文第三课")
	tv.fill(`input[name="minutes"]`, "15")
	tv.submit(`form[action="/homework/items"] button.primary`)
	if text := tv.text(); !strings.Contains(text, "朗读课文第三课") {
		t.Fatalf("homework not saved in the new school:\n%s", text)
	}
	tv.screenshot("setup_4_teacher")
}
