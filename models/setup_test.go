package models_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/policies"
	"jianfu/views"
)

func setupSchool(tb testing.TB, db *gorm.DB) *models.School {
	tb.Helper()
	ctx := context.Background()
	if _, err := models.CreateRegion(ctx, db, models.NewRegion{Code: "210900", Name: "阜新市"}); err != nil {
		tb.Fatal(err)
	}
	if _, err := models.CreateRegion(ctx, db, models.NewRegion{Code: "210902", Name: "海州区", ParentCode: "210900"}); err != nil {
		tb.Fatal(err)
	}
	sc, err := models.CreateSchool(ctx, db, models.NewSchool{RegionCode: "210902", Name: "新学校", Stage: models.StagePrimary, Code: "2109020099", OffWorkTime: "17:30"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range []models.Subject{{Code: "chinese", Name: "语文", NameEn: "Chinese"}, {Code: "math", Name: "数学", NameEn: "Mathematics"}} {
		if err := db.Create(&s).Error; err != nil {
			tb.Fatal(err)
		}
	}
	return sc
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := models.AsError(err)
	if !ok || e.Field != field {
		t.Fatalf("want an error on field %q, got %v (%+v)", field, err, e)
	}
}

func count(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateRegion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		r, err := models.CreateRegion(ctx, db, models.NewRegion{Code: "210900", Name: "阜新市"})
		if err != nil || r.Level != models.LevelCity || r.ParentCode != nil {
			t.Fatalf("city: %+v %v", r, err)
		}
		r, err = models.CreateRegion(ctx, db, models.NewRegion{Code: "210911", Name: "细河区", ParentCode: "210900"})
		if err != nil || r.Level != models.LevelCounty || *r.ParentCode != "210900" {
			t.Fatalf("county: %+v %v", r, err)
		}
		_, err = models.CreateRegion(ctx, db, models.NewRegion{Code: "21091", Name: "x"})
		wantField(t, err, "code")
		_, err = models.CreateRegion(ctx, db, models.NewRegion{Code: "210912", Name: "x", ParentCode: "999999"})
		wantField(t, err, "parent_code")
		_, err = models.CreateRegion(ctx, db, models.NewRegion{Code: "210911", Name: "again"})
		wantField(t, err, "code")
		if n := count(t, db, "regions"); n != 2 {
			t.Fatalf("refusals wrote regions: %d", n)
		}
	})
}

func TestCreateTermWithNoSchoolDays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		sc := setupSchool(t, db)
		base := models.NewTerm{SchoolYear: "2026-2027", Semester: 1, Name: "第一学期", StartDate: "2026-09-01", EndDate: "2027-01-22",
			NoSchoolDays: models.ParseNoSchoolDays("2026-10-01 国庆节\n\n2026-10-02")}
		bad := base
		bad.NoSchoolDays = models.ParseNoSchoolDays("2026-10-01\n2027-02-01 寒假")
		_, err := models.CreateTerm(ctx, db, sc.ID, bad)
		wantField(t, err, "no_school_days")
		bad = base
		bad.EndDate = "2026-08-01"
		_, err = models.CreateTerm(ctx, db, sc.ID, bad)
		wantField(t, err, "end_date")
		bad = base
		bad.SchoolYear = "2026-2028"
		_, err = models.CreateTerm(ctx, db, sc.ID, bad)
		wantField(t, err, "school_year")
		if n := count(t, db, "terms"); n != 0 {
			t.Fatalf("refusals wrote %d terms", n)
		}
		term, err := models.CreateTerm(ctx, db, sc.ID, base)
		if err != nil {
			t.Fatal(err)
		}
		days, err := models.NoSchoolDaysOfTerm(ctx, db, sc.ID, term.ID)
		if err != nil || len(days) != 2 || days[0].Reason != "国庆节" {
			t.Fatalf("days: %+v %v", days, err)
		}
		if ok, _ := models.IsSchoolDay(ctx, db, sc.ID, "2026-10-01"); ok {
			t.Fatal("2026-10-01 should be a no-school day")
		}
		_, err = models.CreateTerm(ctx, db, sc.ID, models.NewTerm{SchoolYear: "2026-2027", Semester: 2, Name: "第二学期", StartDate: "2027-01-10", EndDate: "2027-07-01"})
		wantField(t, err, "start_date") // overlaps the first term
		_, err = models.CreateTerm(ctx, db, sc.ID, base)
		wantField(t, err, "semester") // exists
	})
}

