package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// TestSchoolYearPartitions (PostgreSQL): homework_items and class_day_loads
// are partitioned by school year; a query over a term reads that year's
// partition only; the job's call creates next year's partition and moves
// rows that were waiting in the default partition; the guarantees hold
// (one class-day row per class and date, a feedback's item must exist).
func TestSchoolYearPartitions(t *testing.T) {
	if got, _ := models.SchoolYearOf("2027-07-10"); got != 2026 {
		t.Fatalf("SchoolYearOf(2027-07-10) = %d", got)
	}
	if got, _ := models.SchoolYearOf("2026-08-01"); got != 2026 {
		t.Fatalf("SchoolYearOf(2026-08-01) = %d", got)
	}
	if _, err := models.SchoolYearOf("2026-13-01"); err == nil {
		t.Fatal("a bad date has a school year")
	}
	if dbtest.Dialects()[len(dbtest.Dialects())-1] != models.Postgres {
		t.Skip("partitions are PostgreSQL's; run with TEST_DATABASE_URL")
	}
	db := dbtest.Open(t, models.Postgres)
	ctx := context.Background()
	f := newHWFixture(t, db, 1)
	for _, tbl := range models.PartitionedTables {
		var n int64
		db.Raw("SELECT COUNT(*) FROM pg_partitioned_table WHERE partrelid = to_regclass(?)", tbl).Scan(&n)
		if n != 1 {
			t.Fatalf("%s is not partitioned", tbl)
		}
	}
	// A save lands in its school year's partition.
	saved, err := models.CreateHomework(ctx, db, f.rules, &f.classes[0], f.teacher.ID, f.input("2026-11-25", 30))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	db.Raw("SELECT COUNT(*) FROM "+models.PartitionName("homework_items", 2026)+" WHERE id = ?", saved.Item.ID).Scan(&n)
	if n != 1 {
		t.Fatal("the item is not in the 2026-2027 partition")
	}
	var plan []string
	db.Raw("EXPLAIN SELECT SUM(total_minutes) FROM class_day_loads WHERE school_id = ? AND date BETWEEN '2026-09-01' AND '2026-11-25'", f.classes[0].SchoolID).Scan(&plan)
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, models.PartitionName("class_day_loads", 2026)) || strings.Contains(text, "class_day_loads_other") ||
		strings.Contains(text, models.PartitionName("class_day_loads", 2027)) {
		t.Fatalf("a term's query reads other years:\n%s", text)
	}
	// The guarantees.
	dup := models.ClassDayLoad{SchoolID: f.classes[0].SchoolID, ClassID: f.classes[0].ID, Grade: 8, Date: "2026-11-25", UpdatedAt: time.Now()}
	if err := db.Create(&dup).Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Fatalf("a second class-day row for one class and date: %v", err)
	}
	st := models.Student{SchoolID: dup.SchoolID, ClassID: dup.ClassID, Name: "学生", StudentNo: "p1"}
	if err := db.Create(&st).Error; err != nil {
		t.Fatal(err)
	}
	ghost := int64(987654321)
	fb := models.HomeworkFeedback{SchoolID: dup.SchoolID, ClassID: dup.ClassID, StudentID: st.ID, GuardianID: f.teacher.ID, Date: "2026-11-25"}
	fb.ItemID = &ghost
	if err := db.Create(&fb).Error; !errors.Is(err, gorm.ErrForeignKeyViolated) {
		t.Fatalf("a feedback on a missing item: %v", err)
	}
	fb.ID, fb.ItemID = 0, &saved.Item.ID
	if err := db.Create(&fb).Error; err != nil {
		t.Fatalf("a feedback on the saved item: %v", err)
	}
	// A row far ahead waits in the default partition until its year exists.
	far := models.ClassDayLoad{SchoolID: dup.SchoolID, ClassID: dup.ClassID, Grade: 8, Date: "2031-09-10", UpdatedAt: time.Now()}
	if err := db.Create(&far).Error; err != nil {
		t.Fatal(err)
	}
	db.Raw("SELECT COUNT(*) FROM class_day_loads_other").Scan(&n)
	if n != 1 {
		t.Fatalf("default partition holds %d rows, want 1", n)
	}
	made, err := models.EnsureSchoolYearPartitions(ctx, db, "2031-06-01")
	if err != nil {
		t.Fatal(err)
	}
	want := models.PartitionName("class_day_loads", 2031)
	found := false
	for _, m := range made {
		found = found || m == want
	}
	if !found {
		t.Fatalf("created %v, want %s among them", made, want)
	}
	db.Raw("SELECT COUNT(*) FROM "+want+" WHERE id = ?", far.ID).Scan(&n)
	var left int64
	db.Raw("SELECT COUNT(*) FROM class_day_loads_other").Scan(&left)
	if n != 1 || left != 0 {
		t.Fatalf("after the job: %d rows in %s, %d left in default", n, want, left)
	}
	if again, err := models.EnsureSchoolYearPartitions(ctx, db, "2031-06-01"); err != nil || len(again) != 0 {
		t.Fatalf("second run: %v, %v", again, err)
	}
}
