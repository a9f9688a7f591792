package afterschool_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

func violationRules(t *testing.T, body map[string]any) []string {
	t.Helper()
	vs, ok := body["violations"].([]any)
	if !ok {
		t.Fatalf("no violations list in %v", body)
	}
	var out []string
	for _, v := range vs {
		m := v.(map[string]any)
		if msg, _ := m["message"].(string); !strings.Contains(msg, m["rule"].(string)) {
			t.Errorf("message %q does not name its rule", msg)
		}
		out = append(out, m["rule"].(string))
	}
	return out
}

func weekPlan(days int, start, end string) map[string]any {
	var ds []map[string]any
	for d := 1; d <= days; d++ {
		ds = append(ds, map[string]any{"weekday": d, "start": start, "end": end})
	}
	return map[string]any{"days": ds, "segments": []map[string]any{
		{"kind": "homework_guidance", "start": start, "end": "16:30"}, {"kind": "activities", "start": "16:30", "end": end}}}
}

func has(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// As principal.hz1: a plan ending at 17:00 (off-work 17:30) gets AS-02, a
// 4-day plan AS-01, a compliant plan none.
func TestServicePlanCompliance(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Login("principal.hz1")
		path := fmt.Sprintf("/api/v1/schools/%d/service-plan", e.HZ1().ID)
		status, body := c.Do(http.MethodPut, path, weekPlan(5, "15:00", "17:00"))
		if status != http.StatusOK || body["compliant"] != false || !has(violationRules(t, body), "AS-02") {
			t.Fatalf("17:00 plan: %d %v", status, body)
		}
		status, body = c.Do(http.MethodPut, path, weekPlan(4, "15:30", "17:30"))
		if r := violationRules(t, body); status != http.StatusOK || !has(r, "AS-01") || has(r, "AS-02") {
			t.Fatalf("4-day plan: %d %v", status, body)
		}
		status, body = c.Do(http.MethodPut, path, weekPlan(5, "15:30", "17:30"))
		if status != http.StatusOK || body["compliant"] != true || len(violationRules(t, body)) != 0 {
			t.Fatalf("compliant plan: %d %v", status, body)
		}

		p := weekPlan(5, "15:30", "17:30")
		p["segments"] = []map[string]any{{"kind": "activities", "start": "15:30", "end": "17:30"}}
		if _, body = c.Do(http.MethodPut, path, p); !has(violationRules(t, body), "AS-06") {
			t.Errorf("no guidance: %v", body)
		}

		p = weekPlan(5, "15:30", "17:30")
		p["off_work_time"] = "17:00"
		if status, body = c.Do(http.MethodPut, path, p); status != http.StatusUnprocessableEntity || body["details"].(map[string]any)["rule"] != "AS-02" {
			t.Errorf("earlier off-work: %d %v", status, body)
		}
		p["off_work_time"] = "18:00"
		if status, body = c.Do(http.MethodPut, path, p); status != http.StatusOK || !has(violationRules(t, body), "AS-02") {
			t.Errorf("later off-work: %d %v", status, body)
		}
		for _, bad := range []any{`{"days": [{"weekday": 9, "start": "15:30", "end": "17:30"}]}`, `{"days": [{"weekday": 1, "start": "17:30", "end": "15:30"}]}`, `{"days": "x"}`, `{}`} {
			if status, body = c.Do(http.MethodPut, path, bad); status != http.StatusBadRequest {
				t.Errorf("%v: %d %v", bad, status, body)
			}
		}
		if status, _ = e.Login("academic.hz1").Do(http.MethodPut, path, weekPlan(5, "15:30", "17:30")); status != http.StatusForbidden {
			t.Errorf("academic may not set the plan: %d", status)
		}
		if status, _ = e.Login("principal.xq1").Do(http.MethodPut, path, weekPlan(5, "15:30", "17:30")); status != http.StatusNotFound {
			t.Errorf("another school's principal: %d", status)
		}
	})

}

func createProgram(t *testing.T, c *apptest.Client, schoolID int64, body map[string]any) int64 {
	t.Helper()
	status, resp := c.Do(http.MethodPost, fmt.Sprintf("/api/v1/schools/%d/programs", schoolID), body)
	if status != http.StatusCreated {
		t.Fatalf("create program: %d %v", status, resp)
	}
	return int64(resp["id"].(float64))
}

