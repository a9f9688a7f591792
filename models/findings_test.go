package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/policies"
)

// honestSchool is a nine-year school with a 1-1 and a 4-1 class, a 数学
// teacher, two students of 4-1 with a guardian each, and a student of 1-1.
type honestSchool struct {
	school    models.School
	term      models.Term
	g1, g4    models.Class
	subject   models.Subject
	teacher   models.User
	students  []models.Student // 4-1, 4-1, 1-1
	guardians []models.User
}

func newHonestSchool(tb testing.TB, db *gorm.DB, n int) *honestSchool {
	tb.Helper()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	if n == 0 {
		must(db.Create(&models.Region{Code: "210900", Name: "阜新市", Level: "city"}).Error)
	}
	h := &honestSchool{}
	h.school = models.School{RegionCode: "210900", Name: fmt.Sprintf("九年一贯制%d", n), Stage: models.StageNineYear, Code: fmt.Sprintf("21000001%02d", n), OffWorkTime: "17:30", TimeZone: "Asia/Shanghai"}
	must(db.Create(&h.school).Error)
	h.term = models.Term{SchoolID: h.school.ID, SchoolYear: "2026-2027", Semester: 1, Name: "秋季", StartDate: "2026-09-01", EndDate: "2027-01-22"}
	must(db.Create(&h.term).Error)
	h.g1 = models.Class{SchoolID: h.school.ID, Grade: 1, Number: 1, Name: "1-1"}
	h.g4 = models.Class{SchoolID: h.school.ID, Grade: 4, Number: 1, Name: "4-1"}
	must(db.Create(&h.g1).Error)
	must(db.Create(&h.g4).Error)
	if err := db.Where("code = ?", "math").First(&h.subject).Error; err != nil {
		h.subject = models.Subject{Code: "math", Name: "数学", NameEn: "Mathematics"}
		must(db.Create(&h.subject).Error)
	}
	h.teacher = models.User{Username: fmt.Sprintf("t%d", n), DisplayName: "老师", PasswordHash: "x", SchoolID: &h.school.ID}
	must(db.Create(&h.teacher).Error)
	for i, cl := range []models.Class{h.g4, h.g4, h.g1} {
		st := models.Student{SchoolID: h.school.ID, ClassID: cl.ID, Name: fmt.Sprintf("学生%d", i), StudentNo: fmt.Sprintf("S%d-%d", n, i)}
		must(db.Create(&st).Error)
		u := models.User{Username: fmt.Sprintf("p%d-%d", n, i), DisplayName: "家长", PasswordHash: "x", SchoolID: &h.school.ID}
		must(db.Create(&u).Error)
		must(db.Create(&models.Guardian{SchoolID: h.school.ID, UserID: u.ID, StudentID: st.ID, Relation: "母亲"}).Error)
		h.students = append(h.students, st)
		h.guardians = append(h.guardians, u)
	}
	return h
}

