package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
	"gorm.io/gorm"

	"jianfu/models"
)

// Job names, as job_runs records them.
const (
	JobReportDrafts      = "report_drafts"
	JobIndicatorSnapshot = "indicator_snapshot"
	JobAlertEvaluation   = "alert_evaluation"
	JobHomeworkReminders = "homework_reminders"
	JobDailyReminders    = "daily_reminders"
	JobSchoolYearParts   = "school_year_partitions"
)

// BureauJobs are the bureau monitoring jobs (times in the scheduler's
// location, Asia/Shanghai by default), each idempotent per day:
//   - report drafts for the current period of each cycle (MON-01), 00:30
//   - weekly indicator snapshots (daily rollup into indicator_snapshots), 01:00
//   - alert evaluation over the week so far, 19:00
//   - head teachers of classes with no homework logged, 18:00 on weekdays
//     (only when the homework area's class_day_loads table exists)
//   - reports due or overdue, and the reminders other areas register, 08:00
func BureauJobs(db *gorm.DB) []Job {
	jobs := []Job{
		{Name: JobReportDrafts, Daily: &DailyAt{Hour: 0, Minute: 30}, Period: DayPeriod,
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				n, err := models.EnsureReportDrafts(ctx, db, period)
				return fmt.Sprintf("created %d", n), err
			}},
		{Name: JobIndicatorSnapshot, Daily: &DailyAt{Hour: 1}, Period: DayPeriod,
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				day, _ := time.Parse(models.DateLayout, period)
				n, err := models.SnapshotWeek(ctx, db, day.AddDate(0, 0, -1))
				return fmt.Sprintf("values %d", n), err
			}},
		{Name: JobAlertEvaluation, Daily: &DailyAt{Hour: 19}, Period: DayPeriod,
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				day, _ := time.Parse(models.DateLayout, period)
				n, err := models.EvaluateAlerts(ctx, db, day)
				return fmt.Sprintf("raised %d", n), err
			}},
		{Name: JobHomeworkReminders, Daily: &DailyAt{Hour: 18, Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}, Period: DayPeriod,
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				rs, present, err := models.HomeworkGapReminders(ctx, db, period)
				if err != nil {
					return "", err
				}
				if !present {
					return "no homework data", ErrSkipped
				}
				n, err := models.AddReminders(ctx, db, rs)
				return fmt.Sprintf("sent %d", n), err
			}},
		{Name: JobDailyReminders, Daily: &DailyAt{Hour: 8}, Period: DayPeriod,
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				rs, err := models.ReportDueReminders(ctx, db, period)
				if err != nil {
					return "", err
				}
				for _, src := range models.ReminderSources() {
					more, err := src.Collect(ctx, db, period)
					if err != nil {
						return "", fmt.Errorf("%s: %w", src.Name, err)
					}
					rs = append(rs, more...)
				}
				n, err := models.AddReminders(ctx, db, rs)
				return fmt.Sprintf("sent %d", n), err
			}},
	}
	for i := range jobs {
		jobs[i].Def = jobs[i].Daily.Def()
	}
	return jobs
}

// StorageJobs keep the storage in shape: the school-year partitions of
// this year and the next (PostgreSQL; nothing on SQLite), daily at 02:00.
func StorageJobs(db *gorm.DB) []Job {
	jobs := []Job{
		{Name: JobSchoolYearParts, Daily: &DailyAt{Hour: 2, Minute: 0}, Period: DayPeriod,
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				made, err := models.EnsureSchoolYearPartitions(ctx, db, period)
				return fmt.Sprintf("created %v", made), err
			}},
	}
	for i := range jobs {
		jobs[i].Def = jobs[i].Daily.Def()
	}
	return jobs
}

// JobHeartbeat records that the scheduler is alive and which replica leads.
const JobHeartbeat = "heartbeat"

// HeartbeatJob runs every `every` (a minute in production; whole seconds
// dividing a minute are allowed, which the two-process test uses). Its
// job_runs rows show, period by period, that exactly one replica ran it.
func HeartbeatJob(db *gorm.DB, every time.Duration) (Job, error) {
	var def gocron.JobDefinition
	switch {
	case every == time.Minute:
		def = gocron.CronJob("* * * * *", false)
	case every >= time.Second && every < time.Minute && every%time.Second == 0 && 60%int(every/time.Second) == 0:
		def = gocron.CronJob(fmt.Sprintf("*/%d * * * * *", int(every/time.Second)), true)
	default:
		return Job{}, fmt.Errorf("heartbeat: %s is not a minute or whole seconds dividing a minute", every)
	}
	return Job{Name: JobHeartbeat, Def: def, Period: EveryPeriod(every),
		Run: func(ctx context.Context, now time.Time, period string) (string, error) {
			// Keep a week of heartbeats: enough to see who led when.
			err := db.WithContext(ctx).Where("job = ? AND started_at < ?", JobHeartbeat, now.UTC().AddDate(0, 0, -7)).Delete(&models.JobRun{}).Error
			return "alive", err
		}}, nil
}
