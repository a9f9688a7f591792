package models_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// threeSchools is a hand-made district of three stages: a primary school
// (grades 1–6, 300 students), a junior school (7–9, 200) and a nine-year
// school (1–9, 500), each with a term 2026-09-01..2027-01-22.
type threeSchools struct {
	ids      []int64 // primary, junior, nine-year
	students []float64
	terms    []int64
}

func newThreeSchools(tb testing.TB, db *gorm.DB) *threeSchools {
	tb.Helper()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(db.Create(&models.Region{Code: "210900", Name: "阜新市", Level: "city"}).Error)
	d := &threeSchools{students: []float64{300, 200, 500}}
	for i, st := range []string{models.StagePrimary, models.StageJunior, models.StageNineYear} {
		sc := models.School{RegionCode: "210900", Name: fmt.Sprintf("学校%d", i+1), Stage: st, Code: fmt.Sprintf("21000000%02d", i+1), OffWorkTime: "17:30", TimeZone: "Asia/Shanghai"}
		must(db.Create(&sc).Error)
		term := models.Term{SchoolID: sc.ID, SchoolYear: "2026-2027", Semester: 1, Name: "秋季", StartDate: "2026-09-01", EndDate: "2027-01-22"}
		must(db.Create(&term).Error)
		d.ids = append(d.ids, sc.ID)
		d.terms = append(d.terms, term.ID)
	}
	return d
}

// class makes a class of the school (the rollup rows need one).
func (d *threeSchools) class(tb testing.TB, db *gorm.DB, school, grade, number int) int64 {
	tb.Helper()
	cl := models.Class{SchoolID: d.ids[school], Grade: grade, Number: number, Name: fmt.Sprintf("%d-%d", grade, number)}
	if err := db.Create(&cl).Error; err != nil {
		tb.Fatal(err)
	}
	return cl.ID
}

func (d *threeSchools) rollup(tb testing.TB, db *gorm.DB, group, from, to string) map[string]float64 {
	tb.Helper()
	vals, err := models.ComputeIndicators(context.Background(), db, d.ids, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	var defs []models.IndicatorDef
	for _, def := range models.IndicatorDefs() {
		if def.Group == group {
			defs = append(defs, def)
		}
	}
	vs := make([]map[string]float64, len(d.ids))
	for i, id := range d.ids {
		vs[i] = vals[id]
	}
	return models.RollupValues(defs, vs, d.students)
}

func checkValues(t *testing.T, got, want map[string]float64, absent ...string) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing, want %v", k, w)
			continue
		}
		if math.Abs(g-w) > 0.00011 {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	for _, k := range absent {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %v, want absent", k, v)
		}
	}
}