func (h *honestSchool) rules(tb testing.TB, db *gorm.DB) *models.HomeworkRules {
	tb.Helper()
	r, err := models.LoadHomeworkRules(context.Background(), db, h.school.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func (h *honestSchool) item(date, title, kind, layer string, minutes int) models.HomeworkInput {
	return models.HomeworkInput{SubjectID: h.subject.ID, Date: date, Title: title, Minutes: minutes, Kind: kind, Layer: layer}
}

func wantRefusal(t *testing.T, err error, code, rule string) {
	t.Helper()
	e, ok := models.AsError(err)
	if !ok || e.Code != code || e.Details["rule"] != rule {
		t.Fatalf("got %v, want %s (%s)", err, code, rule)
	}
}

// Finding 1: labels hide load. A grade-1 workbook page labelled practice
// and a take-home inquiry task are refused (HW-01); an "oral" item titled
// like copying is refused until it is labelled written (HW-15); every
// take-home minute is on the class-day beside the counted ones, and the
// all-kinds budget refuses the 420-minute evening the cap let through.
func TestFinding1LabelsHideLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		h := newHonestSchool(t, db, 0)
		r := h.rules(t, db)
		day := "2026-11-24"
		_, err := models.CreateHomework(ctx, db, r, &h.g1, h.teacher.ID, h.item(day, "练习册第12页", policies.KindPractice, policies.LayerRequired, 15))
		wantRefusal(t, err, policies.CodeWrittenNotAllowed, policies.RuleHW01)
		_, err = models.CreateHomework(ctx, db, r, &h.g1, h.teacher.ID, h.item(day, "观察树叶并记录", policies.KindInquiry, policies.LayerRequired, 15))
		wantRefusal(t, err, policies.CodeWrittenNotAllowed, policies.RuleHW01)
		if _, err := models.CreateHomework(ctx, db, r, &h.g1, h.teacher.ID, h.item(day, "和家长一起读绘本", policies.KindReading, policies.LayerRequired, 15)); err != nil {
			t.Fatalf("grade-1 reading refused: %v", err)
		}
		_, err = models.CreateHomework(ctx, db, r, &h.g4, h.teacher.ID, h.item(day, "抄写生字三遍", policies.KindOral, policies.LayerRequired, 30))
		wantRefusal(t, err, policies.CodeKindLooksWritten, policies.RuleHW15)

		// Without a budget the evening of 4-1 fills with uncounted labels, and it shows.
		for _, it := range []models.HomeworkInput{
			h.item(day, "口算", policies.KindWritten, policies.LayerRequired, 60),
			h.item(day, "背诵课文", policies.KindOral, policies.LayerRequired, 120),
			h.item(day, "实践：测量家具", policies.KindPractice, policies.LayerRequired, 120),
			h.item(day, "拓展题", policies.KindWritten, policies.LayerOptional, 120),
		} {
			if _, err := models.CreateHomework(ctx, db, r, &h.g4, h.teacher.ID, it); err != nil {
				t.Fatalf("%s: %v", it.Title, err)
			}
		}
		loads, err := models.ClassDayLoads(ctx, db, h.g4.ID, day, day)
		if err != nil || len(loads) != 1 {
			t.Fatal(loads, err)
		}
		if loads[0].TotalMinutes != 60 || loads[0].TakeHomeMinutes != 420 {
			t.Fatalf("counted %d, take-home %d; want 60 and 420", loads[0].TotalMinutes, loads[0].TakeHomeMinutes)
		}

		// The all-kinds budget: a region sets 90 for grades 3–6; the school may not loosen it.
		chain := []string{policies.RegionDomain("210900"), "*"}
		region := policies.DefaultHomeworkLimits()
		region.TakeHome = &policies.BandCaps{G1to2: 20, G3to6: 90, G7to9: 120}
		if err := models.PutHomeworkLimits(ctx, db, 0, chain, region); err != nil {
			t.Fatal(err)
		}
		looser := policies.DefaultHomeworkLimits()
		looser.TakeHome = &policies.BandCaps{G1to2: 20, G3to6: 100, G7to9: 120}
		err = models.PutHomeworkLimits(ctx, db, h.school.ID, append([]string{policies.SchoolDomain(h.school.ID)}, chain...), looser)
		wantRefusal(t, err, "setting_looser_than_allowed", policies.RuleHW15)
		r = h.rules(t, db)
		next := "2026-11-25"
		if _, err := models.CreateHomework(ctx, db, r, &h.g4, h.teacher.ID, h.item(next, "口算", policies.KindWritten, policies.LayerRequired, 60)); err != nil {
			t.Fatal(err)
		}
		_, err = models.CreateHomework(ctx, db, r, &h.g4, h.teacher.ID, h.item(next, "背诵课文", policies.KindOral, policies.LayerRequired, 31))
		wantRefusal(t, err, policies.CodeTakeHomeExceeded, policies.RuleHW15)
		if e, _ := models.AsError(err); e.Details["remaining_minutes"] != 30 {
			t.Fatalf("details %v", e.Details)
		}
		if _, err := models.CreateHomework(ctx, db, r, &h.g4, h.teacher.ID, h.item(next, "背诵课文", policies.KindOral, policies.LayerRequired, 30)); err != nil {
			t.Fatalf("30 minutes within the budget refused: %v", err)
		}
		// Work done in school does not use the evening's budget.
		inSchool := h.item(next, "课堂练习", policies.KindWritten, policies.LayerRequired, 40)
		inSchool.InSchool = true
		if _, err := models.CreateHomework(ctx, db, r, &h.g4, h.teacher.ID, inSchool); err != nil {
			t.Fatalf("in-school item refused: %v", err)
		}
		loads, _ = models.ClassDayLoads(ctx, db, h.g4.ID, next, next)
		if loads[0].TakeHomeMinutes != 90 || loads[0].BudgetMinutes != 90 || loads[0].AllMinutes != 130 {
			t.Fatalf("load %+v", loads[0])
		}
	})
}

