package models

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

// Alert is raised for a school when an indicator breaches an alert rule in a
// week; the school and the bureau see it with its rule id, acknowledge it and
// resolve it with a note. One alert per school, rule and week.
type Alert struct {
	ID             int64      `gorm:"primaryKey" json:"id"`
	SchoolID       int64      `json:"school_id"`
	Rule           string     `json:"rule"`
	IndicatorKey   string     `json:"indicator_key"`
	PeriodKey      string     `json:"period_key"`
	Value          float64    `json:"value"`
	Threshold      float64    `json:"threshold"`
	Status         string     `json:"status"`
	AckNote        string     `json:"ack_note"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	AcknowledgedBy *int64     `json:"acknowledged_by"`
	ResolveNote    string     `json:"resolve_note"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	ResolvedBy     *int64     `json:"resolved_by"`
	CreatedAt      time.Time  `json:"created_at"`
}

// EvaluateAlerts checks every school's indicators for the week of day
// (Monday to day) against its region's alert rules and raises the alerts
// not raised yet. It is idempotent: it returns how many alerts it created.
func EvaluateAlerts(ctx context.Context, db *gorm.DB, day time.Time) (int, error) {
	var schools []School
	if err := db.WithContext(ctx).Order("id").Find(&schools).Error; err != nil {
		return 0, err
	}
	ids := make([]int64, len(schools))
	for i, s := range schools {
		ids[i] = s.ID
	}
	vals, err := ComputeIndicators(ctx, db, ids, policies.WeekStart(day).Format(DateLayout), day.Format(DateLayout))
	if err != nil {
		return 0, err
	}
	period := policies.WeekKey(day)
	rulesByRegion := map[string][]policies.AlertRule{}
	created := 0
	now := time.Now().UTC()
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		for _, s := range schools {
			rules, ok := rulesByRegion[s.RegionCode]
			if !ok {
				scopes, err := RegionScopes(ctx, tx, s.RegionCode)
				if err != nil {
					return err
				}
				if rules, err = AlertRulesAt(ctx, tx, scopes); err != nil {
					return err
				}
				rulesByRegion[s.RegionCode] = rules
			}
			for _, r := range rules {
				v, ok := vals[s.ID][r.Key]
				if !ok || !r.Breached(v) {
					continue
				}
				a := Alert{SchoolID: s.ID, Rule: r.ID, IndicatorKey: r.Key, PeriodKey: period, Value: v, Threshold: r.Threshold,
					Status: policies.AlertOpen, CreatedAt: now}
				res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&a)
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 1 {
					created++
					if err := Audit(ctx, tx, s.ID, "raise", "alert", a.ID, nil, a); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	return created, err
}

// AlertsOf lists the alerts of schools, optionally of one status (open
// means not resolved), newest first.
func AlertsOf(ctx context.Context, db *gorm.DB, schoolIDs []int64, status string) ([]Alert, error) {
	var out []Alert
	q := db.WithContext(ctx).Where("school_id IN ?", schoolIDs)
	switch status {
	case "":
	case "open":
		q = q.Where("status <> ?", policies.AlertResolved)
	default:
		q = q.Where("status = ?", status)
	}
	err := q.Order("created_at DESC, id DESC").Limit(500).Find(&out).Error
	return out, err
}

// SchoolOfAlert is the school id of an alert (for route scopes).
func SchoolOfAlert(ctx context.Context, db *gorm.DB, id int64) (int64, error) {
	var a Alert
	if err := db.WithContext(ctx).Select("school_id").First(&a, id).Error; err != nil {
		return 0, NotFoundIf(err)
	}
	return a.SchoolID, nil
}

// AcknowledgeAlert marks an open alert as seen, with an optional note.
func AcknowledgeAlert(ctx context.Context, db *gorm.DB, id, schoolID, userID int64, note string) (*Alert, error) {
	return changeAlert(ctx, db, id, schoolID, func(a *Alert, now time.Time) (string, map[string]any, error) {
		if a.Status != policies.AlertOpen {
			return "", nil, &Error{Kind: KindConflict, Code: "alert_not_open", MsgID: "alert.not_open"}
		}
		a.Status, a.AckNote, a.AcknowledgedAt, a.AcknowledgedBy = policies.AlertAcknowledged, note, &now, &userID
		return "acknowledge", map[string]any{"status": a.Status, "ack_note": note, "acknowledged_at": now, "acknowledged_by": userID}, nil
	})
}

// ResolveAlert closes an alert with a note saying what was done.
func ResolveAlert(ctx context.Context, db *gorm.DB, id, schoolID, userID int64, note string) (*Alert, error) {
	return changeAlert(ctx, db, id, schoolID, func(a *Alert, now time.Time) (string, map[string]any, error) {
		if a.Status == policies.AlertResolved {
			return "", nil, &Error{Kind: KindConflict, Code: "alert_resolved", MsgID: "alert.already_resolved"}
		}
		if note == "" {
			return "", nil, Invalid("alert.note_required", nil)
		}
		a.Status, a.ResolveNote, a.ResolvedAt, a.ResolvedBy = policies.AlertResolved, note, &now, &userID
		return "resolve", map[string]any{"status": a.Status, "resolve_note": note, "resolved_at": now, "resolved_by": userID}, nil
	})
}

func changeAlert(ctx context.Context, db *gorm.DB, id, schoolID int64, change func(a *Alert, now time.Time) (string, map[string]any, error)) (*Alert, error) {
	var out *Alert
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var a Alert
		q := tx
		if DialectOf(tx) == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Where("id = ? AND school_id = ?", id, schoolID).First(&a).Error; err != nil {
			return NotFoundIf(err)
		}
		before := a
		action, cols, err := change(&a, time.Now().UTC())
		if err != nil {
			return err
		}
		if err := tx.Model(&Alert{}).Where("id = ?", id).Updates(cols).Error; err != nil {
			return err
		}
		out = &a
		return Audit(ctx, tx, schoolID, action, "alert", id, before, a)
	})
	return out, err
}