// 200 concurrent enrollments into capacity 30: exactly 30 enrolled, 170
// waitlisted; withdrawing one promotes the first on the waitlist.
func TestEnrollmentRush(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		sc := e.HZ1()
		cl := e.Class(sc.ID, 4, 2)
		pid := createProgram(t, e.Login("academic.hz1"), sc.ID, map[string]any{"name": "围棋", "category": "clubs", "grades": []int{4},
			"capacity": 30, "slots": []map[string]any{{"weekday": 2, "start": "16:40", "end": "17:40"}}, "room": "棋室"})
		students := make([]models.Student, 200)
		for i := range students {
			students[i] = models.Student{SchoolID: sc.ID, ClassID: cl.ID, Name: fmt.Sprintf("学生%d", i), StudentNo: fmt.Sprintf("rush%03d", i)}
		}
		if err := e.DB.Create(&students).Error; err != nil {
			t.Fatal(err)
		}
		c := e.Login("principal.hz1")
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]int{}
		for _, st := range students {
			wg.Add(1)
			go func(id int64) {
				defer wg.Done()
				status, body := c.Do(http.MethodPost, fmt.Sprintf("/api/v1/programs/%d/enrollments", pid), map[string]any{"student_id": id, "note": "家长书面申请 2026-11-20", "channel": "paper_form"})
				mu.Lock()
				defer mu.Unlock()
				if status != http.StatusCreated {
					got[fmt.Sprintf("status %d %v", status, body)]++
					return
				}
				got[body["status"].(string)]++
			}(st.ID)
		}
		wg.Wait()
		if got["enrolled"] != 30 || got["waitlisted"] != 170 || len(got) != 2 {
			t.Fatalf("results: %v", got)
		}
		var n int64
		e.DB.Model(&models.Enrollment{}).Where("program_id = ? AND status = ?", pid, "enrolled").Count(&n)
		p, _ := models.GetProgram(context.Background(), e.DB, pid)
		if n != 30 || p.EnrolledCount != 30 || p.WaitlistCount != 170 {
			t.Fatalf("rows %d, counters %d/%d", n, p.EnrolledCount, p.WaitlistCount)
		}
		var first, leaving models.Enrollment
		e.DB.Where("program_id = ? AND status = ?", pid, "waitlisted").Order("position, id").First(&first)
		e.DB.Where("program_id = ? AND status = ?", pid, "enrolled").Order("id").First(&leaving)
		status, body := c.Do(http.MethodDelete, fmt.Sprintf("/api/v1/enrollments/%d", leaving.ID), nil)
		if status != http.StatusOK || body["status"] != "withdrawn" {
			t.Fatalf("withdraw: %d %v", status, body)
		}
		if pr, _ := body["promoted"].(map[string]any); pr == nil || int64(pr["id"].(float64)) != first.ID {
			t.Fatalf("promoted %v, want %d", body["promoted"], first.ID)
		}
		p, _ = models.GetProgram(context.Background(), e.DB, pid)
		e.DB.Model(&models.Enrollment{}).Where("program_id = ? AND status = ?", pid, "enrolled").Count(&n)
		if n != 30 || p.EnrolledCount != 30 || p.WaitlistCount != 169 {
			t.Fatalf("after withdraw: rows %d, counters %d/%d", n, p.EnrolledCount, p.WaitlistCount)
		}
		if status, _ = c.Do(http.MethodDelete, fmt.Sprintf("/api/v1/enrollments/%d", leaving.ID), nil); status != http.StatusConflict {
			t.Errorf("second withdraw: %d", status)
		}
	})

}

func parentChild(t *testing.T, e *apptest.Env) models.Student {
	t.Helper()
	u, err := models.UserByUsername(context.Background(), e.DB, "parent.hz1")
	if err != nil {
		t.Fatal(err)
	}
	kids, err := models.ChildrenOf(context.Background(), e.DB, u.ID)
	if err != nil || len(kids) == 0 {
		t.Fatal("no child", err)
	}
	return kids[0]
}