// Finding 3: every homework indicator's regional value against a district
// computed by hand. On the old code a school without junior grades counted
// as 0 in hw.avg_minutes_g7_9 (59.0 instead of 82) and the class-day count
// was averaged by students (2.3 instead of 7).
func TestRollupHomeworkThreeSchools(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		d := newThreeSchools(t, db)
		p4, p1 := d.class(t, db, 0, 4, 1), d.class(t, db, 0, 1, 1)
		j8 := d.class(t, db, 1, 8, 1)
		n5, n9 := d.class(t, db, 2, 5, 1), d.class(t, db, 2, 9, 1)
		type row struct {
			school                           int
			class                            int64
			grade                            int
			date                             string
			total, takeHome, cap, budget     int
			items, refused                   int
			fb, actual, est, students, stops int
			written, longer                  int
		}
		rows := []row{
			// primary: 4-1 reported 130 min by 2 students (65 > 60: over); 4-1 unreported; 1-1 no limit (cap 0, no budget)
			{0, p4, 4, "2026-11-02", 40, 60, 60, 0, 2, 1, 2, 130, 120, 2, 1, 0, 1},
			{0, p4, 4, "2026-11-03", 60, 60, 60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
			{0, p1, 1, "2026-11-02", 0, 20, 0, 0, 1, 0, 1, 30, 20, 1, 0, 1, 1},
			// junior: 8-1 reported 80 (within 90), then 100 (over)
			{1, j8, 8, "2026-11-02", 90, 100, 90, 0, 3, 0, 4, 320, 400, 4, 0, 0, 0},
			{1, j8, 8, "2026-11-03", 70, 70, 90, 0, 2, 0, 2, 200, 140, 2, 0, 0, 2},
			// nine-year with an all-kinds budget: 5-1 reported 70 within the budget 80; 9-1 unreported
			{2, n5, 5, "2026-11-02", 56, 80, 60, 80, 3, 0, 1, 70, 80, 1, 0, 0, 0},
			{2, n9, 9, "2026-11-02", 86, 86, 90, 100, 2, 0, 0, 0, 0, 0, 0, 0, 0},
		}
		for _, r := range rows {
			l := models.ClassDayLoad{SchoolID: d.ids[r.school], ClassID: r.class, Grade: r.grade, Date: r.date, TotalMinutes: r.total,
				AllMinutes: r.takeHome, TakeHomeMinutes: r.takeHome, CapMinutes: r.cap, BudgetMinutes: r.budget, ItemCount: r.items,
				RefusedCount: r.refused, FeedbackCount: r.fb, FeedbackActualMinutes: r.actual, FeedbackEstimatedMinutes: r.est,
				FeedbackStudents: r.students, BedtimeStops: r.stops, ReportedWritten: r.written, ReportedLonger: r.longer, UpdatedAt: time.Now()}
			if err := db.Create(&l).Error; err != nil {
				t.Fatal(err)
			}
		}
		got := d.rollup(t, db, "homework", "2026-11-02", "2026-11-06")
		checkValues(t, got, map[string]float64{
			"hw.class_days":            7, // summed, not averaged
			"hw.reported_class_days":   4, // 4-1 day 1, 8-1 twice, 5-1
			"hw.unreported_class_days": 3,
			"hw.days_within_cap_pct":   0.5, // 2 of the 4 reported class-days within their limit
			"hw.class_days_g1_2":       1,
			"hw.class_days_g3_6":       3,
			"hw.class_days_g7_9":       3,
			"hw.avg_minutes_g3_6":      52, // (40+60+56)/3: the junior school is absent, not 0
			"hw.avg_minutes_g7_9":      82, // (90+70+86)/3: the primary school is absent, not 0
			"hw.avg_take_home_g1_2":    20,
			"hw.avg_take_home_g3_6":    66.6667, // (60+60+80)/3
			"hw.avg_take_home_g7_9":    85.3333, // (100+70+86)/3
			"hw.refused_saves":         1,
			"hw.feedback_count":        10,
			// schools' actual/estimated weighted by their reports: (160/140·3 + 520/540·6 + 70/80·1)/10
			"hw.feedback_gap_ratio":           1.0081,
			"hw.bedtime_stop_pct":             0.1, // 1 of 10 reports
			"hw.reported_written":             1,
			"hw.reported_written_pct":         0.1,
			"hw.reported_longer_pct":          0.4, // (1 + 1 + 2) of 10 reports
			"hw.max_class_reported_over_days": 1,
		})
		// The primary school alone has no junior band at all.
		vals, err := models.ComputeIndicators(context.Background(), db, d.ids[:1], "2026-11-02", "2026-11-06")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"hw.avg_minutes_g7_9", "hw.avg_take_home_g7_9", "hw.class_days_g7_9"} {
			if v, ok := vals[d.ids[0]][k]; ok {
				t.Errorf("primary school has %s = %v, want absent", k, v)
			}
		}
	})
}

