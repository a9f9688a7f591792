package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/policies"
	"jianfu/scheduler"
)

// schoolFET is a school's own after-school plan kept in FET: Monday to
// Friday, three 45-minute periods named "1st".."3rd" (not clock times),
// two teachers, years "4" and "5年级" with groups, a chess club split
// into two weekly parts (min 1 day apart, room R1 only), an art club for
// both years taught by both teachers, a not-available morning, and a
// constraint we do not honour.
const schoolFET = `<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Mode>Official</Mode>
<Institution_Name>测试学校</Institution_Name>
<Days_List><Number_of_Days>5</Number_of_Days>
<Day><Name>周一</Name></Day><Day><Name>周二</Name></Day><Day><Name>周三</Name></Day><Day><Name>周四</Name></Day><Day><Name>周五</Name></Day>
</Days_List>
<Hours_List><Number_of_Hours>3</Number_of_Hours>
<Hour><Name>1st</Name></Hour><Hour><Name>2nd</Name></Hour><Hour><Name>3rd</Name></Hour>
</Hours_List>
<Subjects_List><Subject><Name>国际象棋</Name></Subject><Subject><Name>美术</Name></Subject></Subjects_List>
<Teachers_List><Teacher><Name>王老师</Name></Teacher><Teacher><Name>li.t</Name></Teacher></Teachers_List>
<Students_List>
<Year><Name>4</Name><Number_of_Students>80</Number_of_Students>
  <Group><Name>4-1</Name><Number_of_Students>40</Number_of_Students></Group>
  <Group><Name>4-2</Name><Number_of_Students>40</Number_of_Students></Group>
</Year>
<Year><Name>5年级</Name><Number_of_Students>40</Number_of_Students></Year>
</Students_List>
<Activities_List>
<Activity><Teacher>王老师</Teacher><Subject>国际象棋</Subject><Students>4-1</Students><Duration>1</Duration><Total_Duration>2</Total_Duration><Id>1</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>王老师</Teacher><Subject>国际象棋</Subject><Students>4-1</Students><Duration>1</Duration><Total_Duration>2</Total_Duration><Id>2</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>王老师</Teacher><Teacher>li.t</Teacher><Subject>美术</Subject><Students>4</Students><Students>5年级</Students><Duration>2</Duration><Total_Duration>2</Total_Duration><Id>3</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
</Activities_List>
<Rooms_List><Room><Name>R1</Name><Capacity>40</Capacity></Room><Room><Name>R2</Name><Capacity>80</Capacity></Room></Rooms_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsoryTime>
<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>王老师</Teacher><Number_of_Not_Available_Times>3</Number_of_Not_Available_Times>
<Not_Available_Time><Day>周一</Day><Hour>1st</Hour></Not_Available_Time><Not_Available_Time><Day>周一</Day><Hour>2nd</Hour></Not_Available_Time><Not_Available_Time><Day>周一</Day><Hour>3rd</Hour></Not_Available_Time>
<Active>true</Active></ConstraintTeacherNotAvailableTimes>
<ConstraintMinDaysBetweenActivities><Weight_Percentage>100</Weight_Percentage><Number_of_Activities>2</Number_of_Activities><Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id><MinDays>1</MinDays><Active>true</Active></ConstraintMinDaysBetweenActivities>
<ConstraintTeacherMaxGapsPerDay><Weight_Percentage>100</Weight_Percentage><Teacher>王老师</Teacher><Max_Gaps>0</Max_Gaps><Active>true</Active></ConstraintTeacherMaxGapsPerDay>
</Time_Constraints_List>
<Space_Constraints_List>
<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsorySpace>
<ConstraintSubjectPreferredRoom><Weight_Percentage>100</Weight_Percentage><Subject>国际象棋</Subject><Room>R1</Room><Active>true</Active></ConstraintSubjectPreferredRoom>
<ConstraintActivityPreferredRoom><Weight_Percentage>100</Weight_Percentage><Activity_Id>3</Activity_Id><Room>R2</Room><Permanently_Locked>false</Permanently_Locked><Active>true</Active></ConstraintActivityPreferredRoom>
</Space_Constraints_List>
</fet>`

type fetSchool struct {
	school   models.School
	wang, li models.User
}