// AS-04 and the reasons a student may not join.
func TestEnrollmentRules(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		sc := e.HZ1()
		ac := e.Login("academic.hz1")
		slot := []map[string]any{{"weekday": 3, "start": "17:40", "end": "18:30"}}
		a := createProgram(t, ac, sc.ID, map[string]any{"name": "机器人", "category": "science", "grades": []int{4, 5}, "capacity": 10, "slots": slot})
		b := createProgram(t, ac, sc.ID, map[string]any{"name": "合唱", "category": "arts", "grades": []int{4}, "capacity": 10,
			"slots": []map[string]any{{"weekday": 3, "start": "18:00", "end": "18:40"}}})
		old := createProgram(t, ac, sc.ID, map[string]any{"name": "篮球", "category": "sports", "grades": []int{8, 9}, "capacity": 10, "slots": slot})
		kid := parentChild(t, e)
		e.DB.Model(&models.Enrollment{}).Where("student_id = ?", kid.ID).Update("status", "withdrawn")
		enroll := func(c *apptest.Client, pid int64, body any) (int, map[string]any) {
			return c.Do(http.MethodPost, fmt.Sprintf("/api/v1/programs/%d/enrollments", pid), body)
		}
		parent := e.Login("parent.hz1")
		status, body := enroll(parent, a, map[string]any{"student_id": kid.ID})
		if status != http.StatusCreated || body["status"] != "enrolled" {
			t.Fatalf("guardian enroll: %d %v", status, body)
		}
		if status, body = enroll(parent, b, map[string]any{"student_id": kid.ID}); status != http.StatusUnprocessableEntity || body["details"].(map[string]any)["reason"] != "slot_clash" {
			t.Errorf("clash: %d %v", status, body)
		}
		if status, body = enroll(parent, old, map[string]any{"student_id": kid.ID}); status != http.StatusUnprocessableEntity || body["details"].(map[string]any)["reason"] != "grade_not_eligible" {
			t.Errorf("grade: %d %v", status, body)
		}
		if status, _ = enroll(parent, a, map[string]any{"student_id": kid.ID}); status != http.StatusConflict {
			t.Errorf("twice: %d", status)
		}

		var other models.Student
		e.DB.Where("class_id = ? AND id <> ?", kid.ClassID, kid.ID).First(&other)
		if status, _ = enroll(parent, a, map[string]any{"student_id": other.ID}); status != http.StatusNotFound {
			t.Errorf("other child: %d", status)
		}

		pc := e.Login("principal.hz1")
		if status, body = enroll(pc, a, map[string]any{"student_id": other.ID}); status != http.StatusUnprocessableEntity || body["details"].(map[string]any)["rule"] != "AS-04" {
			t.Errorf("staff without note: %d %v", status, body)
		}
		// Finding 7: a mark is not the guardian's request, and the channel is named.
		if status, body = enroll(pc, a, map[string]any{"student_id": other.ID, "note": "x", "channel": "phone"}); status != http.StatusUnprocessableEntity || body["error"] != "guardian_request_required" {
			t.Errorf("staff with note x: %d %v", status, body)
		}
		if status, body = enroll(pc, a, map[string]any{"student_id": other.ID, "note": "母亲 11-20 书面申请"}); status != http.StatusUnprocessableEntity || body["error"] != "request_channel_required" {
			t.Errorf("staff without channel: %d %v", status, body)
		}
		if status, body = enroll(pc, a, map[string]any{"student_id": other.ID, "note": "母亲 11-20 书面申请", "channel": "carrier pigeon"}); status != http.StatusUnprocessableEntity {
			t.Errorf("staff with an unknown channel: %d %v", status, body)
		}
		if status, body = enroll(pc, a, map[string]any{"student_id": other.ID, "note": "母亲 11-20 书面申请", "channel": "paper_form"}); status != http.StatusCreated {
			t.Errorf("staff with note: %d %v", status, body)
		}
		var row models.Enrollment
		e.DB.Where("program_id = ? AND student_id = ?", a, other.ID).First(&row)
		if !row.StaffEntry || row.Note == "" || row.RequestChannel != "paper_form" {
			t.Errorf("staff entry not recorded: %+v", row)
		}
		if status, _ = enroll(e.Login("teacher.hz1"), a, map[string]any{"student_id": other.ID, "note": "x"}); status != http.StatusForbidden {
			t.Errorf("subject teacher: %d", status)
		}
		if status, body = enroll(parent, a, `{"student_id": "x"}`); status != http.StatusBadRequest {
			t.Errorf("bad body: %d %v", status, body)
		}

		if status, body = ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/schools/%d/programs", sc.ID), map[string]any{"name": "新课预习", "category": "new_lessons",
			"grades": []int{4}, "capacity": 10, "slots": slot}); status != http.StatusUnprocessableEntity || body["details"].(map[string]any)["rule"] != "AS-06" {
			t.Errorf("new lessons: %d %v", status, body)
		}

		var mine models.Enrollment
		e.DB.Where("program_id = ? AND student_id = ?", a, kid.ID).First(&mine)
		if status, body = parent.Do(http.MethodDelete, fmt.Sprintf("/api/v1/enrollments/%d", mine.ID), nil); status != http.StatusOK {
			t.Errorf("parent withdraw: %d %v", status, body)
		}
		if status, _ = e.Login("principal.xq1").Do(http.MethodDelete, fmt.Sprintf("/api/v1/enrollments/%d", row.ID), nil); status != http.StatusNotFound {
			t.Errorf("other school withdraw: %d", status)
		}
	})

}