// Finding 2: compliance came from the counted total, which a refused save
// keeps within the cap, so hw.days_within_cap_pct was 100% and the HW-02/03
// alert could never fire. Now guardians' reports decide: 4-1's reported
// evening is over its 60 minutes on two days of the week.
func TestFinding2ComplianceFromReports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		h := newHonestSchool(t, db, 0)
		r := h.rules(t, db)
		days := []string{"2026-11-23", "2026-11-24", "2026-11-25"}
		for _, d := range days {
			if _, err := models.CreateHomework(ctx, db, r, &h.g4, h.teacher.ID, h.item(d, "口算", policies.KindWritten, policies.LayerRequired, 50)); err != nil {
				t.Fatal(err)
			}
		}
		report := func(st int, day string, minutes int, written bool) {
			t.Helper()
			if _, err := models.SaveFeedback(ctx, db, h.guardians[st].ID, &h.g4, models.FeedbackInput{StudentID: h.students[st].ID, Date: day,
				ActualMinutes: minutes, ReallyWritten: written, Today: "2026-11-27"}); err != nil {
				t.Fatal(err)
			}
		}
		report(0, days[0], 90, false)
		report(1, days[0], 70, true) // mean 80 > 60
		report(0, days[1], 100, false)
		report(0, days[1], 65, true) // replaces the 100: still over
		// days[2] has no report.
		vals, err := models.ComputeIndicators(ctx, db, []int64{h.school.ID}, "2026-11-23", "2026-11-27")
		if err != nil {
			t.Fatal(err)
		}
		v := vals[h.school.ID]
		want := map[string]float64{"hw.days_within_cap_pct": 0, "hw.reported_class_days": 2, "hw.unreported_class_days": 1,
			"hw.max_class_reported_over_days": 2, "hw.reported_written": 2, "hw.reported_written_pct": 2.0 / 3, "hw.reported_longer_pct": 1}
		checkValues(t, v, want)
		n, err := models.EvaluateAlerts(ctx, db, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		alerts, _ := models.AlertsOf(ctx, db, []int64{h.school.ID}, "")
		got := map[string]float64{}
		for _, a := range alerts {
			got[a.Rule] = a.Value
		}
		if n != len(alerts) || got["HW-02/03"] != 2 || got["HW-15"] == 0 {
			t.Fatalf("alerts %v (%d raised)", got, n)
		}
	})
}

// Finding 4: AS-03 flagged every school whose participation was under 95%,
// though participation is voluntary. Now a school that serves every school
// day and places every student who asked is covered at 30% participation,
// and the school with a waitlisted request is the one alerted.
func TestFinding4CoverageNotParticipation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		today := "2026-11-23"
		var schools []*honestSchool
		for n := 0; n < 2; n++ {
			h := newHonestSchool(t, db, n)
			schools = append(schools, h)
			var days []policies.ServiceDay
			for wd := 1; wd <= 5; wd++ {
				days = append(days, policies.ServiceDay{Weekday: wd, Start: "15:40", End: "17:40"})
			}
			if _, _, err := models.SaveServicePlan(ctx, db, models.PlanInput{SchoolID: h.school.ID, Days: days, Today: today}); err != nil {
				t.Fatal(err)
			}
			var slots []policies.Slot
			for wd := 1; wd <= 5; wd++ {
				slots = append(slots, policies.Slot{Weekday: wd, Start: "16:40", End: "17:40"})
			}
			capacity := 10
			if n == 1 {
				capacity = 1 // the second school has one place for two requests
			}
			p, err := models.CreateProgram(ctx, db, models.ProgramInput{SchoolID: h.school.ID, Today: today, Name: "围棋", Category: policies.CatClubs,
				Grades: []int{4}, Capacity: capacity, Slots: slots})
			if err != nil {
				t.Fatal(err)
			}
			for st := 0; st < 2; st++ {
				if _, err := models.Enroll(ctx, db, models.EnrollInput{ProgramID: p.ID, StudentID: h.students[st].ID, RequestedBy: h.guardians[st].ID, Today: today}); err != nil {
					t.Fatal(err)
				}
			}
		}
		vals, err := models.ComputeIndicators(ctx, db, []int64{schools[0].school.ID, schools[1].school.ID}, "2026-11-23", "2026-11-27")
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, vals[schools[0].school.ID], map[string]float64{"as.participation_pct": 2.0 / 3, "as.demand_met_pct": 1, "as.service_days_pct": 1, "as.coverage_pct": 1})
		checkValues(t, vals[schools[1].school.ID], map[string]float64{"as.participation_pct": 1.0 / 3, "as.demand_met_pct": 0.5, "as.unmet_demand": 1, "as.coverage_pct": 0.5})
		if _, err := models.EvaluateAlerts(ctx, db, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		for i, h := range schools {
			alerts, _ := models.AlertsOf(ctx, db, []int64{h.school.ID}, "")
			as03 := 0
			for _, a := range alerts {
				if a.Rule == "AS-03" {
					as03++
					if a.IndicatorKey != models.IndCoveragePct {
						t.Errorf("AS-03 alert on %s", a.IndicatorKey)
					}
				}
				if a.IndicatorKey == models.IndParticipationPct {
					t.Errorf("an alert on participation: %+v", a)
				}
			}
			if want := i; as03 != want {
				t.Errorf("school %d: %d AS-03 alerts, want %d", i, as03, want)
			}
		}
		// An alert rule on participation is refused.
		if err := models.ValidateAlertRules([]policies.AlertRule{{ID: "AS-03", Key: models.IndParticipationPct, Op: "lt", Threshold: 0.95}}); err == nil {
			t.Fatal("alert rule on participation accepted")
		}
	})
}

