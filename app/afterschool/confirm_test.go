package afterschool_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

// Finding 7 through the router: 「数学新课提前学」 waits for the principal's
// written confirmation and takes no enrollment until then; the academic
// director cannot confirm, another school's principal gets a 404, a
// one-word reason is refused; the bureau sees the reason.
func TestNewLessonProgramNeedsThePrincipal(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		sc := e.HZ1()
		ac := e.Login("academic.hz1")
		pid := createProgram(t, ac, sc.ID, map[string]any{"name": "数学新课提前学", "category": "homework_guidance", "grades": []int{4}, "capacity": 30,
			"slots": []map[string]any{{"weekday": 4, "start": "17:40", "end": "18:30"}}})
		kid := parentChild(t, e)
		e.DB.Model(&models.Enrollment{}).Where("student_id = ?", kid.ID).Update("status", "withdrawn")
		parent := e.Login("parent.hz1")
		enrollPath := fmt.Sprintf("/api/v1/programs/%d/enrollments", pid)
		status, body := parent.Do(http.MethodPost, enrollPath, map[string]any{"student_id": kid.ID})
		if status != http.StatusUnprocessableEntity || body["error"] != "program_not_confirmed" || body["details"].(map[string]any)["rule"] != "AS-06" {
			t.Fatalf("enroll before confirmation: %d %v", status, body)
		}
		confirmPath := fmt.Sprintf("/api/v1/programs/%d/confirm", pid)
		if status, body := ac.Do(http.MethodPost, confirmPath, map[string]any{"reason": "内容为作业辅导与答疑，不讲授新课。"}); status != http.StatusForbidden {
			t.Fatalf("academic director confirmed: %d %v", status, body)
		}
		if status, _ := e.Login("principal.xq1").Do(http.MethodPost, confirmPath, map[string]any{"reason": "内容为作业辅导与答疑，不讲授新课。"}); status != http.StatusNotFound {
			t.Fatalf("another school's principal: %d", status)
		}
		p := e.Login("principal.hz1")
		if status, body := p.Do(http.MethodPost, confirmPath, map[string]any{"reason": "同意"}); status != http.StatusUnprocessableEntity || body["error"] != "confirm_reason_required" {
			t.Fatalf("one-word reason: %d %v", status, body)
		}
		// The principal confirms on the program page's form.
		b := e.Browser()
		b.SignIn("principal.hz1")
		status, page := b.Get(fmt.Sprintf("/afterschool/programs/%d", pid))
		if status != 200 || !strings.Contains(page, `data-confirmation="pending"`) || !strings.Contains(page, "/confirm") {
			t.Fatalf("program page: %d", status)
		}
		reason := "内容为数学作业辅导与答疑，不讲授新课，教案已核对。"
		status, _, hdr := b.Form(page, fmt.Sprintf("/afterschool/programs/%d/confirm", pid), url.Values{"reason": {reason}})
		if status != http.StatusSeeOther {
			t.Fatalf("confirm form: %d %v", status, hdr)
		}
		var prog models.Program
		e.DB.First(&prog, pid)
		if prog.Confirmation != models.ConfirmationConfirmed || prog.ConfirmReason != reason || prog.ConfirmedBy == nil {
			t.Fatalf("program after confirmation: %+v", prog)
		}
		if n := e.Count("audit_logs", "entity = ? AND action = ? AND entity_id = ?", "program", "confirm", fmt.Sprint(pid)); n != 1 {
			t.Fatalf("%d confirm audit rows", n)
		}
		if status, body := parent.Do(http.MethodPost, enrollPath, map[string]any{"student_id": kid.ID}); status != http.StatusCreated {
			t.Fatalf("enroll after confirmation: %d %v", status, body)
		}
		// Staff enter a student on the guardian's request by the page's form:
		// a mark is refused, a sentence with its channel is recorded.
		var other models.Student
		e.DB.Where("class_id = ? AND id <> ?", kid.ClassID, kid.ID).First(&other)
		e.DB.Model(&models.Enrollment{}).Where("student_id = ?", other.ID).Update("status", "withdrawn")
		status, page = b.Get(fmt.Sprintf("/afterschool/programs/%d", pid))
		if status != 200 || !strings.Contains(page, `id="staff-enroll"`) {
			t.Fatalf("program page lacks the staff entry form: %d", status)
		}
		form := url.Values{"student_id": {fmt.Sprint(other.ID)}, "channel": {"phone"}, "note": {"x"}}
		if status, _, _ := b.Form(page, fmt.Sprintf("/afterschool/programs/%d/enroll", pid), form); status != http.StatusUnprocessableEntity {
			t.Fatalf("staff form with note x: %d", status)
		}
		form.Set("note", "父亲 12 月 1 日电话申请，班主任已记录")
		if status, _, _ := b.Form(page, fmt.Sprintf("/afterschool/programs/%d/enroll", pid), form); status != http.StatusSeeOther {
			t.Fatalf("staff form: %d", status)
		}
		var row models.Enrollment
		e.DB.Where("program_id = ? AND student_id = ?", pid, other.ID).First(&row)
		if !row.StaffEntry || row.RequestChannel != "phone" {
			t.Fatalf("staff entry: %+v", row)
		}
		if _, page = b.Get(fmt.Sprintf("/afterschool/programs/%d", pid)); !strings.Contains(page, "电话") {
			t.Error("roster does not show the channel")
		}
		bu := e.Browser()
		bu.SignIn("bureau.fuxin")
		if status, page := bu.Get("/regions/210900/afterschool"); status != 200 || !strings.Contains(page, "数学新课提前学") || !strings.Contains(page, reason) {
			t.Fatalf("bureau's coverage page: %d", status)
		}
	})
}