// The lottery is reproducible from its stored seed and draws priority
// groups first.
func TestLotteryReproducible(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		sc := e.HZ1()
		ac := e.Login("academic.hz1")
		pid := createProgram(t, ac, sc.ID, map[string]any{"name": "陶艺", "category": "arts", "grades": []int{5}, "capacity": 2, "mode": "lottery",
			"apply_until": "2026-11-30", "slots": []map[string]any{{"weekday": 4, "start": "17:40", "end": "18:30"}}})
		var kids []models.Student
		e.DB.Joins("JOIN classes ON classes.id = students.class_id").Where("students.school_id = ? AND classes.grade = 5", sc.ID).Order("students.id").Find(&kids)
		if len(kids) < 6 {
			t.Fatalf("%d grade-5 students", len(kids))
		}
		e.DB.Model(&models.Student{}).Where("school_id = ?", sc.ID).Update("priority_groups", "")
		e.DB.Model(&models.Student{}).Where("id = ?", kids[5].ID).Update("priority_groups", "left_behind")
		pc := e.Login("principal.hz1")
		for _, k := range kids {
			status, body := pc.Do(http.MethodPost, fmt.Sprintf("/api/v1/programs/%d/enrollments", pid), map[string]any{"student_id": k.ID, "note": "家长 11 月 20 日电话申请", "channel": "phone"})
			if status != http.StatusCreated || body["status"] != "applied" {
				t.Fatalf("apply: %d %v", status, body)
			}
		}
		term := e.District.Term[sc.ID]
		a, err := models.DrawLottery(ctx, e.DB, sc.ID, term.ID, 4242)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := models.DrawLottery(ctx, e.DB, sc.ID, term.ID, 4242)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("same seed, different draws:\n%v\n%v", a, b)
		}
		if a.Order[0] != kids[5].ID {
			t.Errorf("left-behind student draws at %v", a.Order)
		}
		status, body := ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/schools/%d/lottery", sc.ID), map[string]any{"seed": "4242"})
		if status != http.StatusCreated || body["seed"] != "4242" {
			t.Fatalf("run: %d %v", status, body)
		}
		var won []int64
		e.DB.Model(&models.Enrollment{}).Where("program_id = ? AND status = ?", pid, "enrolled").Order("student_id").Pluck("student_id", &won)
		want := fmt.Sprint(a.Won)
		gotWon := map[int64][]int64{}
		for _, id := range won {
			gotWon[id] = []int64{pid}
		}
		if len(won) != 2 || fmt.Sprint(gotWon) != want {
			t.Errorf("enrolled %v, draw said %v", won, want)
		}
		p, _ := models.GetProgram(ctx, e.DB, pid)
		if p.LotterySeed != "4242" || p.EnrolledCount != 2 || p.WaitlistCount != len(kids)-2 {
			t.Errorf("program after draw: %+v", p)
		}
		if status, _ = ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/schools/%d/lottery", sc.ID), map[string]any{"seed": "1"}); status != http.StatusUnprocessableEntity {
			t.Errorf("second draw: %d", status)
		}
	})

}

