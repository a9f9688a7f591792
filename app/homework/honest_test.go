package homework_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

// Issue 9 through the real router: labels cannot hide load (HW-01, HW-15),
// every take-home minute is on the board beside the counted ones, parents
// can say "really written" / "took longer", and the estimate-vs-reality
// view is the head teacher's and the leaders', never a parent's.
func TestHonestHomework(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz := e.HZ1()
		c11, c41 := e.Class(hz.ID, 1, 1), e.Class(hz.ID, 4, 1)
		teacher := e.Login("teacher.hz1")
		day := "2026-12-08"
		post := func(cl models.Class, title, kind string, minutes int) (int, map[string]any) {
			it := hwItem("数学", day, minutes)
			it["title"], it["kind"] = title, kind
			return teacher.Do(http.MethodPost, fmt.Sprintf("/api/v1/classes/%d/homework", cl.ID), it)
		}
		wantRule := func(t *testing.T, status int, body map[string]any, code, rule string) {
			t.Helper()
			d, _ := body["details"].(map[string]any)
			if status != http.StatusUnprocessableEntity || body["error"] != code || d["rule"] != rule {
				t.Fatalf("got %d %v, want 422 %s (%s)", status, body, code, rule)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, rule) {
				t.Errorf("message %q does not name %s", msg, rule)
			}
		}
		t.Run("HW-01/grade-1 workbook page labelled practice is refused", func(t *testing.T) {
			status, body := post(c11, "练习册第12页", "practice", 10)
			wantRule(t, status, body, "written_homework_not_allowed", "HW-01")
			status, body = post(c11, "观察记录", "inquiry", 10)
			wantRule(t, status, body, "written_homework_not_allowed", "HW-01")
			if status, body := post(c11, "亲子共读绘本", "reading", 10); status != http.StatusCreated {
				t.Fatalf("grade-1 reading: %d %v", status, body)
			}
		})
		t.Run("HW-15/the all-kinds budget bounds the evening", func(t *testing.T) {
			if status, body := post(c41, "口算", "written", 60); status != http.StatusCreated {
				t.Fatalf("written 60: %d %v", status, body)
			}
			status, body := post(c41, "抄写词语", "oral", 10)
			wantRule(t, status, body, "kind_looks_written", "HW-15")
			if status, body := post(c41, "背诵课文", "oral", 30); status != http.StatusCreated {
				t.Fatalf("oral 30 within the budget of 90: %d %v", status, body)
			}
			status, body = post(c41, "实践：量一量", "practice", 5)
			wantRule(t, status, body, "take_home_budget_exceeded", "HW-15")
			if d := body["details"].(map[string]any); num(d["cap_minutes"]) != 90 || num(d["used_minutes"]) != 90 {
				t.Fatalf("details %v", d)
			}
			status, board := teacher.Do(http.MethodGet, fmt.Sprintf("/api/v1/classes/%d/homework?date=%s", c41.ID, day), nil)
			if status != 200 || num(board["total_minutes"]) != 60 || num(board["take_home_minutes"]) != 90 || num(board["take_home_budget_minutes"]) != 90 {
				t.Fatalf("board: %d %v", status, board)
			}
			b := e.Browser()
			b.SignIn("teacher.hz1")
			if status, page := b.Get(fmt.Sprintf("/homework/classes/%d/board?date=%s", c41.ID, day)); status != 200 || !strings.Contains(page, `data-take-home="90"`) {
				t.Fatalf("board page: %d", status)
			}
			if status, page := b.Get("/homework?date=" + day); status != 200 || !strings.Contains(page, `data-take-home="90"`) || !strings.Contains(page, `data-rule="HW-01"`) {
				t.Fatalf("teacher's day: %d", status)
			}
		})
		t.Run("HW-15/a school may not loosen the district's budget", func(t *testing.T) {
			p := e.Login("principal.hz1")
			path := fmt.Sprintf("/api/v1/schools/%d/homework/settings", hz.ID)
			status, body := p.Do(http.MethodGet, path, nil)
			enc, _ := body["enclosing"].(map[string]any)
			th, _ := enc["take_home_budget"].(map[string]any)
			if status != 200 || num(th["g3_6"]) != 90 {
				t.Fatalf("settings: %d %v", status, body)
			}
			status, body = p.Do(http.MethodPut, path, map[string]any{"caps": map[string]int{"g1_2": 0, "g3_6": 60, "g7_9": 90},
				"counting": map[string]any{"kinds": []string{"written"}}, "take_home_budget": map[string]int{"g1_2": 30, "g3_6": 100, "g7_9": 120}})
			wantRule(t, status, body, "setting_looser_than_allowed", "HW-15")
		})
		t.Run("HW-15/parents say really written and took longer", func(t *testing.T) {
			parent := e.Login("parent.hz1")
			var kid models.Student
			e.DB.Table("students").Joins("JOIN guardians ON guardians.student_id = students.id").
				Joins("JOIN users ON users.id = guardians.user_id").Where("users.username = ?", "parent.hz1").Select("students.*").Take(&kid)
			var it models.HomeworkItem
			if err := e.DB.Where("class_id = ? AND date = ? AND status = ? AND in_school = ?", kid.ClassID, apptest.Today, models.HomeworkActive, false).
				First(&it).Error; err != nil {
				t.Fatal(err)
			}
			before := e.DayLoad(kid.ClassID, apptest.Today)
			status, fb := parent.Do(http.MethodPost, fmt.Sprintf("/api/v1/homework/%d/feedback", it.ID),
				map[string]any{"student_id": kid.ID, "actual_minutes": it.Minutes, "really_written": true, "took_longer": true})
			if status != 201 || fb["really_written"] != true || fb["took_longer"] != true {
				t.Fatalf("feedback: %d %v", status, fb)
			}
			after := e.DayLoad(kid.ClassID, apptest.Today)
			if after.ReportedWritten < 1 || after.ReportedLonger < 1 || after.FeedbackStudents < 1 || after.ReportedWritten < before.ReportedWritten {
				t.Fatalf("rollup before %+v after %+v", before, after)
			}
			b := e.Browser()
			b.SignIn("parent.hz1")
			status, page := b.Get("/homework/parent?date=" + apptest.Today)
			if status != 200 || !strings.Contains(page, `name="took_longer"`) || strings.Contains(page, `id="estimates"`) {
				t.Fatalf("parent page: %d", status)
			}
			if status, _ := b.Get(fmt.Sprintf("/homework/classes/%d/week?start=2026-11-23", c41.ID)); status != http.StatusNotFound {
				t.Fatalf("a parent sees the class week: %d", status)
			}
		})
		t.Run("estimate vs reality for the head teacher and the principal only", func(t *testing.T) {
			b := e.Browser()
			b.SignIn("head.hz1")
			status, page := b.Get(fmt.Sprintf("/homework/classes/%d/week?start=2026-11-23", c41.ID))
			for _, want := range []string{`id="estimates"`, `data-row="take-home"`, `data-row="reported"`} {
				if !strings.Contains(page, want) {
					t.Errorf("head teacher's week lacks %s", want)
				}
			}
			if status != 200 {
				t.Fatalf("week: %d", status)
			}
			p := e.Browser()
			p.SignIn("principal.hz1")
			if status, page := p.Get(fmt.Sprintf("/homework/school/%d?date=%s", hz.ID, apptest.Today)); status != 200 || !strings.Contains(page, `id="estimates"`) {
				t.Fatalf("principal's school page: %d", status)
			}
			tb := e.Browser()
			tb.SignIn("teacher.hz1")
			if status, page := tb.Get(fmt.Sprintf("/homework/school/%d?date=%s", hz.ID, apptest.Today)); status == 200 && strings.Contains(page, `id="estimates"`) {
				t.Fatal("a subject teacher sees every teacher's estimates")
			}
		})
	})
}