func newFETSchool(tb testing.TB, db *gorm.DB) *fetSchool {
	tb.Helper()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(db.Create(&models.Region{Code: "210902", Name: "海州区", Level: "county"}).Error)
	f := &fetSchool{school: models.School{RegionCode: "210902", Name: "测试学校", Stage: models.StagePrimary, Code: "2100000001", OffWorkTime: "17:30", TimeZone: "Asia/Shanghai"}}
	must(db.Create(&f.school).Error)
	must(db.Create(&models.Term{SchoolID: f.school.ID, SchoolYear: "2026-2027", Semester: 1, Name: "t", StartDate: "2026-09-01", EndDate: "2027-01-22"}).Error)
	subj := models.Subject{Code: "art", Name: "美术", NameEn: "Art"}
	must(db.Create(&subj).Error)
	cl := models.Class{SchoolID: f.school.ID, Grade: 4, Number: 1, Name: "4年级1班"}
	must(db.Create(&cl).Error)
	f.wang = models.User{Username: "wang.t", DisplayName: "王老师", PasswordHash: "x", SchoolID: &f.school.ID}
	f.li = models.User{Username: "li.t", DisplayName: "李老师", PasswordHash: "x", SchoolID: &f.school.ID}
	must(db.Create(&f.wang).Error)
	must(db.Create(&f.li).Error)
	for _, u := range []models.User{f.wang, f.li} {
		must(db.Create(&models.TeachingAssignment{SchoolID: f.school.ID, TeacherID: u.ID, ClassID: cl.ID, SubjectID: subj.ID}).Error)
	}
	return f
}

// TestImportFETIntoPrograms: a school's FET file becomes its programs,
// with slots placed under the file's constraints, teachers matched to the
// school's staff, grades from the year names, rooms from the solution;
// unsupported constraints are reported; an unknown teacher stops it all.
func TestImportFETIntoPrograms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		fs := newFETSchool(t, db)
		ctx := context.Background()
		file, err := scheduler.ReadFET(strings.NewReader(schoolFET))
		if err != nil {
			t.Fatal(err)
		}
		in := scheduler.FETImport{SchoolID: fs.school.ID, Today: "2026-11-02", File: file, Category: policies.CatArts, Capacity: 30, FirstStart: 15*60 + 30, PeriodMinutes: 45}
		rep, err := scheduler.ImportFET(ctx, db, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Programs) != 2 || rep.Slots != 3 || len(rep.Unplaced) != 0 {
			t.Fatalf("report %+v", rep)
		}
		if len(rep.Unsupported) != 1 || rep.Unsupported[0].Name != "ConstraintTeacherMaxGapsPerDay" || rep.Unsupported[0].Count != 1 {
			t.Errorf("unsupported %+v", rep.Unsupported)
		}
		var chess, art models.Program
		db.First(&chess, rep.Programs[0])
		db.First(&art, rep.Programs[1])
		if chess.Name != "国际象棋（4-1）" || chess.Grades != "4" || chess.Room != "R1" || art.Grades != "4,5" || art.Room != "R2" {
			t.Errorf("programs %+v / %+v", chess, art)
		}
		var slots []models.ProgramSlot
		db.Where("program_id = ?", chess.ID).Order("weekday").Find(&slots)
		if len(slots) != 2 || slots[0].Weekday == slots[1].Weekday || slots[0].Weekday == 1 {
			t.Errorf("chess slots %+v (two days, never Monday: 王老师 is away)", slots)
		}
		for _, s := range slots {
			if s.EndTime > "17:45" || s.StartTime < "15:30" {
				t.Errorf("slot %+v outside 15:30–17:45", s)
			}
		}
		var artSlots []models.ProgramSlot
		db.Where("program_id = ?", art.ID).Find(&artSlots)
		if len(artSlots) != 1 || artSlots[0].Weekday == 1 {
			t.Errorf("art slots %+v", artSlots)
		}
		// Art has both teachers; chess and art never overlap (王老师 teaches both).
		var ins []models.ProgramInstructor
		db.Where("program_id = ?", art.ID).Find(&ins)
		if len(ins) != 2 {
			t.Errorf("art instructors %+v", ins)
		}
		for _, s := range slots {
			a := artSlots[0]
			if s.Weekday == a.Weekday && s.StartTime < a.EndTime && a.StartTime < s.EndTime {
				t.Errorf("王老师 in two places: %+v and %+v", s, a)
			}
		}

		// A file naming a teacher the school does not have imports nothing.
		other, _ := scheduler.ReadFET(strings.NewReader(strings.ReplaceAll(schoolFET, "li.t", "赵老师")))
		in.File = other
		var before int64
		db.Model(&models.Program{}).Count(&before)
		_, err = scheduler.ImportFET(ctx, db, in)
		var e *models.Error
		if !errors.As(err, &e) || e.MsgID != "as.fet.unknown_teachers" || !strings.Contains(e.Params["Names"].(string), "赵老师") {
			t.Fatalf("err %v", err)
		}
		var after int64
		db.Model(&models.Program{}).Count(&after)
		if after != before {
			t.Errorf("programs %d → %d after a refused import", before, after)
		}
	})
}