// AS-03 coverage, demand and service days, and the other after-school
// values, against the same district by hand.
func TestRollupAfterSchoolThreeSchools(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		d := newThreeSchools(t, db)
		monFri, monThu := 1<<1|1<<2|1<<3|1<<4|1<<5, 1<<1|1<<2|1<<3|1<<4
		rollups := []models.ASTermRollup{
			{HasPlan: true, PlanCompliant: true, DaysPerWeek: 5, MinutesPerDay: 120, Programs: 10, StudentsTotal: 300, StudentsEnrolled: 150,
				TeachersTotal: 20, TeachersParticipating: 10, StudentsApplied: 160, StudentsPlaced: 150, GradesTotal: 6, GradesOffered: 6,
				ServiceWeekdays: monFri, ProgramsUnconfirmed: 1},
			{HasPlan: true, PlanCompliant: false, DaysPerWeek: 4, MinutesPerDay: 120, Programs: 3, StudentsTotal: 200, StudentsEnrolled: 40,
				TeachersTotal: 10, TeachersParticipating: 5, StudentsApplied: 40, StudentsPlaced: 40, GradesTotal: 3, GradesOffered: 2,
				ServiceWeekdays: monThu},
			{HasPlan: true, PlanCompliant: true, DaysPerWeek: 5, MinutesPerDay: 130, Programs: 20, StudentsTotal: 500, StudentsEnrolled: 450,
				TeachersTotal: 30, TeachersParticipating: 30, StudentsApplied: 450, StudentsPlaced: 450, GradesTotal: 9, GradesOffered: 9,
				ServiceWeekdays: monFri, ProgramsConfirmed: 1},
		}
		for i := range rollups {
			rollups[i].SchoolID, rollups[i].TermID, rollups[i].UpdatedAt = d.ids[i], d.terms[i], time.Now()
			if err := db.Create(&rollups[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		// The primary school: Thursday 5 November is a holiday, every session of Tuesday 10 November was cancelled.
		if err := db.Create(&models.NoSchoolDay{SchoolID: d.ids[0], TermID: d.terms[0], Date: "2026-11-05", Reason: "运动会"}).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&models.ASDailyRollup{SchoolID: d.ids[0], Date: "2026-11-10", SessionsCancelled: 2}).Error; err != nil {
			t.Fatal(err)
		}
		got := d.rollup(t, db, "afterschool", "2026-11-02", "2026-11-13")
		checkValues(t, got, map[string]float64{
			"as.school_days":                   29,     // 9 + 10 + 10
			"as.service_days_pct":              0.8966, // (8 + 8 + 10) / 29
			"as.grades_total":                  18,
			"as.grades_offered_pct":            0.9444, // (6 + 2 + 9) / 18
			"as.students_applied":              650,
			"as.demand_met_pct":                0.9846, // (150 + 40 + 450) / 650
			"as.unmet_demand":                  10,
			"as.participation_pct":             0.64, // 640 / 1000 students: shown, never alerted on
			"as.coverage_pct":                  0.8,  // the lowest school: the junior school serves 4 days of 5
			"as.days_per_week":                 4,    // min
			"as.minutes_per_day":               120,  // min
			"as.offers_service":                1,
			"as.plan_compliant":                0.6667, // 2 of 3 schools
			"as.teacher_participation_pct":     0.75,   // (0.5·300 + 0.5·200 + 1·500) / 1000
			"as.programs_unconfirmed":          1,
			"as.programs_confirmed_new_lesson": 1,
		})
	})
}

// Exams: counts summed, each rule's refusals under their own key, papers
// passing as a share of the papers checked (a school without papers absent).
func TestRollupExamsThreeSchools(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		d := newThreeSchools(t, db)
		stats := []models.ExamDayStat{
			{SchoolID: d.ids[0], Date: "2026-11-11", EventsTotal: 3, EventsPaper: 2, PapersChecked: 2, PapersPassing: 1},
			{SchoolID: d.ids[1], Date: "2026-11-11", EventsTotal: 4, EventsPaper: 4},
			{SchoolID: d.ids[2], Date: "2026-11-12", EventsTotal: 5, EventsPaper: 4, PapersChecked: 3, PapersPassing: 3, PapersBlocked: 1},
		}
		refusals := []models.ExamRefusal{
			{SchoolID: d.ids[0], Date: "2026-11-10", Rule: "EX-01", Attempts: 2},
			{SchoolID: d.ids[0], Date: "2026-11-10", Rule: "EX-04", Attempts: 1},
			{SchoolID: d.ids[1], Date: "2026-11-10", Rule: "EX-05", Attempts: 1},
		}
		if err := db.Create(&stats).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&refusals).Error; err != nil {
			t.Fatal(err)
		}
		got := d.rollup(t, db, "exams", "2026-11-01", "2026-11-30")
		checkValues(t, got, map[string]float64{
			"ex.events_total": 12, "ex.events_paper": 10, "ex.refused_attempts": 4,
			"ex.ex01_refusals": 2, "ex.ex04_refusals": 1, "ex.ex05_refusals": 1,
			"ex.papers_checked": 5, "ex.papers_passing_pct": 0.8, // (1 + 3) / 5
			"ex.blocked_papers": 1,
		})
	})
}

