package models

import (
	"context"
	"encoding/json"

	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

// SchoolReport is a school's periodic report to the bureau (MON-01): a
// snapshot of the school's indicators over the period, the principal's
// narrative and the bureau's review. Once submitted the snapshot never
// changes.
type SchoolReport struct {
	ID            int64      `gorm:"primaryKey" json:"id"`
	SchoolID      int64      `json:"school_id"`
	Cycle         string     `json:"cycle"`
	PeriodKey     string     `json:"period_key"`
	PeriodFrom    string     `json:"period_from"`
	PeriodTo      string     `json:"period_to"`
	DueDate       string     `json:"due_date"`
	Status        string     `json:"status"`
	SnapshotJSON  string     `json:"-"`
	SnapshotAt    *time.Time `json:"snapshot_at"`
	Narrative     string     `json:"narrative"`
	SubmittedAt   *time.Time `json:"submitted_at"`
	SubmittedBy   *int64     `json:"submitted_by"`
	ReviewedAt    *time.Time `json:"reviewed_at"`
	ReviewedBy    *int64     `json:"reviewed_by"`
	ReviewComment string     `json:"review_comment"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ReportSnapshot is the frozen figures of a report.
type ReportSnapshot struct {
	From       string             `json:"from"`
	To         string             `json:"to"`
	Indicators map[string]float64 `json:"indicators"`
}

// Snapshot decodes the report's figures.
func (r SchoolReport) Snapshot() ReportSnapshot {
	var s ReportSnapshot
	_ = json.Unmarshal([]byte(r.SnapshotJSON), &s)
	if s.Indicators == nil {
		s.Indicators = map[string]float64{}
	}
	return s
}

// Overdue reports whether the report is late as of today.
func (r SchoolReport) Overdue(today string) bool {
	return policies.ReportOverdue(r.Status, r.DueDate, today)
}

func init() {
	All = append(All, &SchoolReport{}, &Alert{}, &Complaint{}, &JobRun{}, &Reminder{}, &IndicatorSnapshot{})
}

// ReportCyclesAt is the cycles schools under scopes report on: the national
// semi-monthly cycle always (MON-01), plus those the region switched on.
func ReportCyclesAt(ctx context.Context, db *gorm.DB, scopes []string) ([]string, error) {
	var extra []string
	if _, err := LookupSetting(ctx, db, scopes, SettingReportCycles, &extra); err != nil {
		return nil, err
	}
	out := []string{policies.CycleSemiMonthly}
	for _, c := range extra {
		if c != policies.CycleSemiMonthly && policies.ValidCycle(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// EnsureReportDrafts makes sure every school has a report for the current
// period of each of its cycles as of today, and refreshes the snapshot of
// reports still in draft. It is idempotent (one report per school, cycle and
// period). It returns how many reports it created.
func EnsureReportDrafts(ctx context.Context, db *gorm.DB, today string) (int, error) {
	day, err := time.Parse(DateLayout, today)
	if err != nil {
		return 0, Invalid("error.bad_date", map[string]any{"Value": today})
	}
	var schools []School
	if err := db.WithContext(ctx).Order("id").Find(&schools).Error; err != nil {
		return 0, err
	}
	cyclesByRegion := map[string][]string{}
	type want struct {
		school int64
		p      policies.ReportPeriod
	}
	var wants []want
	for _, s := range schools {
		cycles, ok := cyclesByRegion[s.RegionCode]
		if !ok {
			scopes, err := RegionScopes(ctx, db, s.RegionCode)
			if err != nil {
				return 0, err
			}
			if cycles, err = ReportCyclesAt(ctx, db, scopes); err != nil {
				return 0, err
			}
			cyclesByRegion[s.RegionCode] = cycles
		}
		for _, c := range cycles {
			if c == policies.CycleTerm {
				t, err := CurrentTerm(ctx, db, s.ID, today)
				if err != nil {
					continue
				}
				wants = append(wants, want{s.ID, policies.TermPeriod(t.SchoolYear, t.Semester, t.StartDate, t.EndDate)})
				continue
			}
			p, err := policies.PeriodOf(c, day)
			if err != nil {
				return 0, err
			}
			wants = append(wants, want{s.ID, p})
		}
	}
	// One indicator computation per distinct period, for all its schools.
	byPeriod := map[policies.ReportPeriod][]int64{}
	var order []policies.ReportPeriod
	for _, w := range wants {
		if _, ok := byPeriod[w.p]; !ok {
			order = append(order, w.p)
		}
		byPeriod[w.p] = append(byPeriod[w.p], w.school)
	}
	created := 0
	now := time.Now().UTC()
	for _, p := range order {
		ids := byPeriod[p]
		to := p.To
		if today < to {
			to = today
		}
		vals, err := ComputeIndicators(ctx, db, ids, p.From, to)
		if err != nil {
			return created, err
		}
		err = Tx(ctx, db, func(tx *gorm.DB) error {
			for _, id := range ids {
				snap, _ := json.Marshal(ReportSnapshot{From: p.From, To: to, Indicators: vals[id]})
				r := SchoolReport{SchoolID: id, Cycle: p.Cycle, PeriodKey: p.Key, PeriodFrom: p.From, PeriodTo: p.To, DueDate: p.Due,
					Status: policies.ReportDraft, SnapshotJSON: string(snap), SnapshotAt: &now, CreatedAt: now, UpdatedAt: now}
				res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 1 {
					created++
					if err := Audit(ctx, tx, id, "create", "school_report", r.ID, nil, r); err != nil {
						return err
					}
					continue
				}
				res = tx.Model(&SchoolReport{}).Where("school_id = ? AND cycle = ? AND period_key = ? AND status = ?", id, p.Cycle, p.Key, policies.ReportDraft).
					Updates(map[string]any{"snapshot_json": string(snap), "snapshot_at": now, "updated_at": now})
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected > 0 {
					if err := Audit(ctx, tx, id, "refresh", "school_report", p.Cycle+"/"+p.Key, nil, map[string]any{"to": to}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return created, err
		}
	}
	return created, nil
}

// GetReport loads a report.
func GetReport(ctx context.Context, db *gorm.DB, id int64) (*SchoolReport, error) {
	var r SchoolReport
	if err := db.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &r, nil
}

// ReportsOfSchool lists a school's reports, newest period first.
func ReportsOfSchool(ctx context.Context, db *gorm.DB, schoolID int64) ([]SchoolReport, error) {
	var out []SchoolReport
	err := db.WithContext(ctx).Where("school_id = ?", schoolID).Order("period_from DESC, cycle").Limit(200).Find(&out).Error
	return out, err
}

// ReportsInSchools lists the reports of many schools (a region), optionally
// of one status, newest period first.
func ReportsInSchools(ctx context.Context, db *gorm.DB, schoolIDs []int64, status string) ([]SchoolReport, error) {
	var out []SchoolReport
	q := db.WithContext(ctx).Where("school_id IN ?", schoolIDs)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	err := q.Order("period_from DESC, school_id, cycle").Limit(1000).Find(&out).Error
	return out, err
}

var errReportLocked = func() *Error {
	return RuleError("report_locked", "MON-01", "report.locked", nil, nil)
}

// lockReport loads a report for update inside tx.
func lockReport(tx *gorm.DB, id, schoolID int64) (*SchoolReport, error) {
	var r SchoolReport
	q := tx
	if DialectOf(tx) == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Where("id = ? AND school_id = ?", id, schoolID).First(&r).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &r, nil
}

// SaveReportNarrative changes the narrative of a draft or returned report.
func SaveReportNarrative(ctx context.Context, db *gorm.DB, id, schoolID int64, narrative string) (*SchoolReport, error) {
	var out *SchoolReport
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		r, err := lockReport(tx, id, schoolID)
		if err != nil {
			return err
		}
		if !policies.ReportEditable(r.Status) {
			return errReportLocked()
		}
		before := *r
		r.Narrative = narrative
		r.UpdatedAt = time.Now().UTC()
		if err := tx.Model(r).Updates(map[string]any{"narrative": narrative, "updated_at": r.UpdatedAt}).Error; err != nil {
			return err
		}
		out = r
		return Audit(ctx, tx, schoolID, "update", "school_report", id, before, r)
	})
	return out, err
}

// SubmitReport submits a draft or returned report with its narrative; its
// snapshot is frozen from then on (MON-01).
func SubmitReport(ctx context.Context, db *gorm.DB, id, schoolID, userID int64, narrative string) (*SchoolReport, error) {
	var out *SchoolReport
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		r, err := lockReport(tx, id, schoolID)
		if err != nil {
			return err
		}
		if !policies.ReportEditable(r.Status) {
			return errReportLocked()
		}
		if narrative == "" {
			narrative = r.Narrative
		}
		if narrative == "" {
			return Invalid("report.narrative_required", nil)
		}
		before := *r
		now := time.Now().UTC()
		r.Narrative, r.Status, r.SubmittedAt, r.SubmittedBy, r.UpdatedAt = narrative, policies.ReportSubmitted, &now, &userID, now
		if err := tx.Model(r).Updates(map[string]any{"narrative": narrative, "status": r.Status, "submitted_at": now,
			"submitted_by": userID, "updated_at": now}).Error; err != nil {
			return err
		}
		out = r
		return Audit(ctx, tx, schoolID, "submit", "school_report", id, before, r)
	})
	return out, err
}

// ReviewReport accepts a submitted report or returns it with a comment.
func ReviewReport(ctx context.Context, db *gorm.DB, id, schoolID, userID int64, accept bool, comment string) (*SchoolReport, error) {
	var out *SchoolReport
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		r, err := lockReport(tx, id, schoolID)
		if err != nil {
			return err
		}
		if r.Status != policies.ReportSubmitted {
			return RuleError("report_not_submitted", "MON-01", "report.not_submitted", nil, map[string]any{"status": r.Status})
		}
		if !accept && comment == "" {
			return Invalid("report.comment_required", nil)
		}
		before := *r
		now := time.Now().UTC()
		r.Status = policies.ReportAccepted
		action := "accept"
		if !accept {
			r.Status, action = policies.ReportReturned, "return"
		}
		r.ReviewedAt, r.ReviewedBy, r.ReviewComment, r.UpdatedAt = &now, &userID, comment, now
		if err := tx.Model(r).Updates(map[string]any{"status": r.Status, "reviewed_at": now, "reviewed_by": userID,
			"review_comment": comment, "updated_at": now}).Error; err != nil {
			return err
		}
		out = r
		return Audit(ctx, tx, schoolID, action, "school_report", id, before, r)
	})
	return out, err
}

// SchoolOfReport is the school id of a report (for route scopes).
func SchoolOfReport(ctx context.Context, db *gorm.DB, id int64) (int64, error) {
	var r SchoolReport
	if err := db.WithContext(ctx).Select("school_id").First(&r, id).Error; err != nil {
		return 0, NotFoundIf(err)
	}
	return r.SchoolID, nil
}

// IndicatorSnapshot is one school's indicator value for a period (a week),
// stored by the daily job so history survives rollup rebuilds.
type IndicatorSnapshot struct {
	ID         int64 `gorm:"primaryKey"`
	SchoolID   int64
	Period     string
	Key        string
	Value      float64
	ComputedAt time.Time
}

// SnapshotWeek stores every school's indicators for the week of day
// (Monday to day), replacing the week's earlier values. It returns the
// number of values written.
func SnapshotWeek(ctx context.Context, db *gorm.DB, day time.Time) (int, error) {
	var ids []int64
	if err := db.WithContext(ctx).Model(&School{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	from := policies.WeekStart(day).Format(DateLayout)
	vals, err := ComputeIndicators(ctx, db, ids, from, day.Format(DateLayout))
	if err != nil {
		return 0, err
	}
	period := policies.WeekKey(day)
	now := time.Now().UTC()
	var rows []IndicatorSnapshot
	for _, id := range ids {
		for k, v := range vals[id] {
			rows = append(rows, IndicatorSnapshot{SchoolID: id, Period: period, Key: k, Value: v, ComputedAt: now})
		}
	}
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Where("period = ?", period).Delete(&IndicatorSnapshot{}).Error; err != nil {
			return err
		}
		if len(rows) > 0 {
			if err := tx.CreateInBatches(&rows, 500).Error; err != nil {
				return err
			}
		}
		return Audit(ctx, tx, 0, "snapshot", "indicator_snapshot", period, nil, map[string]any{"values": len(rows)})
	})
	return len(rows), err
}
