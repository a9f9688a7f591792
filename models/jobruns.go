package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

// JobRun records one run of a scheduled job for one period. The unique
// (job, period) key makes each run idempotent: a replica runs a period only
// when its insert claiming it succeeds.
type JobRun struct {
	ID         int64      `gorm:"primaryKey" json:"id"`
	Job        string     `json:"job"`
	Period     string     `json:"period"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Outcome    string     `json:"outcome"` // running, ok, skipped, error
	Detail     string     `json:"detail"`
	Replica    string     `json:"replica"`
	Attempts   int        `json:"attempts"` // 1, plus one per retry of a failed or timed-out run
}

// Job run outcomes.
const (
	RunRunning = "running"
	RunOK      = "ok"
	RunSkipped = "skipped"
	RunError   = "error"
)

// ClaimJobRun inserts the (job, period) row; claimed is false when another
// run (this replica's or another's) already has the period.
func ClaimJobRun(ctx context.Context, db *gorm.DB, job, period, replica string, now time.Time) (id int64, claimed bool, err error) {
	r := JobRun{Job: job, Period: period, StartedAt: now.UTC(), Outcome: RunRunning, Replica: replica, Attempts: 1}
	res := db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
	if res.Error != nil {
		return 0, false, res.Error
	}
	return r.ID, res.RowsAffected == 1, nil
}

// RetryPolicy says when a period whose run failed or died may be claimed
// again: a run still "running" after Timeout is marked failed; a failed run
// is retried RetryAfter after it ended, up to MaxAttempts tries in all.
type RetryPolicy struct {
	Timeout     time.Duration
	RetryAfter  time.Duration
	MaxAttempts int
}

// ClaimJobRunRetry claims (job, period) like ClaimJobRun and, when the
// period already has a row, re-claims it if that run failed (and may be
// retried now) or has been running longer than its timeout (it is marked
// failed first, so /admin/jobs shows what happened). Only one replica's
// update succeeds, so a retry also runs once.
func ClaimJobRunRetry(ctx context.Context, db *gorm.DB, job, period, replica string, now time.Time, p RetryPolicy) (id int64, claimed bool, err error) {
	id, claimed, err = ClaimJobRun(ctx, db, job, period, replica, now)
	if err != nil || claimed {
		return id, claimed, err
	}
	now = now.UTC()
	db = db.WithContext(ctx)
	if p.Timeout > 0 {
		// A dead run counts as failed from the moment its timeout ran out.
		var stale JobRun
		err := db.Where("job = ? AND period = ? AND outcome = ? AND started_at < ?", job, period, RunRunning, now.Add(-p.Timeout)).Take(&stale).Error
		if err == nil {
			if err := db.Model(&JobRun{}).Where("id = ? AND outcome = ?", stale.ID, RunRunning).
				Updates(map[string]any{"outcome": RunError, "detail": fmt.Sprintf("timed out: still running after %s", p.Timeout),
					"finished_at": stale.StartedAt.Add(p.Timeout)}).Error; err != nil {
				return 0, false, err
			}
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, false, err
		}
	}
	q := db.Model(&JobRun{}).Where("job = ? AND period = ? AND outcome = ? AND (finished_at IS NULL OR finished_at <= ?)", job, period, RunError, now.Add(-p.RetryAfter))
	if p.MaxAttempts > 0 {
		q = q.Where("attempts < ?", p.MaxAttempts)
	}
	res := q.Updates(map[string]any{"outcome": RunRunning, "started_at": now, "finished_at": nil, "replica": replica,
		"attempts": gorm.Expr("attempts + 1"), "detail": ""})
	if res.Error != nil || res.RowsAffected != 1 {
		return 0, false, res.Error
	}
	var r JobRun
	if err := db.Where("job = ? AND period = ?", job, period).Take(&r).Error; err != nil {
		return 0, false, err
	}
	return r.ID, true, nil
}

// JobRunsOf lists the runs of job for the given periods, by period.
func JobRunsOf(ctx context.Context, db *gorm.DB, job string, periods []string) (map[string]JobRun, error) {
	out := map[string]JobRun{}
	if len(periods) == 0 {
		return out, nil
	}
	var rows []JobRun
	if err := db.WithContext(ctx).Where("job = ? AND period IN ?", job, periods).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.Period] = r
	}
	return out, nil
}

// FinishJobRun records how a claimed run ended.
func FinishJobRun(ctx context.Context, db *gorm.DB, id int64, outcome, detail string, now time.Time) error {
	if len(detail) > 2000 {
		detail = detail[:2000]
	}
	t := now.UTC()
	return db.WithContext(ctx).Model(&JobRun{}).Where("id = ?", id).
		Updates(map[string]any{"outcome": outcome, "detail": detail, "finished_at": t}).Error
}

// RecentJobRuns lists the latest runs, optionally of one job.
func RecentJobRuns(ctx context.Context, db *gorm.DB, job string, limit int) ([]JobRun, error) {
	var out []JobRun
	q := db.WithContext(ctx)
	if job != "" {
		q = q.Where("job = ?", job)
	}
	err := q.Order("started_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// Reminder is a message for one user from a scheduled job (a report due, a
// class with no homework logged); one per user, kind and period.
type Reminder struct {
	ID        int64      `gorm:"primaryKey" json:"id"`
	UserID    int64      `json:"user_id"`
	SchoolID  *int64     `json:"school_id"`
	Kind      string     `json:"kind"`
	Period    string     `json:"period"`
	MsgID     string     `json:"msg_id"`
	Params    string     `json:"params"` // JSON object of message parameters
	Link      string     `json:"link"`
	ReadAt    *time.Time `json:"read_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// ParamMap decodes the message parameters.
func (r Reminder) ParamMap() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal([]byte(r.Params), &m)
	return m
}

