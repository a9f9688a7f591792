package seed

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/policies"
)

func init() { RegisterArea(seedExams) }

// A legal autumn-term exam calendar per school: grade 7–9 midterms in 语文,
// 数学 and 英语 (published), finals for grades 3–9 (published; primary 英语 only
// approved; the grade-9 英语 final submitted with a paper EX-09 blocks), no
// mocks (EX-05: only in the final review of the second semester), a 乐考 for
// grades 1–2, and a few refused attempts. At the demo school, papers with
// items and the results of the grade-8 数学 midterm.
func seedExams(ctx context.Context, db *gorm.DB, d *District) error {
	type plan struct {
		grades  []int
		subject string
		kind    string
		date    string
		start   string
		minutes int
		status  string
	}
	for _, sc := range d.Schools {
		term := d.Term[sc.ID]
		var plans []plan
		for _, g := range sc.Grades() {
			switch {
			case g <= 2:
				continue
			case g <= 6:
				plans = append(plans, plan{[]int{g}, "语文", policies.ExamFinal, "2027-01-12", "08:30", 90, models.ExamPublished},
					plan{[]int{g}, "数学", policies.ExamFinal, "2027-01-12", "10:30", 90, models.ExamPublished},
					plan{[]int{g}, "英语", policies.ExamFinal, "2027-01-13", "08:30", 60, models.ExamApproved})
			default:
				plans = append(plans, plan{[]int{g}, "语文", policies.ExamMidterm, "2026-11-11", "08:00", 120, models.ExamPublished},
					plan{[]int{g}, "数学", policies.ExamMidterm, "2026-11-11", "14:00", 120, models.ExamPublished},
					plan{[]int{g}, "英语", policies.ExamMidterm, "2026-11-12", "08:00", 100, models.ExamPublished},
					plan{[]int{g}, "语文", policies.ExamFinal, "2027-01-12", "08:00", 120, models.ExamPublished},
					plan{[]int{g}, "数学", policies.ExamFinal, "2027-01-12", "14:00", 120, models.ExamPublished},
					plan{[]int{g}, "英语", policies.ExamFinal, "2027-01-13", "08:00", 100, finalStatus(g)})
			}
		}

		if sc.Stage != models.StageJunior {
			plans = append(plans, plan{[]int{1, 2}, "语文", policies.ExamNonPaper, "2027-01-14", "09:00", 60, models.ExamPublished})
		}
		// Build the rows, checking each against the ones before it.
		var rows []models.ExamEvent
		var checked []policies.ExamPlan
		rules := policies.DefaultExamRules()
		now := time.Now().UTC()
		for _, p := range plans {
			pp := policies.ExamPlan{ID: int64(len(checked) + 1), Grades: p.grades, Subject: p.subject, Kind: p.kind,
				PaperBased: p.kind != policies.ExamNonPaper, Date: p.date, DurationMinutes: p.minutes, Organiser: policies.OrganiserSchool}
			if vs := policies.CheckExam(pp, policies.ExamCalendar{TermStart: term.StartDate, TermEnd: term.EndDate, Semester: term.Semester, Others: checked}, rules); len(vs) > 0 {
				return fmt.Errorf("demo exam %v %s %s breaks %s", p.grades, p.subject, p.kind, vs[0].Rule)
			}
			checked = append(checked, pp)
			grades := make([]string, len(p.grades))
			for i, g := range p.grades {
				grades[i] = fmt.Sprint(g)
			}
			rows = append(rows, models.ExamEvent{SchoolID: sc.ID, TermID: term.ID, SubjectID: d.Subjects[p.subject].ID,
				Grades: strings.Join(grades, ","), Kind: p.kind, PaperBased: pp.PaperBased, Date: p.date, StartTime: p.start,
				DurationMinutes: p.minutes, Organiser: policies.OrganiserSchool, Status: models.ExamDraft, CreatedAt: now, UpdatedAt: now})
		}
		if err := db.WithContext(ctx).CreateInBatches(&rows, 200).Error; err != nil {
			return err
		}
		if sc.Name == "阜新市海州区实验学校" {
			if err := seedPapers(ctx, db, d, &sc, rows); err != nil {
				return err
			}
		}
		for i, r := range rows {
			if err := db.WithContext(ctx).Model(&models.ExamEvent{}).Where("id = ?", r.ID).Update("status", plans[i].status).Error; err != nil {
				return err
			}
		}
		if sc.Name == "阜新市海州区实验学校" {
			if err := seedResults(ctx, db, d, &sc, rows); err != nil {
				return err
			}
		}
		if err := seedRefusals(ctx, db, d, sc); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.Date] {
				seen[r.Date] = true
				if err := models.RefreshExamDayStats(ctx, db, sc.ID, r.Date); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// finalStatus: the grade-9 英语 final waits for approval with a paper that
// EX-09 blocks; the other finals are published.
func finalStatus(grade int) string {
	if grade == 9 {
		return models.ExamSubmitted
	}
	return models.ExamPublished
}

func findExam(rows []models.ExamEvent, d *District, grades, subject, kind string) *models.ExamEvent {
	for i := range rows {
		if rows[i].Grades == grades && rows[i].SubjectID == d.Subjects[subject].ID && rows[i].Kind == kind {
			return &rows[i]
		}
	}
	return nil
}

// demoPaper is a 100-point paper: n items per band with points, cognitive types in turn.
func demoPaper(easy, medium, hard int, outOfStandard bool) []models.PaperItemInput {
	var out []models.PaperItemInput
	cogs := []string{policies.CogUnderstanding, policies.CogApplication, policies.CogRecall, policies.CogInquiry, policies.CogApplication}
	add := func(n int, band string, pts float64) {
		for i := 0; i < n; i++ {
			out = append(out, models.PaperItemInput{Points: pts, Difficulty: band, Cognitive: cogs[len(out)%len(cogs)],
				RealLife: len(out)%3 == 0, WithinStandard: true})
		}
	}
	add(easy, policies.BandEasy, 7)
	add(medium, policies.BandMedium, 10)
	add(hard, policies.BandHard, 10)
	if outOfStandard {
		out[len(out)-1].WithinStandard = false
	}
	return out
}

func seedPapers(ctx context.Context, db *gorm.DB, d *District, sc *models.School, rows []models.ExamEvent) error {
	papers := []struct {
		grades, subject, kind string
		items                 []models.PaperItemInput
	}{
		{"8", "数学", policies.ExamMidterm, demoPaper(10, 2, 1, false)}, // 70:20:10
		{"8", "语文", policies.ExamMidterm, demoPaper(5, 3, 2, false)},  // 35:30:20 of 85: flagged
		{"9", "数学", policies.ExamMidterm, demoPaper(10, 2, 1, false)}, // passing
		{"9", "英语", policies.ExamFinal, demoPaper(10, 2, 1, true)},    // blocked (EX-09), submitted
		{"8", "数学", policies.ExamFinal, demoPaper(10, 2, 1, false)},   // passing
	}
	for _, p := range papers {
		e := findExam(rows, d, p.grades, p.subject, p.kind)
		if e == nil {
			continue
		}
		if _, err := models.SavePaper(ctx, db, sc, e.ID, p.items); err != nil {
			return err
		}
	}
	return nil
}

// seedResults imports item scores of the grade-8 数学 midterm: each student
// has an ability, each item a difficulty; scores are deterministic.
func seedResults(ctx context.Context, db *gorm.DB, d *District, sc *models.School, rows []models.ExamEvent) error {
	e := findExam(rows, d, "8", "数学", policies.ExamMidterm)
	if e == nil {
		return nil
	}
	var items []models.ExamItem
	if err := db.WithContext(ctx).Where("exam_id = ?", e.ID).Order("number").Find(&items).Error; err != nil {
		return err
	}
	var students []models.Student
	for _, cl := range d.Classes[sc.ID] {
		if cl.Grade == 8 {
			st, err := models.StudentsOfClass(ctx, db, sc.ID, cl.ID)
			if err != nil {
				return err
			}
			students = append(students, st...)
		}
	}
	bandP := policies.DefaultPaperRules().BandP
	var out []models.ResultRow
	for _, st := range students {
		ability := d.Rand.Float64()*0.5 - 0.25
		row := models.ResultRow{StudentNo: st.StudentNo}
		for _, it := range items {
			p := math.Max(0, math.Min(1, bandP[it.Difficulty]+ability+(d.Rand.Float64()-0.5)*0.3))
			row.Scores = append(row.Scores, math.Round(p*it.Points))
		}
		out = append(out, row)
	}
	if len(out) == 0 {
		return nil
	}
	_, err := models.ImportResults(ctx, db, sc, e.ID, out)
	return err
}

// seedRefusals records the attempts the legality check refused, as if an
// academic director had tried them this week: in every fourth school (not
// the first, whose counts the tests read) a grade-2 paper test (EX-01) and
// a grade-8 weekly test (EX-04); in every fifth an autumn grade-9 mock
// (EX-05, not yet the final review).
func seedRefusals(ctx context.Context, db *gorm.DB, d *District, sc models.School) error {
	idx := 0
	for i, s := range d.Schools {
		if s.ID == sc.ID {
			idx = i
		}
	}
	day := d.Opts.Today
	var vs []policies.Violation
	if idx%4 == 1 && sc.Stage != models.StageJunior {
		vs = append(vs, policies.Violation{Rule: policies.RuleEX01})
	}
	if idx%4 == 1 && sc.Stage != models.StagePrimary {
		if err := models.RecordRefusals(ctx, db, sc.ID, day, []policies.Violation{{Rule: policies.RuleEX04}}); err != nil {
			return err
		}
	}
	if idx%5 == 2 && sc.Stage != models.StagePrimary {
		if err := models.RecordRefusals(ctx, db, sc.ID, day, []policies.Violation{{Rule: policies.RuleEX05}}); err != nil {
			return err
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return models.RecordRefusals(ctx, db, sc.ID, day, vs)
}