func TestSchoolSetupByForm(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		sc := setupSchool(t, db)
		authz, err := models.NewAuthorizer(db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(authz.Close)
		if err := authz.SyncDefaultPolicy(); err != nil {
			t.Fatal(err)
		}
		acc, err := models.CreateStaff(ctx, db, sc.ID, models.NewStaff{Username: "wang.li", DisplayName: "王丽", Roles: []string{policies.RoleAcademic}})
		if err != nil {
			t.Fatal(err)
		}
		if len(acc.Password) < models.MinPasswordLength || !acc.User.MustChangePassword {
			t.Fatalf("one-time password: %+v", acc)
		}
		_, err = models.CreateStaff(ctx, db, sc.ID, models.NewStaff{Username: "wang.li", DisplayName: "x"})
		wantField(t, err, "username")
		_, err = models.CreateStaff(ctx, db, sc.ID, models.NewStaff{Username: "x.y", DisplayName: "x", Roles: []string{policies.RoleAdmin}})
		wantField(t, err, "roles")
		if n := count(t, db, "users"); n != 1 {
			t.Fatalf("refused staff left accounts: %d", n)
		}
		if err := authz.PolicyChanged(); err != nil {
			t.Fatal(err)
		}
		roles, _ := authz.E.GetRolesForUser(policies.UserSubject(acc.User.ID), policies.SchoolDomain(sc.ID))
		if len(roles) != 2 {
			t.Fatalf("roles after setup: %v", roles)
		}
		_, err = models.CreateClass(ctx, db, sc.ID, models.NewClass{Grade: 8, Number: 1, Name: "8年级1班"})
		wantField(t, err, "grade") // a primary school
		cl, err := models.CreateClass(ctx, db, sc.ID, models.NewClass{Grade: 4, Number: 1, Name: "4年级1班", HeadTeacherID: acc.User.ID})
		if err != nil {
			t.Fatal(err)
		}
		_, err = models.CreateClass(ctx, db, sc.ID, models.NewClass{Grade: 4, Number: 1, Name: "again"})
		wantField(t, err, "number")
		subj, err := models.SubjectByName(ctx, db, "数学")
		if err != nil {
			t.Fatal(err)
		}
		if err := models.AssignTeaching(ctx, db, sc.ID, acc.User.ID, cl.ID, subj.ID); err != nil {
			t.Fatal(err)
		}
		if ok, _ := models.TeachesClass(ctx, db, acc.User.ID, cl.ID); !ok {
			t.Fatal("assignment not recorded")
		}
		wantField(t, models.AssignTeaching(ctx, db, sc.ID, acc.User.ID, cl.ID+100, subj.ID), "class_id")
		st, err := models.CreateStudent(ctx, db, sc.ID, models.NewStudent{ClassID: cl.ID, Name: "李明", StudentNo: "20260001"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = models.CreateStudent(ctx, db, sc.ID, models.NewStudent{ClassID: cl.ID, Name: "李明二", StudentNo: "20260001"})
		wantField(t, err, "student_no")
		g, err := models.AddGuardian(ctx, db, sc.ID, models.NewGuardian{StudentID: st.ID, Username: "parent.li", DisplayName: "李明妈妈", Relation: "母亲"})
		if err != nil || g == nil || g.Password == "" {
			t.Fatalf("new guardian: %+v %v", g, err)
		}
		st2, err := models.CreateStudent(ctx, db, sc.ID, models.NewStudent{ClassID: cl.ID, Name: "李华", StudentNo: "20260002"})
		if err != nil {
			t.Fatal(err)
		}
		g, err = models.AddGuardian(ctx, db, sc.ID, models.NewGuardian{StudentID: st2.ID, Username: "parent.li", Relation: "母亲"})
		if err != nil || g != nil {
			t.Fatalf("an existing parent is linked, not created: %+v %v", g, err)
		}
		_, err = models.AddGuardian(ctx, db, sc.ID, models.NewGuardian{StudentID: st2.ID, Username: "wang.li", Relation: "x"})
		if err != nil {
			t.Fatalf("a staff member of the school may be a parent too: %v", err)
		}
		if kids, _ := models.ChildrenOf(ctx, db, g2id(t, db, "parent.li")); len(kids) != 2 {
			t.Fatalf("children: %+v", kids)
		}
		rows, err := models.StudentsOfSchool(ctx, db, sc.ID)
		if err != nil || len(rows) != 2 || rows[0].Class != "4-1" || len(rows[1].Guardians) != 2 {
			t.Fatalf("students: %+v %v", rows, err)
		}
		staff, err := models.StaffOfSchool(ctx, db, sc.ID)
		if err != nil || len(staff) != 1 || len(staff[0].Assignments) != 1 || staff[0].Assignments[0] != "数学 4-1" {
			t.Fatalf("staff: %+v %v", staff, err)
		}
	})
}

func g2id(t *testing.T, db *gorm.DB, username string) int64 {
	t.Helper()
	u, err := models.UserByUsername(context.Background(), db, username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// setupBook makes the template in zh-CN and fills sheet → rows.
func setupBook(t *testing.T, rows map[string][][]string) []byte {
	t.Helper()
	tr := views.NewTranslator("zh-CN")
	var buf bytes.Buffer
	if err := models.WriteSetupTemplate(&buf, tr.Text); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for key, rs := range rows {
		sheet := tr.T("setup.sheet." + key)
		for i, r := range rs {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			vals := make([]any, len(r))
			for j := range r {
				vals[j] = r[j]
			}
			if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out bytes.Buffer
	if err := f.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func goodSetupRows() map[string][][]string {
	return map[string][][]string{
		"teachers":       {{"zhang.wei", "张伟", ""}, {"li.na", "李娜", "教务主任"}},
		"classes":        {{"1", "1", "1年级1班", "zhang.wei"}, {"4", "2", "4年级2班", ""}},
		"assignments":    {{"zhang.wei", "1-1", "语文"}, {"li.na", "4-2", "数学"}},
		"terms":          {{"2026-2027", "1", "第一学期", "2026-09-01", "2027-01-22"}},
		"no_school_days": {{"2026-2027", "1", "2026-10-01", "国庆节"}, {"2026-2027", "1", "2026/10/2", ""}},
		"students":       {{"S001", "王小明", "1-1", "男"}, {"S002", "赵小红", "4-2", "女"}},
		"guardians":      {{"S001", "parent.wang", "王爸爸", "父亲"}, {"S002", "parent.zhao", "赵妈妈", "母亲"}},
	}
}

func TestImportSetupPreviewThenCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		sc := setupSchool(t, db)
		labels := []models.Label{views.NewTranslator("zh-CN").Text, views.NewTranslator("en").Text}
		book := setupBook(t, goodSetupRows())
		users := count(t, db, "users")
		res, err := models.ImportSetup(ctx, db, sc.ID, bytes.NewReader(book), labels, false)
		if err != nil {
			t.Fatalf("preview: %v %+v", err, res)
		}
		want := models.SetupCounts{"teachers": 2, "classes": 2, "assignments": 2, "terms": 1, "no_school_days": 2, "students": 2, "guardians": 2}
		if fmt.Sprint(res.Counts) != fmt.Sprint(want) || res.Committed {
			t.Fatalf("preview counts %v, want %v", res.Counts, want)
		}
		for _, table := range []string{"classes", "terms", "students", "guardians", "no_school_days"} {
			if n := count(t, db, table); n != 0 {
				t.Fatalf("the preview wrote %d %s", n, table)
			}
		}
		if n := count(t, db, "users"); n != users {
			t.Fatalf("the preview wrote users")
		}
		res, err = models.ImportSetup(ctx, db, sc.ID, bytes.NewReader(book), labels, true)
		if err != nil || !res.Committed || len(res.Accounts) != 4 {
			t.Fatalf("commit: %v %+v", err, res)
		}
		if fmt.Sprint(res.Counts) != fmt.Sprint(want) {
			t.Fatalf("commit counts %v", res.Counts)
		}
		cls, _ := models.ClassesOfSchool(ctx, db, sc.ID)
		if len(cls) != 2 || cls[0].HeadTeacherID == nil {
			t.Fatalf("classes: %+v", cls)
		}
		if ok, _ := models.IsSchoolDay(ctx, db, sc.ID, "2026-10-02"); ok {
			t.Fatal("2026/10/2 was not read as a no-school day")
		}
		// The same file again: everything exists now, so every row is a
		// problem and nothing more is written.
		_, err = models.ImportSetup(ctx, db, sc.ID, bytes.NewReader(book), labels, true)
		e, ok := models.AsError(err)
		if !ok || e.Kind != models.KindInvalid {
			t.Fatalf("second import: %v", err)
		}
		if n := count(t, db, "students"); n != 2 {
			t.Fatalf("students after the refused import: %d", n)
		}
	})
}

func TestImportSetupNamesEveryBadCell(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		sc := setupSchool(t, db)
		labels := []models.Label{views.NewTranslator("zh-CN").Text}
		rows := goodSetupRows()
		rows["teachers"] = append(rows["teachers"], []string{"Bad Name", "坏", ""})
		rows["classes"][1][0] = "8"                                                    // grade 8 at a primary school
		rows["students"] = append(rows["students"], []string{"S003", "孙小", "9-9", ""}) // no such class
		rows["no_school_days"][1][2] = "2027-03-01"                                    // outside the term
		rows["guardians"][1][1] = ""                                                   // required
		book := setupBook(t, rows)
		users := count(t, db, "users")
		res, err := models.ImportSetup(ctx, db, sc.ID, bytes.NewReader(book), labels, true)
		if err == nil || res.Committed {
			t.Fatal("a workbook with problems was committed")
		}
		got := map[string]bool{}
		for _, p := range res.Problems {
			got[fmt.Sprintf("%s!%s %s", p.Sheet, p.Cell, p.MsgID)] = true
		}
		for _, want := range []string{
			"家长!B3 setup.cell_required", // caught before anything is written
		} {
			if !got[want] {
				t.Fatalf("missing problem %q in %v", want, got)
			}
		}
		// Fix the required cell: the database checks then name the rest.
		rows["guardians"][1][1] = "parent.zhao"
		res, err = models.ImportSetup(ctx, db, sc.ID, bytes.NewReader(setupBook(t, rows)), labels, true)
		if err == nil || res.Committed {
			t.Fatal("a workbook with problems was committed")
		}
		got = map[string]bool{}
		for _, p := range res.Problems {
			got[fmt.Sprintf("%s!%s %s", p.Sheet, p.Cell, p.MsgID)] = true
			if p.Column == "" || p.Row < 2 {
				t.Fatalf("problem without a column or row: %+v", p)
			}
		}
		for _, want := range []string{
			"教师!A4 account.username_invalid",
			"班级!A3 setup.grade_not_taught",
			"学生!C4 setup.class_unknown",
			"停课日!C3 setup.day_outside_term",
		} {
			if !got[want] {
				t.Fatalf("missing problem %q in %v", want, got)
			}
		}
		if n := count(t, db, "users"); n != users {
			t.Fatalf("a refused import left %d accounts", n-users)
		}
		for _, table := range []string{"classes", "terms", "students", "guardians", "no_school_days", "teaching_assignments"} {
			if n := count(t, db, table); n != 0 {
				t.Fatalf("a refused import left %d %s", n, table)
			}
		}
		var rules int64
		db.Table("casbin_rule").Where("v2 = ?", policies.SchoolDomain(sc.ID)).Count(&rules)
		if rules != 0 {
			t.Fatalf("a refused import left %d grants", rules)
		}
	})
}

func TestImportSetupRejectsOtherFiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		sc := setupSchool(t, db)
		res, err := models.ImportSetup(context.Background(), db, sc.ID, bytes.NewReader([]byte("not a workbook")), []models.Label{views.NewTranslator("zh-CN").Text}, true)
		e, ok := models.AsError(err)
		if !ok || e.Kind != models.KindInvalid || len(res.Problems) != 1 || res.Problems[0].MsgID != "setup.file_unreadable" {
			t.Fatalf("%v %+v", err, res)
		}
		f := excelize.NewFile()
		var buf bytes.Buffer
		_ = f.Write(&buf)
		res, err = models.ImportSetup(context.Background(), db, sc.ID, &buf, []models.Label{views.NewTranslator("zh-CN").Text}, true)
		if err == nil || len(res.Problems) == 0 || !errors.Is(err, err) {
			t.Fatalf("an empty workbook: %v %+v", err, res)
		}
	})
}
