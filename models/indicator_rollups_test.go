package models_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/policies"
	"jianfu/seed"
)

const rollupToday = "2026-11-25" // a Wednesday in the demo term

func seedDistrict(t *testing.T, db *gorm.DB, schools, days int) *seed.District {
	t.Helper()
	az, err := models.NewAuthorizer(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	d, err := seed.Demo(context.Background(), db, az, seed.Options{Seed: 7, Today: rollupToday, Schools: schools, Days: days, StudentsPerClass: 2})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type rollupKey struct {
	School int64
	Period string
}

type rollupLine struct {
	From, To string
	Students int64
	Vals     map[string]float64
}

func readRollups(t *testing.T, db *gorm.DB) map[rollupKey]rollupLine {
	t.Helper()
	var rows []models.IndicatorRollup
	if err := db.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[rollupKey]rollupLine{}
	for _, r := range rows {
		v, err := r.Values()
		if err != nil {
			t.Fatal(err)
		}
		out[rollupKey{r.SchoolID, r.Period}] = rollupLine{r.FromDate, r.ToDate, r.Students, v}
	}
	return out
}

func diffRollups(a, b map[rollupKey]rollupLine) []string {
	var out []string
	for k, x := range a {
		y, ok := b[k]
		if !ok {
			out = append(out, fmt.Sprintf("%v: only in the first", k))
			continue
		}
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%v:\n  %+v\n  %+v", k, x, y))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%v: only in the second", k))
		}
	}
	return out
}

func dashboardJSON(t *testing.T, d *models.Dashboard) string {
	t.Helper()
	b, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertDashboardFromRows: the dashboard read from the rollup rows is the
// dashboard computed from the area rollups, number for number, and it came
// from the rows (no school computed live).
func assertDashboardFromRows(t *testing.T, db *gorm.DB, code string) {
	t.Helper()
	ctx := context.Background()
	fast, err := models.BuildDashboard(ctx, db, code, "", rollupToday)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := models.BuildDashboardRaw(ctx, db, code, "", rollupToday)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := dashboardJSON(t, fast), dashboardJSON(t, raw); a != b {
		t.Fatalf("dashboard from rows differs from the raw one:\nrows: %.3000s\nraw:  %.3000s", a, b)
	}
	ids := make([]int64, len(fast.Schools))
	for i, s := range fast.Schools {
		ids[i] = s.ID
	}
	_, missing, err := models.SchoolRollups(ctx, db, ids, fast.Term)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("schools %v have no rollup row for %+v: the dashboard computed them live", missing, fast.Term)
	}
	if len(fast.Schools) == 0 || len(fast.Rollup.Indicators) == 0 {
		t.Fatalf("empty dashboard: %d schools, rollup %v", len(fast.Schools), fast.Rollup.Indicators)
	}
}

// TestIndicatorRollupsMatchRawDashboard: on the demo district and on a
// 30-school seed, the seed's set-based rollups give the same dashboard as
// the live computation, for the city and a county.
func TestIndicatorRollupsMatchRawDashboard(t *testing.T) {
	for _, c := range []struct {
		name          string
		schools, days int
	}{{"demo", 0, 0}, {"30 schools", 30, 5}} {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
				seedDistrict(t, db, c.schools, c.days)
				assertDashboardFromRows(t, db, "210900")
				assertDashboardFromRows(t, db, "210902")
				var n int64
				db.Model(&models.IndicatorOutboxEntry{}).Count(&n)
				if n != 0 {
					t.Errorf("the seed left %d outbox entries", n)
				}
			})
		})
	}
}