// Finding 5: the "EX-01" alert counted refusals of every exam rule. A
// grade-8 weekly test refused by EX-04 raises no EX-01 alert; a grade-2
// paper exam does.
func TestFinding5AlertCountsItsOwnRule(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		h := newHonestSchool(t, db, 0)
		day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		if err := models.RecordRefusals(ctx, db, h.school.ID, "2026-11-24", []policies.Violation{{Rule: policies.RuleEX04}, {Rule: policies.RuleEX04}}); err != nil {
			t.Fatal(err)
		}
		if _, err := models.EvaluateAlerts(ctx, db, day); err != nil {
			t.Fatal(err)
		}
		alerts, _ := models.AlertsOf(ctx, db, []int64{h.school.ID}, "")
		for _, a := range alerts {
			if a.Rule == "EX-01" {
				t.Fatalf("EX-01 alert raised by an EX-04 refusal: %+v", a)
			}
		}
		if err := models.RecordRefusals(ctx, db, h.school.ID, "2026-11-25", []policies.Violation{{Rule: policies.RuleEX01}}); err != nil {
			t.Fatal(err)
		}
		if _, err := models.EvaluateAlerts(ctx, db, day); err != nil {
			t.Fatal(err)
		}
		alerts, _ = models.AlertsOf(ctx, db, []int64{h.school.ID}, "")
		found := false
		for _, a := range alerts {
			if a.Rule == "EX-01" {
				found = a.Value == 1 && a.IndicatorKey == "ex.ex01_refusals"
			}
		}
		if !found {
			t.Fatalf("no EX-01 alert counting one EX-01 refusal: %+v", alerts)
		}
		// Two rules under one id would share one alert: refused.
		if err := models.ValidateAlertRules([]policies.AlertRule{{ID: "EX-01", Key: "ex.ex01_refusals", Op: "gt"}, {ID: "EX-01", Key: "ex.refused_attempts", Op: "gt"}}); err == nil {
			t.Fatal("duplicate rule id accepted")
		}
	})
}

// Finding 6: three grade-8 数学 non-paper "exams" in one week were accepted;
// a paper-based exam could be approved without its paper; a grade-9 mock
// was allowed in the autumn term.
func TestFinding6ExamLoopholes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		h := newHonestSchool(t, db, 0)
		today := "2026-11-02"
		np := func(date string) models.ExamInput {
			return models.ExamInput{Grades: []int{8}, Subject: "数学", Kind: policies.ExamNonPaper, Date: date}
		}
		if _, err := models.CreateExam(ctx, db, &h.school, np("2026-11-10"), today); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"2026-11-11", "2026-11-12"} {
			_, err := models.CreateExam(ctx, db, &h.school, np(d), today)
			wantRefusal(t, err, "exam_not_allowed", policies.RuleEX04)
		}
		if _, err := models.CreateExam(ctx, db, &h.school, np("2026-11-17"), today); err != nil {
			t.Fatalf("next week's non-paper assessment refused: %v", err)
		}
		_, err := models.CreateExam(ctx, db, &h.school, models.ExamInput{Grades: []int{9}, Subject: "数学", Kind: policies.ExamMock, PaperBased: true, Date: "2026-12-10"}, today)
		wantRefusal(t, err, "exam_not_allowed", policies.RuleEX05)
		vals, _ := models.ComputeIndicators(ctx, db, []int64{h.school.ID}, "2026-11-01", "2026-11-30")
		checkValues(t, vals[h.school.ID], map[string]float64{"ex.ex04_refusals": 2, "ex.ex05_refusals": 1, "ex.ex01_refusals": 0, "ex.refused_attempts": 3})

		final, err := models.CreateExam(ctx, db, &h.school, models.ExamInput{Grades: []int{8}, Subject: "数学", Kind: policies.ExamFinal, PaperBased: true, Date: "2027-01-12"}, today)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.TransitionExam(ctx, db, &h.school, final.ID, models.ActionSubmit, "", today); err != nil {
			t.Fatal(err)
		}
		_, err = models.TransitionExam(ctx, db, &h.school, final.ID, models.ActionApprove, "", today)
		wantRefusal(t, err, "paper_required", policies.RuleEX09)
		items := []models.PaperItemInput{}
		for i := 0; i < 10; i++ {
			items = append(items, models.PaperItemInput{Points: 10, Difficulty: policies.BandEasy, Cognitive: policies.CogApplication, WithinStandard: true})
		}
		if _, err := models.SavePaper(ctx, db, &h.school, final.ID, items); err != nil {
			t.Fatal(err)
		}
		if _, err := models.TransitionExam(ctx, db, &h.school, final.ID, models.ActionApprove, "", today); err != nil {
			t.Fatalf("approval with a paper refused: %v", err)
		}
	})
}

