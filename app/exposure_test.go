package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

// Finding 11: over-exposure inside a school.
func TestExposureInsideSchool(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz := e.HZ1()
		var head models.User
		e.DB.Where("username = ?", "head.hz1").First(&head)
		// A program of the school with children of several classes.
		// A program with children of the head teacher's class and of others.
		var pid int64
		e.DB.Raw(`SELECT enrollments.program_id FROM enrollments JOIN students ON students.id = enrollments.student_id
			JOIN classes ON classes.id = students.class_id WHERE classes.school_id = ? AND enrollments.status IN ('enrolled','waitlisted','applied')
			GROUP BY enrollments.program_id
			HAVING SUM(CASE WHEN classes.head_teacher_id = ? THEN 1 ELSE 0 END) > 0 AND SUM(CASE WHEN classes.head_teacher_id = ? THEN 0 ELSE 1 END) > 0
			ORDER BY enrollments.program_id LIMIT 1`, hz.ID, head.ID, head.ID).Scan(&pid)
		if pid == 0 {
			t.Fatal("no program with children of the head teacher's class and of others in the demo district")
		}
		roster := fmt.Sprintf("/api/v1/programs/%d/roster", pid)
		t.Run("head teacher sees only their classes in a roster", func(t *testing.T) {
			status, body := e.Login("head.hz1").Do(http.MethodGet, roster, nil)
			if status != 200 || len(apptest.Items(t, body)) == 0 {
				t.Fatalf("roster: %d %v", status, body)
			}
			for _, it := range apptest.Items(t, body) {
				var cls int64
				e.DB.Raw("SELECT class_id FROM students WHERE id = ?", int64(it["student_id"].(float64))).Scan(&cls)
				var hid *int64
				e.DB.Raw("SELECT head_teacher_id FROM classes WHERE id = ?", cls).Scan(&hid)
				if hid == nil || *hid != head.ID {
					t.Fatalf("head teacher sees %v of class %d (not theirs)", it["student_name"], cls)
				}
			}
			all := e.Count("enrollments", "program_id = ? AND status IN ?", pid, []string{"enrolled", "waitlisted", "applied"})
			if int64(len(apptest.Items(t, body))) >= all {
				t.Fatalf("head teacher sees all %d roster entries", all)
			}
		})
		t.Run("bureau sees no named roster or results", func(t *testing.T) {
			bu := e.Login("bureau.haizhou")
			if status, body := bu.Do(http.MethodGet, roster, nil); status != http.StatusNotFound {
				t.Fatalf("bureau roster: %d %v", status, body)
			}
			var exam int64
			e.DB.Raw("SELECT exam_id FROM exam_results WHERE school_id = ? LIMIT 1", hz.ID).Scan(&exam)
			if exam == 0 {
				e.DB.Raw("SELECT id FROM exam_events WHERE school_id = ? LIMIT 1", hz.ID).Scan(&exam)
			}
			if status, body := bu.Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/results", exam), nil); status != http.StatusNotFound {
				t.Fatalf("bureau named results: %d %v", status, body)
			}
		})
		t.Run("parent sees sessions only of their children's programs", func(t *testing.T) {
			var parent models.User
			e.DB.Where("username = ?", "parent.hz1").First(&parent)
			var other int64
			e.DB.Raw(`SELECT id FROM programs WHERE school_id = ? AND id NOT IN (SELECT enrollments.program_id FROM enrollments
				JOIN guardians ON guardians.student_id = enrollments.student_id WHERE guardians.user_id = ?) ORDER BY id LIMIT 1`, hz.ID, parent.ID).Scan(&other)
			if status, body := e.Login("parent.hz1").Do(http.MethodGet, fmt.Sprintf("/api/v1/programs/%d/sessions", other), nil); status != http.StatusNotFound {
				t.Fatalf("parent reads another program's sessions: %d %v", status, body)
			}
		})
		t.Run("parent's exams.ics?grade= does not widen to other grades", func(t *testing.T) {
			parent := e.Login("parent.hz1")
			var grades []int
			e.DB.Raw(`SELECT DISTINCT classes.grade FROM classes JOIN students ON students.class_id = classes.id JOIN guardians ON guardians.student_id = students.id
				JOIN users ON users.id = guardians.user_id WHERE users.username = 'parent.hz1'`).Scan(&grades)
			for g := 1; g <= 9; g++ {
				mine := false
				for _, x := range grades {
					mine = mine || x == g
				}
				if mine {
					continue
				}
				status, raw := parent.Raw(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/exams.ics?grade=%d", hz.ID, g), nil)
				if status != 200 || strings.Contains(string(raw), "BEGIN:VEVENT") {
					t.Fatalf("grade %d (not their child's): %d, events: %v", g, status, strings.Count(string(raw), "BEGIN:VEVENT"))
				}
			}
		})
		t.Run("a teacher reads only the weeks of classes they work with", func(t *testing.T) {
			var tid int64
			e.DB.Raw("SELECT id FROM users WHERE username = 'teacher.hz1'").Scan(&tid)
			var cls int64
			e.DB.Raw(`SELECT id FROM classes WHERE school_id = ? AND (head_teacher_id IS NULL OR head_teacher_id <> ?)
				AND id NOT IN (SELECT class_id FROM teaching_assignments WHERE teacher_id = ?) ORDER BY id LIMIT 1`, hz.ID, tid, tid).Scan(&cls)
			if cls == 0 {
				t.Fatal("no class teacher.hz1 does not work with")
			}
			b := e.Browser()
			b.SignIn("teacher.hz1")
			if status, _ := b.Get(fmt.Sprintf("/homework/classes/%d/week", cls)); status != http.StatusNotFound {
				t.Fatalf("teacher reads class %d's week: %d", cls, status)
			}
			b = e.Browser()
			b.SignIn("head.hz1")
			var own int64
			e.DB.Raw("SELECT id FROM classes WHERE head_teacher_id = ? ORDER BY id LIMIT 1", head.ID).Scan(&own)
			if status, _ := b.Get(fmt.Sprintf("/homework/classes/%d/week", own)); status != http.StatusOK {
				t.Fatalf("head teacher reads their own class's week: %d", status)
			}
		})
	})
}
