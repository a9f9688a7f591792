package afterschool_test

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

// TestAcademicManagesProgramsInTheBrowser: the academic director creates a
// program by form (a refusal keeps what was typed, 422), edits it, opens and
// closes a lottery's window, draws the lottery to look and publishes that
// same draw, and waives a fee on the roster — all without the API.
func TestAcademicManagesProgramsInTheBrowser(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		sc := e.HZ1()
		b := e.Browser()
		b.SignIn("academic.hz1")
		list := fmt.Sprintf("/schools/%d/afterschool/programs", sc.ID)
		status, page := b.Get(list)
		if status != 200 || !strings.Contains(page, `id="program-form"`) {
			t.Fatalf("programs page: %d", status)
		}
		form := url.Values{"name": {"陶艺社"}, "category": {"arts"}, "mode": {"lottery"}, "grades": {"5"}, "capacity": {"2"}, "room": {"美术室"},
			"slot_weekday": {"4", ""}, "slot_start": {"17:40", "16:30"}, "slot_end": {"18:30", "17:30"}, "fee": {"12.50"}, "fee_unit": {"term"}}
		programs := e.Count("programs", "")
		status, body, _ := b.Form(page, list, form) // a lottery without a closing date
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-program-apply_until"`) || !strings.Contains(body, `value="陶艺社"`) {
			t.Fatalf("refused program: %d", status)
		}
		if e.Count("programs", "") != programs {
			t.Fatal("a refused program was written")
		}
		form.Set("apply_until", "2026-11-30")
		status, _, h := b.Form(page, list, form)
		if status != http.StatusSeeOther {
			t.Fatalf("create: %d", status)
		}
		var p models.Program
		e.DB.Where("school_id = ? AND name = ?", sc.ID, "陶艺社").First(&p)
		if p.FeeFen != 1250 || p.Room != "美术室" || p.Mode != "lottery" || h.Get("Location") != fmt.Sprintf("/afterschool/programs/%d", p.ID) {
			t.Fatalf("program = %+v, to %s", p, h.Get("Location"))
		}
		var kids []models.Student
		e.DB.Joins("JOIN classes ON classes.id = students.class_id").Where("students.school_id = ? AND classes.grade = 5", sc.ID).Order("students.id").Limit(3).Find(&kids)
		pc := e.Login("principal.hz1")
		for _, k := range kids {
			if st, body := pc.Do(http.MethodPost, fmt.Sprintf("/api/v1/programs/%d/enrollments", p.ID), map[string]any{"student_id": k.ID, "note": "家长于11月20日书面申请报名", "channel": "paper_form"}); st != http.StatusCreated {
				t.Fatalf("apply: %d %v", st, body)
			}
		}
		_, page = b.Get(h.Get("Location"))
		if !strings.Contains(page, `id="edit-form"`) || !strings.Contains(page, `id="window-form"`) {
			t.Fatal("the program page has no edit or window form for the academic director")
		}
		edit := fmt.Sprintf("/afterschool/programs/%d/edit", p.ID)
		status, body, _ = b.Form(page, edit, url.Values{"name": {"陶艺社"}, "capacity": {"0"}, "grades": {"5"}, "fee": {"12.5"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-edit-capacity"`) {
			t.Fatalf("capacity 0: %d", status)
		}
		if status, _, _ = b.Form(page, edit, url.Values{"name": {"陶艺社"}, "capacity": {"2"}, "grades": {"5", "6"}, "fee": {"15"}, "room": {"美术室"}}); status != http.StatusSeeOther {
			t.Fatalf("edit: %d", status)
		}
		window := fmt.Sprintf("/afterschool/programs/%d/window", p.ID)
		if status, _, _ = b.Form(page, window, url.Values{"close": {"1"}}); status != http.StatusSeeOther {
			t.Fatalf("close the window: %d", status)
		}
		e.DB.First(&p, p.ID)
		if p.FeeFen != 1500 || p.Grades != "5,6" || p.ApplyUntil >= apptest.Today {
			t.Fatalf("after edit and close: %+v", p)
		}

		lottery := fmt.Sprintf("/schools/%d/afterschool/lottery", sc.ID)
		_, page = b.Get(lottery)
		status, _, h = b.Form(page, lottery, url.Values{"seed": {"777"}, "draw": {"1"}})
		if status != http.StatusSeeOther {
			t.Fatalf("draw: %d", status)
		}
		status, page = b.Get(h.Get("Location"))
		if status != 200 || !strings.Contains(page, kids[0].Name) && !strings.Contains(page, kids[1].Name) {
			t.Fatalf("the draw shows no names: %d", status)
		}
		if e.Count("enrollments", "program_id = ? AND status = 'enrolled'", p.ID) != 0 {
			t.Fatal("looking at a draw enrolled students")
		}
		if !regexp.MustCompile(`name="seed"[^>]*value="777"`).MatchString(page) {
			t.Fatal("the draw's seed is not kept for publishing")
		}
		if status, _, _ = b.Form(page, lottery, url.Values{"seed": {"777"}, "publish": {"1"}}); status != http.StatusSeeOther {
			t.Fatalf("publish: %d", status)
		}
		e.DB.First(&p, p.ID)
		if p.LotterySeed != "777" || p.EnrolledCount != 2 || p.WaitlistCount != 1 {
			t.Fatalf("after publishing: %+v", p)
		}
		var en models.Enrollment
		e.DB.Where("program_id = ? AND status = 'enrolled'", p.ID).First(&en)
		_, page = b.Get(fmt.Sprintf("/afterschool/programs/%d", p.ID))
		if status, _, _ = b.Form(page, fmt.Sprintf("/afterschool/enrollments/%d/waiver", en.ID), url.Values{"waived": {"true"}}); status != http.StatusSeeOther {
			t.Fatalf("waiver: %d", status)
		}
		e.DB.First(&en, en.ID)
		if !en.FeeWaived {
			t.Fatal("fee not waived")
		}
		// Another school's academic director reaches none of it.
		x := e.Browser()
		x.SignIn("principal.xq1")
		if st, _ := x.Get(fmt.Sprintf("/afterschool/programs/%d", p.ID)); st != http.StatusNotFound {
			t.Fatalf("another school's principal on the program: %d", st)
		}
	})
}