// Attendance by the instructor, cancellation, and the coverage indicators
// read from the rollups.
func TestAttendanceAndCoverage(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		sc := e.HZ1()
		var ins models.ProgramInstructor
		if err := e.DB.Joins("JOIN users ON users.id = program_instructors.teacher_id").Where("program_instructors.school_id = ? AND users.username = ?", sc.ID, "head.hz1").First(&ins).Error; err != nil {
			t.Fatal("head.hz1 runs no program", err)
		}
		var ss models.ProgramSession
		e.DB.Where("program_id = ? AND date <= ? AND status = ?", ins.ProgramID, apptest.Today, "scheduled").Order("date DESC").First(&ss)
		roster, _ := models.Roster(ctx, e.DB, ins.ProgramID)
		var marks []map[string]any
		for _, r := range roster {
			if r.Status == "enrolled" {
				marks = append(marks, map[string]any{"student_id": r.StudentID, "status": "absent"})
			}
		}
		if len(marks) == 0 {
			t.Fatal("empty roster")
		}
		c := e.Login("head.hz1")
		status, body := c.Do(http.MethodPut, fmt.Sprintf("/api/v1/sessions/%d/attendance", ss.ID), map[string]any{"items": marks})
		if status != http.StatusOK || int(body["absent"].(float64)) != len(marks) {
			t.Fatalf("attendance: %d %v", status, body)
		}
		if status, _ = e.Login("teacher.hz1").Do(http.MethodPut, fmt.Sprintf("/api/v1/sessions/%d/attendance", ss.ID), map[string]any{"items": marks}); status != http.StatusNotFound {
			t.Errorf("not the instructor: %d", status)
		}
		var future models.ProgramSession
		e.DB.Where("program_id = ? AND date > ?", ins.ProgramID, apptest.Today).Order("date").First(&future)
		if status, _ = c.Do(http.MethodPut, fmt.Sprintf("/api/v1/sessions/%d/attendance", future.ID), map[string]any{"items": marks}); status != http.StatusUnprocessableEntity {
			t.Errorf("future session: %d", status)
		}
		if status, body = c.Do(http.MethodPost, fmt.Sprintf("/api/v1/sessions/%d/cancel", future.ID), map[string]any{"reason": "大风"}); status != http.StatusOK || body["status"] != "cancelled" {
			t.Errorf("cancel: %d %v", status, body)
		}
		var daily models.ASDailyRollup
		e.DB.Where("school_id = ? AND date = ?", sc.ID, ss.Date).First(&daily)
		if daily.Absent < len(marks) {
			t.Errorf("daily rollup %+v", daily)
		}
		var src models.IndicatorSource
		for _, s := range models.IndicatorSources() {
			if s.Group == "afterschool" {
				src = s
			}
		}
		vals, err := src.Compute(ctx, e.DB, []int64{sc.ID}, "2026-11-01", apptest.Today)
		if err != nil {
			t.Fatal(err)
		}
		v := vals[sc.ID]
		if v[models.IndOffersService] != 1 || v[models.IndPlanCompliant] != 1 || v[models.IndDaysPerWeek] != 5 || v[models.IndMinutesPerDay] != 120 ||
			v[models.IndEnrolledPct] <= 0 || v[models.IndEnrolledPct] > 1 || v[models.IndAttendancePct] <= 0 || v[models.IndTeacherParticipation] <= 0 {
			t.Errorf("indicators: %v", v)
		}

		status, body = e.Login("principal.hz1").Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/staff-hours?month=2026-11", sc.ID), nil)
		if status != http.StatusOK || len(apptest.Items(t, body)) == 0 {
			t.Fatalf("hours: %d %v", status, body)
		}
		status, raw := e.Login("academic.hz1").Raw(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/staff-hours?month=2026-11&format=csv", sc.ID), nil)
		if status != http.StatusOK || !strings.Contains(string(raw), "2026-11") {
			t.Errorf("csv: %d %s", status, raw)
		}
		if status, _ = e.Login("teacher.hz1").Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/staff-hours", sc.ID), nil); status != http.StatusForbidden {
			t.Errorf("teacher reads everyone's hours: %d", status)
		}
	})

}