// Finding 7: 「数学新课提前学」 opened with a flag nobody had to act on, and
// a staff note "x" counted as the guardian's written request.
func TestFinding7AfterSchoolContentAndRequests(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		h := newHonestSchool(t, db, 0)
		today := "2026-11-23"
		slots := []policies.Slot{{Weekday: 2, Start: "16:40", End: "17:40"}}
		p, err := models.CreateProgram(ctx, db, models.ProgramInput{SchoolID: h.school.ID, Today: today, Name: "数学新课提前学", Category: policies.CatHomeworkGuidance,
			Grades: []int{4}, Capacity: 30, Slots: slots})
		if err != nil {
			t.Fatal(err)
		}
		if p.Confirmation != models.ConfirmationPending {
			t.Fatalf("confirmation %q", p.Confirmation)
		}
		_, err = models.Enroll(ctx, db, models.EnrollInput{ProgramID: p.ID, StudentID: h.students[0].ID, RequestedBy: h.guardians[0].ID, Today: today})
		wantRefusal(t, err, "program_not_confirmed", policies.RuleAS06)
		_, err = models.ConfirmProgram(ctx, db, h.school.ID, p.ID, h.teacher.ID, "可以")
		wantRefusal(t, err, "confirm_reason_required", policies.RuleAS06)
		if _, err := models.ConfirmProgram(ctx, db, h.school.ID+1000, p.ID, h.teacher.ID, "内容为作业辅导与答疑，不讲授新课，已核对教案。"); err != models.ErrNotFound {
			t.Fatalf("another school's confirmation: %v", err)
		}
		c, err := models.ConfirmProgram(ctx, db, h.school.ID, p.ID, h.teacher.ID, "内容为作业辅导与答疑，不讲授新课，已核对教案。")
		if err != nil || c.Confirmation != models.ConfirmationConfirmed || c.ConfirmedBy == nil {
			t.Fatalf("confirm: %+v %v", c, err)
		}
		var audits int64
		db.Model(&models.AuditLog{}).Where("entity = ? AND action = ?", "program", "confirm").Count(&audits)
		if audits != 1 {
			t.Fatalf("%d confirm audit rows", audits)
		}
		vals, _ := models.ComputeIndicators(ctx, db, []int64{h.school.ID}, "2026-11-23", "2026-11-27")
		checkValues(t, vals[h.school.ID], map[string]float64{"as.programs_confirmed_new_lesson": 1, "as.programs_unconfirmed": 0})

		staff := func(note, channel string) error {
			_, err := models.Enroll(ctx, db, models.EnrollInput{ProgramID: p.ID, StudentID: h.students[1].ID, RequestedBy: h.teacher.ID,
				Staff: true, Note: note, Channel: channel, Today: today})
			return err
		}
		wantRefusal(t, staff("x", policies.ChannelPaperForm), "guardian_request_required", policies.RuleAS04)
		wantRefusal(t, staff("xxxxxxxxxxxx", policies.ChannelPaperForm), "guardian_request_required", policies.RuleAS04)
		wantRefusal(t, staff("母亲11月20日递交书面申请表", ""), "request_channel_required", policies.RuleAS04)
		if err := staff("母亲11月20日递交书面申请表", policies.ChannelPaperForm); err != nil {
			t.Fatalf("a proper staff entry refused: %v", err)
		}
	})
}