// TestIndicatorRollupsIncrementalEqualsRebuild: a random history of writes
// through the models (homework saves, edits and withdrawals, feedback,
// enrollments and withdrawals, attendance, exams and their approval,
// complaints filed and closed, students added) followed by a drain of the
// outbox leaves the same rows as a rebuild from the area rollups; the rows
// did move, and the dashboard read from them equals the raw one.
func TestIndicatorRollupsIncrementalEqualsRebuild(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := models.WithActor(context.Background(), models.Actor{RequestID: "test"})
		d := seedDistrict(t, db, 0, 0)
		before := readRollups(t, db)
		if len(before) == 0 {
			t.Fatal("the seed built no rollup rows")
		}
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
		ok := randomHistory(t, ctx, db, d, r, 120)
		t.Logf("writes that succeeded: %v", ok)
		for _, kind := range []string{"homework", "edit", "withdraw", "feedback", "complaint"} {
			if ok[kind] == 0 {
				t.Errorf("no %s write succeeded: the history does not exercise it", kind)
			}
		}
		// Before the drain: the dirty schools are computed live.
		if a, b := dashboardJSON(t, mustDashboard(t, db, false)), dashboardJSON(t, mustDashboard(t, db, true)); a != b {
			t.Fatal("before the drain, the dashboard differs from the raw one")
		}
		if n, err := models.DrainIndicatorOutbox(ctx, db); err != nil || n == 0 {
			t.Fatalf("drain: %d schools, %v", n, err)
		}
		incremental := readRollups(t, db)
		if len(diffRollups(before, incremental)) == 0 {
			t.Fatal("the writes changed no rollup row")
		}
		assertDashboardFromRows(t, db, "210900")
		if _, err := models.RebuildIndicatorRollups(ctx, db, nil, "", "", rollupToday); err != nil {
			t.Fatal(err)
		}
		if diff := diffRollups(incremental, readRollups(t, db)); len(diff) > 0 {
			t.Fatalf("incremental rows differ from a rebuild (-incremental +rebuild):\n%v", diff)
		}
	})
}

