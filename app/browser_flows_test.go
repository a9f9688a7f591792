package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"jianfu/app/apptest"
	"jianfu/models"
	"jianfu/seed"
)

// summaryInView reports whether the refusal summary is on screen (on a
// phone an exam refusal used to be four screens below the reloaded top).
func (v *visitor) summaryInView() bool {
	v.t.Helper()
	return run(v, "summary", chromedp.Evaluate[bool](`(() => { const s = document.querySelector(".error-summary");
		if (!s) return false; const r = s.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight; })()`))
}

// TestBrowserRoleFlows walks a day's work of several roles on a 390×844
// phone, through the pages only.
func TestBrowserRoleFlows(t *testing.T) {
	e, c := newBrowserEnv(t)
	const day = "2026-11-26" // a school day with no demo homework yet

	t.Run("teacher meets the cap, keeps the input, saves", func(t *testing.T) {
		v := c.visitor(t)
		v.phone()
		v.signIn("teacher.hz1", seed.DemoPassword)
		v.visit("/homework?date=" + day)
		v.setValue(`form[action="/homework/items"] select[name="class_subject"]`, fmt.Sprintf("%d|数学", e.Class(e.HZ1().ID, 4, 1).ID))
		v.setValue(`form[action="/homework/items"] input[name="date"]`, day)
		v.fill(`form[action="/homework/items"] input[name="title"]`, "数学练习册第12页")
		v.fill(`form[action="/homework/items"] input[name="minutes"]`, "240")
		v.submit(`form[action="/homework/items"] button.primary`)
		text := v.text()
		if !strings.Contains(text, "HW-02") || !v.summaryInView() {
			t.Fatalf("over the cap: no HW-02 refusal in view:\n%s", text)
		}
		if got := v.eval(`document.querySelector('form[action="/homework/items"] input[name="title"]').value`); got != "数学练习册第12页" {
			t.Fatalf("the refusal lost the title: %q", got)
		}
		v.setValue(`form[action="/homework/items"] input[name="minutes"]`, "20")
		v.submit(`form[action="/homework/items"] button.primary`)
		if text := v.text(); !strings.Contains(text, "数学练习册第12页") {
			t.Fatalf("not saved:\n%s", text)
		}
		v.screenshot("flow_teacher_saved")
	})

	t.Run("parent reports the evening", func(t *testing.T) {
		v := c.visitor(t)
		v.phone()
		v.signIn("parent.hz1", seed.DemoPassword)
		// Tonight (a future day cannot be reported yet).
		v.visit("/homework/parent")
		v.fill(`form.stack input[name="actual_minutes"]`, "25")
		v.submit(`form.stack button.primary`)
		if text := v.text(); !strings.Contains(text, "感谢反馈") {
			t.Fatalf("feedback not saved:\n%s", text)
		}
		v.visit("/homework/parent?date=" + day)
		if strings.Contains(v.text(), "已反馈 0 分钟") {
			t.Fatal("shows a report before any")
		}
		v.visit("/homework/parent/week?start=" + day)
		if text := v.text(); !strings.Contains(text, "数学练习册第12页") {
			t.Fatalf("the week does not show the evening's homework:\n%s", text)
		}
		v.screenshot("flow_parent_week")
	})

	t.Run("academic creates a program and draws the lottery", func(t *testing.T) {
		v := c.visitor(t)
		v.phone()
		v.signIn("academic.hz1", seed.DemoPassword)
		v.visit(fmt.Sprintf("/schools/%d/afterschool/programs", e.HZ1().ID))
		v.fill(`#program-form input[name="name"]`, "围棋社")
		v.setValue(`#program-form select[name="category"]`, "clubs")
		v.do("grade", chromedp.Click(chromedp.CSS(`#program-form input[name="grades"][value="6"]`)))
		v.setValue(`#program-form select[name="slot_weekday"]`, "3")
		v.fill(`#program-form input[name="capacity"]`, "20")
		v.submit(`#program-form button[type="submit"]`)
		if text := v.text(); !strings.Contains(text, "围棋社") || !strings.Contains(text, "项目已创建") {
			t.Fatalf("program not created:\n%s", text)
		}
		v.visit(fmt.Sprintf("/schools/%d/afterschool/lottery", e.HZ1().ID))
		v.submit(`#lottery-form button[name="draw"]`)
		if w := v.scrollWidth(); w > phoneWidth {
			t.Errorf("the lottery page scrolls sideways: %d", w)
		}
		v.screenshot("flow_academic_lottery")
	})

	t.Run("attendance: all present, one compact row per student", func(t *testing.T) {
		var ss models.ProgramSession
		e.DB.Joins("JOIN programs ON programs.id = program_sessions.program_id").
			Where("program_sessions.school_id = ? AND program_sessions.date <= ? AND program_sessions.status = ? AND programs.enrolled_count > 2", e.HZ1().ID, apptest.Today, models.SessionScheduled).
			Order("program_sessions.date DESC").First(&ss)
		if ss.ID == 0 {
			t.Skip("no session to mark in the demo")
		}
		v := c.visitor(t)
		v.phone()
		v.signIn("principal.hz1", seed.DemoPassword)
		v.visit(fmt.Sprintf("/afterschool/sessions/%d", ss.ID))
		rows := run(v, "rows", chromedp.Evaluate[int](`document.querySelectorAll(".attendance-row").length`))
		if rows == 0 {
			t.Fatal("no attendance rows")
		}
		if h := run(v, "row height", chromedp.Evaluate[int](`Math.round(document.querySelector(".attendance-row").getBoundingClientRect().height)`)); h > 60 {
			t.Errorf("an attendance row is %d px tall on a phone (30 students were 6,883 px)", h)
		}
		v.do("all present", chromedp.Click(chromedp.CSS(`[data-all-present]`)))
		if n := run(v, "present", chromedp.Evaluate[int](`document.querySelectorAll('.attendance-row input[value="present"]:checked').length`)); n != rows {
			t.Fatalf("all present checked %d of %d", n, rows)
		}
		v.submit(`#attendance-form button.primary`)
		if e.Count("session_attendance", "session_id = ? AND status = ?", ss.ID, "present") != int64(rows) {
			t.Fatal("attendance not saved as all present")
		}
		v.screenshot("flow_attendance")
	})

	t.Run("bureau goes from the dashboard to a school to a class", func(t *testing.T) {
		v := c.visitor(t)
		v.phone()
		v.signIn("bureau.fuxin", seed.DemoPassword)
		v.visit("/regions/210900")
		v.click(fmt.Sprintf(`a[href="/schools/%d/monitor"]`, e.HZ1().ID))
		v.click(`a[href^="/homework/classes/"]`)
		text := v.text()
		if !strings.Contains(v.location(), "/homework/classes/") || strings.Contains(text, "找不到该内容") || !strings.Contains(text, "年级") {
			t.Fatalf("class page from the school page: %s\n%s", v.location(), text)
		}
		v.screenshot("flow_bureau_class")
	})
}
