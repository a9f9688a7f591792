package models_test

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/policies"
)

// asFixture: a primary school with a term, a teacher of 4-1 and 5-1, and
// three students in 4-1 and one in 5-1.
type asFixture struct {
	school   *models.School
	teacher  int64
	students []models.Student
}

func newASFixture(t *testing.T, db *gorm.DB) *asFixture {
	t.Helper()
	ctx := context.Background()
	sc := setupSchool(t, db)
	if _, err := models.CreateTerm(ctx, db, sc.ID, models.NewTerm{SchoolYear: "2026-2027", Semester: 1, Name: "第一学期", StartDate: "2026-09-01", EndDate: "2027-01-22"}); err != nil {
		t.Fatal(err)
	}
	acc, err := models.CreateStaff(ctx, db, sc.ID, models.NewStaff{Username: "t.one", DisplayName: "老师"})
	if err != nil {
		t.Fatal(err)
	}
	f := &asFixture{school: sc, teacher: acc.User.ID}
	subj, _ := models.SubjectByName(ctx, db, "数学")
	for _, g := range []int{4, 5} {
		cl, err := models.CreateClass(ctx, db, sc.ID, models.NewClass{Grade: g, Number: 1, Name: fmt.Sprintf("%d年级1班", g)})
		if err != nil {
			t.Fatal(err)
		}
		if err := models.AssignTeaching(ctx, db, sc.ID, acc.User.ID, cl.ID, subj.ID); err != nil {
			t.Fatal(err)
		}
		n := 3
		if g == 5 {
			n = 1
		}
		for i := 0; i < n; i++ {
			st, err := models.CreateStudent(ctx, db, sc.ID, models.NewStudent{ClassID: cl.ID, Name: fmt.Sprintf("学生%d%d", g, i), StudentNo: fmt.Sprintf("S%d%d", g, i)})
			if err != nil {
				t.Fatal(err)
			}
			f.students = append(f.students, *st)
		}
	}
	return f
}

func (f *asFixture) program(t *testing.T, db *gorm.DB, mode string, capacity int) *models.Program {
	t.Helper()
	in := models.ProgramInput{SchoolID: f.school.ID, Today: "2026-09-10", Name: "篮球", Category: "sports", Grades: []int{4, 5}, Capacity: capacity,
		Slots: []policies.Slot{{Weekday: 2, Start: "16:00", End: "17:30"}}, TeacherIDs: []int64{f.teacher}, Mode: mode}
	if mode == models.ModeLottery {
		in.ApplyUntil = "2026-09-15"
	}
	p, err := models.CreateProgram(context.Background(), db, in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUpdateProgramCapacityGradesFee(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newASFixture(t, db)
		p := f.program(t, db, models.ModeFirstCome, 2)
		var es []*models.Enrollment
		for _, st := range f.students[:3] {
			e, err := models.Enroll(ctx, db, models.EnrollInput{ProgramID: p.ID, StudentID: st.ID, Staff: true, Note: "家长于11月20日书面申请报名", Channel: "paper_form", Today: "2026-09-10"})
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, e)
		}
		if es[2].Status != models.EnrollWaitlisted {
			t.Fatalf("third student: %s", es[2].Status)
		}
		upd := models.ProgramUpdate{Name: "篮球", Room: "体育馆", Capacity: 1, Grades: []int{4, 5}, FeeFen: 5000}
		_, err := models.UpdateProgram(ctx, db, f.school.ID, p.ID, upd)
		wantField(t, err, "capacity")
		upd.Capacity, upd.Grades = 3, []int{5}
		_, err = models.UpdateProgram(ctx, db, f.school.ID, p.ID, upd)
		wantField(t, err, "grades") // grade 4 students hold places
		upd.Grades = []int{4, 5, 8}
		_, err = models.UpdateProgram(ctx, db, f.school.ID, p.ID, upd)
		wantField(t, err, "grades") // no grade 8 at a primary school
		_, err = models.UpdateProgram(ctx, db, f.school.ID+99, p.ID, models.ProgramUpdate{Name: "x", Capacity: 3, Grades: []int{4}})
		if e, ok := models.AsError(err); !ok || e.Kind != models.KindNotFound {
			t.Fatalf("another school's program: %v", err)
		}
		upd.Grades = []int{4, 5}
		got, err := models.UpdateProgram(ctx, db, f.school.ID, p.ID, upd)
		if err != nil {
			t.Fatal(err)
		}
		if got.EnrolledCount != 3 || got.WaitlistCount != 0 || got.Room != "体育馆" || got.FeeFen != 5000 {
			t.Fatalf("after growing capacity: %+v", got)
		}
		e, _ := models.GetEnrollment(ctx, db, es[2].ID)
		if e.Status != models.EnrollEnrolled {
			t.Fatalf("the waitlisted student was not promoted: %s", e.Status)
		}
		w, err := models.SetFeeWaiver(ctx, db, f.school.ID, e.ID, true)
		if err != nil || !w.FeeWaived {
			t.Fatalf("waiver: %+v %v", w, err)
		}
		if _, err := models.SetFeeWaiver(ctx, db, f.school.ID+99, e.ID, true); err == nil {
			t.Fatal("another school waived a fee")
		}
		if _, err := models.SetApplicationWindow(ctx, db, f.school.ID, p.ID, "2026-09-20", "2026-09-10"); err == nil {
			t.Fatal("a first-come program got an application window")
		}
	})
}

func TestApplicationWindow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newASFixture(t, db)
		p := f.program(t, db, models.ModeLottery, 2)
		_, err := models.SetApplicationWindow(ctx, db, f.school.ID, p.ID, "2026-09-01", "2026-09-10")
		wantField(t, err, "apply_until")
		got, err := models.SetApplicationWindow(ctx, db, f.school.ID, p.ID, "", "2026-09-10")
		if err != nil || got.ApplyUntil != "2026-09-09" {
			t.Fatalf("close: %+v %v", got, err)
		}
		if _, err := models.Enroll(ctx, db, models.EnrollInput{ProgramID: p.ID, StudentID: f.students[0].ID, Staff: true, Note: "家长于11月20日书面申请报名", Channel: "paper_form", Today: "2026-09-10"}); err == nil {
			t.Fatal("applied after the window closed")
		}
		if _, err := models.SetApplicationWindow(ctx, db, f.school.ID, p.ID, "2026-09-12", "2026-09-10"); err != nil {
			t.Fatal(err)
		}
		if _, err := models.Enroll(ctx, db, models.EnrollInput{ProgramID: p.ID, StudentID: f.students[0].ID, Staff: true, Note: "家长于11月20日书面申请报名", Channel: "paper_form", Today: "2026-09-10"}); err != nil {
			t.Fatalf("apply in the reopened window: %v", err)
		}
		if _, err := models.RunLottery(ctx, db, f.school.ID, p.TermID, 42); err != nil {
			t.Fatal(err)
		}
		if _, err := models.SetApplicationWindow(ctx, db, f.school.ID, p.ID, "2026-09-20", "2026-09-10"); err == nil {
			t.Fatal("the window changed after the draw")
		}
	})
}