// randomHistory makes n random writes at the demo schools; it returns how
// many of each kind succeeded (refusals are part of the history too).
func randomHistory(t *testing.T, ctx context.Context, db *gorm.DB, d *seed.District, r *rand.Rand, n int) map[string]int {
	t.Helper()
	ok := map[string]int{}
	type item struct {
		id int64
		cl models.Class
	}
	var items []item
	days := []string{"2026-11-19", "2026-11-20", "2026-11-23", "2026-11-24", "2026-11-25"}
	for i := 0; i < n; i++ {
		sc := d.Schools[r.IntN(len(d.Schools))]
		classes := d.Classes[sc.ID]
		cl := classes[r.IntN(len(classes))]
		day := days[r.IntN(len(days))]
		switch k := r.IntN(10); {
		case k < 3: // a homework save, sometimes over the cap
			var ta models.TeachingAssignment
			if err := db.Where("class_id = ?", cl.ID).Order("id").Offset(r.IntN(3)).First(&ta).Error; err != nil {
				continue
			}
			rules, err := models.LoadHomeworkRules(ctx, db, sc.ID)
			if err != nil {
				t.Fatal(err)
			}
			in := models.HomeworkInput{SubjectID: ta.SubjectID, Date: day, Title: "随机作业", Minutes: 5 * (1 + r.IntN(8)),
				Kind: policies.KindWritten, Layer: policies.LayerRequired, InSchool: cl.Grade <= 2}
			if s, err := models.CreateHomework(ctx, db, rules, &cl, ta.TeacherID, in); err == nil {
				ok["homework"]++
				items = append(items, item{s.Item.ID, cl})
			} else if _, isRule := models.AsError(err); !isRule {
				t.Fatalf("homework save: %v", err)
			}
		case k < 4 && len(items) > 0: // an edit
			it := items[r.IntN(len(items))]
			sc, _ := models.GetSchool(ctx, db, it.cl.SchoolID)
			rules, _ := models.LoadHomeworkRules(ctx, db, sc.ID)
			m := 5 // fewer minutes never go over a cap or budget
			if _, err := models.UpdateHomework(ctx, db, rules, &it.cl, it.id, models.HomeworkPatch{Minutes: &m}); err == nil {
				ok["edit"]++
			}
		case k < 5 && len(items) > 0: // a withdrawal
			it := items[r.IntN(len(items))]
			if _, err := models.WithdrawHomework(ctx, db, &it.cl, it.id); err == nil {
				ok["withdraw"]++
			}
		case k < 6: // a guardian's report
			var g models.Guardian
			if err := db.Joins("JOIN students ON students.id = guardians.student_id").Where("students.class_id = ?", cl.ID).First(&g).Error; err != nil {
				continue
			}
			var load models.ClassDayLoad
			if err := db.Where("class_id = ? AND date <= ? AND item_count > 0", cl.ID, rollupToday).Order("date DESC").First(&load).Error; err != nil {
				continue
			}
			if _, err := models.SaveFeedback(ctx, db, g.UserID, &cl, models.FeedbackInput{StudentID: g.StudentID, Date: load.Date,
				ActualMinutes: 10 + r.IntN(80), StoppedAtBedtime: r.IntN(3) == 0, Today: rollupToday}); err == nil {
				ok["feedback"]++
			}
		case k < 7: // an enrollment or a withdrawal from a program
			var p models.Program
			if err := db.Where("school_id = ?", sc.ID).Order("id").Offset(r.IntN(3)).First(&p).Error; err != nil {
				continue
			}
			var e models.Enrollment
			if r.IntN(2) == 0 && db.Where("program_id = ? AND status = ?", p.ID, models.EnrollEnrolled).First(&e).Error == nil {
				if _, _, err := models.Withdraw(ctx, db, e.ID); err == nil {
					ok["unenroll"]++
				}
				continue
			}
			var st models.Student
			if err := db.Where("school_id = ?", sc.ID).Order("id").Offset(r.IntN(20)).First(&st).Error; err != nil {
				continue
			}
			var g models.Guardian
			db.Where("student_id = ?", st.ID).First(&g)
			if _, err := models.Enroll(ctx, db, models.EnrollInput{ProgramID: p.ID, StudentID: st.ID, RequestedBy: g.UserID, Today: rollupToday}); err == nil {
				ok["enroll"]++
			}
		case k < 8: // attendance of a held session
			var s models.ProgramSession
			if err := db.Where("school_id = ? AND date <= ? AND status = ?", sc.ID, rollupToday, "scheduled").Order("date DESC").Offset(r.IntN(5)).First(&s).Error; err != nil {
				continue
			}
			var es []models.Enrollment
			db.Where("program_id = ? AND status = ?", s.ProgramID, models.EnrollEnrolled).Find(&es)
			var marks []models.Mark
			for _, e := range es {
				marks = append(marks, models.Mark{StudentID: e.StudentID, Status: []string{"present", "absent", "excused"}[r.IntN(3)]})
			}
			if len(marks) > 0 {
				if _, err := models.MarkAttendance(ctx, db, s.ID, marks, 0, rollupToday); err == nil {
					ok["attendance"]++
				}
			}
		case k < 9: // an exam, sometimes one the rules refuse
			kind := []string{"unit", "monthly", "quiz"}[r.IntN(3)]
			grade := cl.Grade
			if _, err := models.CreateExam(ctx, db, &sc, models.ExamInput{Grades: []int{grade}, Subject: "数学", Kind: kind, PaperBased: r.IntN(2) == 0,
				Date: "2026-12-1" + fmt.Sprint(r.IntN(8)+1), DurationMinutes: 40}, rollupToday); err == nil {
				ok["exam"]++
			}
		default: // a complaint filed, answered or closed; or a new student
			if r.IntN(4) == 0 {
				st := models.Student{SchoolID: sc.ID, ClassID: cl.ID, Name: "新生", StudentNo: fmt.Sprintf("n%d-%d", sc.ID, i), Gender: "女"}
				if err := db.Create(&st).Error; err != nil {
					t.Fatal(err)
				}
				ok["student"]++
				continue
			}
			var open models.Complaint
			now, _ := time.ParseInLocation("2006-01-02 15:04", rollupToday+" 09:00", time.FixedZone("CST", 8*3600))
			if r.IntN(2) == 0 && db.Where("school_id = ? AND closed_at IS NULL", sc.ID).First(&open).Error == nil {
				if _, err := models.CloseComplaint(ctx, db, open.ID, "已处理", now.Add(time.Duration(i)*time.Minute)); err == nil {
					ok["close"]++
				}
				continue
			}
			if c, err := models.FileComplaint(ctx, db, models.ComplaintInput{RegionCode: sc.RegionCode, SchoolName: sc.Name,
				Category: policies.ComplaintCategories[r.IntN(len(policies.ComplaintCategories))], Body: "作业太多，孩子写到很晚。", Anonymous: true},
				now.Add(-time.Duration(r.IntN(72))*time.Hour)); err == nil {
				ok["complaint"]++
				if c.SchoolID == nil { // the bureau assigns it to the school
					if _, err := models.AssignComplaint(ctx, db, c.ID, sc.ID, "请核实", now); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	return ok
}

func mustDashboard(t *testing.T, db *gorm.DB, raw bool) *models.Dashboard {
	t.Helper()
	build := models.BuildDashboard
	if raw {
		build = models.BuildDashboardRaw
	}
	d, err := build(context.Background(), db, "210900", "", rollupToday)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