// AddReminders stores reminders, skipping those already sent; it returns
// how many are new.
func AddReminders(ctx context.Context, db *gorm.DB, rs []Reminder) (int, error) {
	n := 0
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		for i := range rs {
			if rs[i].CreatedAt.IsZero() {
				rs[i].CreatedAt = time.Now().UTC()
			}
			if rs[i].Params == "" {
				rs[i].Params = "{}"
			}
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rs[i])
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				n++
			}
		}
		if n > 0 {
			return Audit(ctx, tx, 0, "remind", "reminder", fmt.Sprint(len(rs)), nil, map[string]any{"new": n})
		}
		return nil
	})
	return n, err
}

// RemindersOf lists a user's latest reminders.
func RemindersOf(ctx context.Context, db *gorm.DB, userID int64) ([]Reminder, error) {
	var out []Reminder
	err := db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC, id DESC").Limit(50).Find(&out).Error
	return out, err
}

// UsersWithRole lists the users holding role in a school's domain.
func UsersWithRole(ctx context.Context, db *gorm.DB, role string, schoolID int64) ([]int64, error) {
	var subs []string
	err := db.WithContext(ctx).Table("casbin_rule").Where("ptype = 'g' AND v1 = ? AND v2 = ?", role, policies.SchoolDomain(schoolID)).Pluck("v0", &subs).Error
	out := make([]int64, 0, len(subs))
	for _, s := range subs {
		var id int64
		if _, err := fmt.Sscanf(s, "user:%d", &id); err == nil {
			out = append(out, id)
		}
	}
	return out, err
}

// ReportDueReminders reminds principals of reports due within two days or
// overdue, as of today.
func ReportDueReminders(ctx context.Context, db *gorm.DB, today string) ([]Reminder, error) {
	day, err := time.Parse(DateLayout, today)
	if err != nil {
		return nil, err
	}
	soon := day.AddDate(0, 0, 2).Format(DateLayout)
	var reports []SchoolReport
	if err := db.WithContext(ctx).Where("status IN ? AND due_date <= ?", []string{policies.ReportDraft, policies.ReportReturned}, soon).
		Find(&reports).Error; err != nil {
		return nil, err
	}
	var out []Reminder
	for _, r := range reports {
		users, err := UsersWithRole(ctx, db, policies.RolePrincipal, r.SchoolID)
		if err != nil {
			return nil, err
		}
		msg := "reminder.report_due"
		if r.Overdue(today) {
			msg = "reminder.report_overdue"
		}
		params, _ := json.Marshal(map[string]any{"Period": r.PeriodKey, "Due": r.DueDate})
		for _, u := range users {
			sid := r.SchoolID
			out = append(out, Reminder{UserID: u, SchoolID: &sid, Kind: "report_due:" + r.Cycle, Period: r.PeriodKey + "@" + today,
				MsgID: msg, Params: string(params), Link: fmt.Sprintf("/reports/%d", r.ID)})
		}
	}
	return out, nil
}

// HomeworkGapReminders reminds the head teacher of each class with nothing
// logged for date (a school day) by the time the job runs (18:00). It reads
// the homework area's class_day_loads rollup when that table exists and
// does nothing otherwise, so it builds and runs without the homework area.
func HomeworkGapReminders(ctx context.Context, db *gorm.DB, date string) ([]Reminder, bool, error) {
	if !db.Migrator().HasTable("class_day_loads") {
		return nil, false, nil
	}
	var classes []Class
	if err := db.WithContext(ctx).Where("head_teacher_id IS NOT NULL").Order("school_id, grade, number").Find(&classes).Error; err != nil {
		return nil, true, err
	}
	var logged []int64
	if err := db.WithContext(ctx).Table("class_day_loads").Where("date = ? AND item_count > 0", date).Pluck("class_id", &logged).Error; err != nil {
		return nil, true, err
	}
	has := map[int64]bool{}
	for _, id := range logged {
		has[id] = true
	}
	schoolDay := map[int64]bool{}
	var out []Reminder
	for _, c := range classes {
		if has[c.ID] {
			continue
		}
		sd, ok := schoolDay[c.SchoolID]
		if !ok {
			var err error
			if sd, err = IsSchoolDay(ctx, db, c.SchoolID, date); err != nil {
				return nil, true, err
			}
			schoolDay[c.SchoolID] = sd
		}
		if !sd {
			continue
		}
		params, _ := json.Marshal(map[string]any{"Class": c.Name, "Date": date})
		sid := c.SchoolID
		out = append(out, Reminder{UserID: *c.HeadTeacherID, SchoolID: &sid, Kind: fmt.Sprintf("homework_gap:%d", c.ID), Period: date,
			MsgID: "reminder.homework_gap", Params: string(params), Link: fmt.Sprintf("/classes/%d/load", c.ID)})
	}
	return out, true, nil
}

// ReminderSource gives extra reminders for a day (an area's own, such as
// after-school enrollment windows closing); areas register theirs.
type ReminderSource struct {
	Name    string
	Collect func(ctx context.Context, db *gorm.DB, today string) ([]Reminder, error)
}

var reminderSources []ReminderSource

// RegisterReminders adds a reminder source; the daily reminders job runs it.
func RegisterReminders(src ReminderSource) {
	indicatorMu.Lock()
	defer indicatorMu.Unlock()
	reminderSources = append(reminderSources, src)
}

// ReminderSources lists the registered reminder sources.
func ReminderSources() []ReminderSource {
	indicatorMu.Lock()
	defer indicatorMu.Unlock()
	return append([]ReminderSource(nil), reminderSources...)
}