// Complaints: counts summed, the median hours averaged weighted by the
// complaints filed.
func TestRollupComplaintsThreeSchools(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		d := newThreeSchools(t, db)
		at := func(day, hour int) *time.Time {
			x := time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC)
			return &x
		}
		cs := []models.Complaint{
			{SchoolID: &d.ids[0], CreatedAt: *at(2, 0), FirstResponseAt: at(2, 2), ClosedAt: at(2, 10), DueDate: "2026-11-09", Status: "closed"},
			{SchoolID: &d.ids[0], CreatedAt: *at(3, 0), DueDate: "2026-11-10", Status: "assigned"},
			{SchoolID: &d.ids[2], CreatedAt: *at(4, 0), FirstResponseAt: at(4, 4), ClosedAt: at(4, 20), DueDate: "2026-11-11", Status: "closed"},
		}
		for i := range cs {
			cs[i].TrackingCode, cs[i].RegionCode, cs[i].Category, cs[i].Body = fmt.Sprintf("T%d", i), "210900", "other", "x"
			cs[i].UpdatedAt = cs[i].CreatedAt
			if err := db.Create(&cs[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		got := d.rollup(t, db, "complaints", "2026-11-01", "2026-11-20")
		checkValues(t, got, map[string]float64{
			"cp.filed": 3, "cp.open": 1, "cp.overdue": 1,
			// (2 h · 2 filed + 4 h · 1 filed) / 3; the primary school's median of one response is 2
			"cp.first_response_hours_median": 2.6667,
			"cp.close_hours_median":          13.3333, // (10·2 + 20·1) / 3
		})
	})
}

// Every indicator declares its aggregation in one place, and a mean or a
// share names a weight that is itself a summed count of the registry.
func TestEveryIndicatorDeclaresItsAggregation(t *testing.T) {
	defs := models.IndicatorDefs()
	byKey := map[string]models.IndicatorDef{}
	for _, d := range defs {
		if _, dup := byKey[d.Key]; dup {
			t.Errorf("%s defined twice", d.Key)
		}
		byKey[d.Key] = d
	}
	for _, d := range defs {
		if !slices.Contains([]string{models.AggSum, models.AggMean, models.AggShare, models.AggMin, models.AggMax}, d.Agg) {
			t.Errorf("%s declares aggregation %q", d.Key, d.Agg)
		}
		if d.WeightKey != "" {
			w, ok := byKey[d.WeightKey]
			if !ok || w.Agg != models.AggSum {
				t.Errorf("%s is weighted by %s, which is not a summed indicator", d.Key, d.WeightKey)
			}
		}
		if d.Agg == models.AggSum && d.Unit != "count" {
			t.Errorf("%s sums a %s", d.Key, d.Unit)
		}
	}
}

// README's bureau section lists every registered indicator.
func TestReadmeListsEveryIndicator(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skip("no README next to the module")
	}
	readme := string(raw)
	for _, d := range models.IndicatorDefs() {
		key := d.Key
		if strings.Contains(readme, "`"+key+"`") {
			continue
		}
		// A band family is written `hw.x_g1_2`, `_g3_6`, `_g7_9`.
		if i := strings.LastIndex(key, "_g"); i > 0 && strings.Contains(readme, "`"+key[:i]+"_g") && strings.Contains(readme, "`"+key[i:]+"`") {
			continue
		}
		t.Errorf("README does not list %s", key)
	}
}