// The after-school pages render for each role with their key content.
func TestAfterschoolPages(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, "sqlite")
	sc := e.HZ1()
	var prog models.Program
	e.DB.Where("school_id = ?", sc.ID).Order("id").First(&prog)
	var ins models.ProgramInstructor
	e.DB.Joins("JOIN users ON users.id = program_instructors.teacher_id").Where("users.username = ?", "head.hz1").First(&ins)
	var ss models.ProgramSession
	e.DB.Where("program_id = ? AND date <= ?", ins.ProgramID, apptest.Today).Order("date DESC").First(&ss)
	kid := parentChild(t, e)
	id := strconv.FormatInt(sc.ID, 10)
	cases := []struct{ user, path, want string }{
		{"principal.hz1", "/schools/" + id + "/afterschool", "符合"},
		{"principal.hz1", "/schools/" + id + "/afterschool/hours?month=2026-11", "教师课后服务课时"},
		{"academic.hz1", "/schools/" + id + "/afterschool/timetable", "作业辅导"},
		{"academic.hz1", "/schools/" + id + "/afterschool/timetable?solve=1", "排课器结果"},
		{"academic.hz1", fmt.Sprintf("/afterschool/programs/%d", prog.ID), "名单"},
		{"head.hz1", "/afterschool/mine", "最近课次"},
		{"head.hz1", fmt.Sprintf("/afterschool/sessions/%d", ss.ID), `value="excused"`},
		{"parent.hz1", "/afterschool/choose", kid.Name},
		{"parent.hz1", "/", "/afterschool/choose"},
		{"teacher.hz1", "/schools/" + id + "/afterschool", prog.Name},
		{"bureau.haizhou", "/regions/210902/afterschool", sc.Name},
		{"bureau.fuxin", "/", "/regions/210900/afterschool"},
	}
	for _, c := range cases {
		b := e.Browser()
		b.SignIn(c.user)
		status, page := b.Get(c.path)
		if status != http.StatusOK || !strings.Contains(page, c.want) {
			t.Errorf("%s %s: %d, want %q", c.user, c.path, status, c.want)
		}
	}
	// Non-compliant schools show their rule ids to the bureau's principal view.
	b := e.Browser()
	b.SignIn("parent.hz1")
	if status, _ := b.Get("/schools/" + id + "/afterschool/hours"); status != http.StatusForbidden {
		t.Errorf("parent on hours page: %d", status)
	}
	// A guardian enrolls on the phone page: 303 and the page shows the status.
	_, page := b.Get("/afterschool/choose")
	var free models.Program
	e.DB.Where("school_id = ? AND grades LIKE ? AND name LIKE ?", sc.ID, "%4%", "%阅读%").First(&free)
	var existing int64
	e.DB.Model(&models.Enrollment{}).Where("program_id = ? AND student_id = ? AND status IN ?", free.ID, kid.ID, []string{"enrolled", "waitlisted"}).Count(&existing)
	if existing == 0 {
		status, _, _ := b.Post("/afterschool/choose/enroll", url.Values{"_csrf": {apptest.CSRFFrom(t, page)}, "program_id": {strconv.FormatInt(free.ID, 10)}, "student_id": {strconv.FormatInt(kid.ID, 10)}})
		if status != http.StatusSeeOther {
			t.Errorf("enroll form: %d", status)
		}
	}
	_, page = b.Get("/afterschool/choose")
	if !strings.Contains(page, "退出") {
		t.Error("choose page shows no withdraw button after enrolling")
	}
	// The principal saves the plan through the form and sees the report.
	b = e.Browser()
	b.SignIn("principal.hz1")
	_, page = b.Get("/schools/" + id + "/afterschool")
	form := url.Values{"_csrf": {apptest.CSRFFrom(t, page)}, "hw_start": {"15:30"}, "hw_end": {"16:30"}, "act_start": {"16:30"}, "act_end": {"17:00"}}
	for d := 1; d <= 4; d++ {
		form.Set(fmt.Sprintf("day%d", d), "1")
		form.Set(fmt.Sprintf("start%d", d), "15:30")
		form.Set(fmt.Sprintf("end%d", d), "17:00")
	}
	if status, _, _ := b.Post("/schools/"+id+"/afterschool/plan", form); status != http.StatusSeeOther {
		t.Fatalf("plan form: %d", status)
	}
	_, page = b.Get("/schools/" + id + "/afterschool")
	if !strings.Contains(page, "AS-01") || !strings.Contains(page, "AS-02") {
		t.Error("plan page does not show AS-01 and AS-02 after a 4-day plan ending 17:00")
	}
}