// TestRefusedFormsKeepThePage: a refused plan comes back as the plan page
// with what was typed (422), and a refused choice as the choices page with
// the reason — never a bare error page.
func TestRefusedFormsKeepThePage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		sc := e.HZ1()
		b := e.Browser()
		b.SignIn("principal.hz1")
		plan := fmt.Sprintf("/schools/%d/afterschool", sc.ID)
		_, page := b.Get(plan)
		v := url.Values{"off_work_time": {"25:61"}, "day1": {"on"}, "start1": {"15:45"}, "end1": {"17:50"}, "hw_start": {"15:45"}, "hw_end": {"16:40"}}
		status, body, _ := b.Form(page, plan+"/plan", v)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `value="15:45"`) || !strings.Contains(body, `value="17:50"`) || !strings.Contains(body, `id="error-summary"`) {
			t.Fatalf("refused plan: %d, input lost or no summary", status)
		}
		var kid models.Student
		e.DB.Joins("JOIN guardians ON guardians.student_id = students.id JOIN users ON users.id = guardians.user_id").
			Where("users.username = ?", "parent.hz1").First(&kid)
		var cl models.Class
		e.DB.First(&cl, kid.ClassID)
		var other models.Program
		e.DB.Where("school_id = ? AND grades NOT LIKE ?", sc.ID, "%"+fmt.Sprint(cl.Grade)+"%").First(&other)
		if other.ID == 0 {
			t.Skip("no program of another grade in the demo")
		}
		pb := e.Browser()
		pb.SignIn("parent.hz1")
		_, page = pb.Get("/afterschool/choose")
		status, body, _ = pb.Form(page, "/afterschool/choose/enroll", url.Values{"program_id": {fmt.Sprint(other.ID)}, "student_id": {fmt.Sprint(kid.ID)}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error-summary"`) || !strings.Contains(body, kid.Name) {
			t.Fatalf("refused choice: %d, not the choices page with the reason", status)
		}
	})
}
