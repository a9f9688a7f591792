package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/policies"
)

// hwFixture is one school with n grade-8 classes, a subject and a teacher.
type hwFixture struct {
	rules   *models.HomeworkRules
	classes []models.Class
	subject models.Subject
	teacher models.User
}

func newHWFixture(tb testing.TB, db *gorm.DB, n int) *hwFixture {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(db.Create(&models.Region{Code: "210902", Name: "海州区", Level: "county"}).Error)
	sc := models.School{RegionCode: "210902", Name: "测试学校", Stage: models.StageJunior, Code: "2100000001", OffWorkTime: "17:30", TimeZone: "Asia/Shanghai"}
	must(db.Create(&sc).Error)
	must(db.Create(&models.Term{SchoolID: sc.ID, SchoolYear: "2026-2027", Semester: 1, Name: "t", StartDate: "2026-09-01", EndDate: "2027-01-22"}).Error)
	f := &hwFixture{subject: models.Subject{Code: "math", Name: "数学", NameEn: "Mathematics"}, teacher: models.User{Username: "t", DisplayName: "t", PasswordHash: "x", SchoolID: &sc.ID}}
	must(db.Create(&f.subject).Error)
	must(db.Create(&f.teacher).Error)
	for i := 1; i <= n; i++ {
		cl := models.Class{SchoolID: sc.ID, Grade: 8, Number: i, Name: fmt.Sprintf("8年级%d班", i)}
		must(db.Create(&cl).Error)
		f.classes = append(f.classes, cl)
	}
	var err error
	f.rules, err = models.LoadHomeworkRules(ctx, db, sc.ID)
	must(err)
	return f
}

func (f *hwFixture) input(date string, minutes int) models.HomeworkInput {
	return models.HomeworkInput{SubjectID: f.subject.ID, Date: date, Title: "练习", Minutes: minutes, Kind: policies.KindWritten, Layer: policies.LayerRequired}
}

// TestHomeworkStoreConcurrentSaves: 50 goroutines save at one class-day
// through the model; the cap holds and refusals leave no rows.
func TestHomeworkStoreConcurrentSaves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newHWFixture(t, db, 1)
		cl := f.classes[0]
		const n, minutes, date = 50, 11, "2026-11-26"
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, refused := 0, 0
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := models.CreateHomework(context.Background(), db, f.rules, &cl, f.teacher.ID, f.input(date, minutes))
				mu.Lock()
				defer mu.Unlock()
				var e *models.Error
				switch {
				case err == nil:
					created++
				case errors.As(err, &e) && e.Code == policies.CodeCapExceeded:
					refused++
				default:
					t.Errorf("save: %v", err)
				}
			}()
		}
		wg.Wait()
		var rows int64
		var sum int
		db.Model(&models.HomeworkItem{}).Where("class_id = ? AND date = ?", cl.ID, date).Count(&rows)
		db.Model(&models.HomeworkItem{}).Select("COALESCE(SUM(minutes), 0)").Where("class_id = ? AND date = ?", cl.ID, date).Scan(&sum)
		var load models.ClassDayLoad
		db.Where("class_id = ? AND date = ?", cl.ID, date).Take(&load)
		if created != 90/minutes || refused != n-created || int(rows) != created || sum != created*minutes ||
			load.TotalMinutes != sum || load.ItemCount != created || load.RefusedCount != refused {
			t.Fatalf("created %d refused %d rows %d sum %d load %+v", created, refused, rows, sum, load)
		}
	})
}

// TestHomeworkStoreCountedSnapshot: an item counts as it did when saved, so
// withdrawing it after the counting setting changed takes back what it added.
func TestHomeworkStoreCountedSnapshot(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newHWFixture(t, db, 1)
		cl := f.classes[0]
		in := f.input("2026-11-26", 30)
		in.Kind = policies.KindOral
		saved, err := models.CreateHomework(ctx, db, f.rules, &cl, f.teacher.ID, in)
		if err != nil || saved.Item.Counted || saved.DayTotal != 0 {
			t.Fatalf("oral: %v %+v", err, saved)
		}
		// Counting oral from now on (a stricter setting).
		if err := models.PutHomeworkLimits(ctx, db, cl.SchoolID, []string{policies.SchoolDomain(cl.SchoolID), "region:210902", "*"},
			policies.HomeworkLimits{Caps: policies.DefaultHomeworkLimits().Caps, Counting: policies.Counting{Kinds: []string{policies.KindWritten, policies.KindOral}}}); err != nil {
			t.Fatal(err)
		}
		rules, _ := models.LoadHomeworkRules(ctx, db, cl.SchoolID)
		in2 := in
		saved2, err := models.CreateHomework(ctx, db, rules, &cl, f.teacher.ID, in2)
		if err != nil || !saved2.Item.Counted || saved2.DayTotal != 30 {
			t.Fatalf("oral counted: %v %+v", err, saved2)
		}
		w, err := models.WithdrawHomework(ctx, db, &cl, saved.Item.ID)
		if err != nil || w.DayTotal != 30 {
			t.Fatalf("withdraw: %v %+v", err, w)
		}
	})
}

// BenchmarkHomeworkSave measures the save path (rules already loaded, as a
// handler has them): cap check on the locked class-day, insert, rollup,
// audit. Serial and parallel over 20 classes; SQLite, and PostgreSQL when
// TEST_DATABASE_URL is set.
func BenchmarkHomeworkSave(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.Open(b, d)
			f := newHWFixture(b, db, 20)
			base, _ := time.Parse(models.DateLayout, "2026-09-01")
			const perDay = 18 // 18 × 5 min = the 90-minute cap of grade 8
			save := func(b *testing.B, i int) {
				cl := f.classes[i%len(f.classes)]
				date := base.AddDate(0, 0, i/(len(f.classes)*perDay)).Format(models.DateLayout)
				if _, err := models.CreateHomework(context.Background(), db, f.rules, &cl, f.teacher.ID, f.input(date, 5)); err != nil {
					b.Fatal(err)
				}
			}
			// next numbers the saves across runs, so every run starts on fresh class-days.
			var next int64
			var mu sync.Mutex
			b.Run("serial", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					save(b, int(next))
					next++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						mu.Lock()
						i := next
						next++
						mu.Unlock()
						save(b, int(i))
					}
				})
			})
		})
	}
}
