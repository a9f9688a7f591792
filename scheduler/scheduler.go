package scheduler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/go-co-op/gocron/v2"
	"gorm.io/gorm"

	"jianfu/models"
)

// Job is one scheduled job: when it fires, which period a firing belongs to,
// and what it does. Run is called at most once per period across replicas.
type Job struct {
	Name   string
	Def    gocron.JobDefinition
	Period func(now time.Time) string
	Run    func(ctx context.Context, now time.Time, period string) (detail string, err error)
	// Daily, when set, is when the job is due each day; its periods are
	// then dates, and the catch-up runs every due period of the last
	// Options.CatchupDays days that has no ok run. Jobs without it (the
	// heartbeat) are not caught up.
	Daily *DailyAt
	// Timeout is how long a run may stay "running" before it is taken for
	// dead, marked failed and retried (default 30 minutes).
	Timeout time.Duration
}

// DailyAt is a daily time in the scheduler's location, on Weekdays only
// (empty: every day).
type DailyAt struct {
	Hour, Minute int
	Weekdays     []time.Weekday
}

// Def is the gocron definition firing at the time.
func (d DailyAt) Def() gocron.JobDefinition {
	days := "*"
	if len(d.Weekdays) > 0 {
		days = ""
		for i, w := range d.Weekdays {
			if i > 0 {
				days += ","
			}
			days += fmt.Sprint(int(w))
		}
	}
	return gocron.CronJob(fmt.Sprintf("%d %d * * %s", d.Minute, d.Hour, days), false)
}

// Due lists the periods (dates) due in the days days before now and today
// whose time has come, oldest first.
func (d DailyAt) Due(now time.Time, days int) []PeriodDue {
	var out []PeriodDue
	y, m, dd := now.Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, now.Location())
	for i := days; i >= 0; i-- {
		day := today.AddDate(0, 0, -i)
		if len(d.Weekdays) > 0 && !slices.Contains(d.Weekdays, day.Weekday()) {
			continue
		}
		at := time.Date(day.Year(), day.Month(), day.Day(), d.Hour, d.Minute, 0, 0, now.Location())
		if at.After(now) {
			continue
		}
		out = append(out, PeriodDue{Period: DayPeriod(day), Due: at})
	}
	return out
}

// PeriodDue is one period of a job and the time it fell due.
type PeriodDue struct {
	Period string
	Due    time.Time
}

// ErrSkipped tells the runner a job had nothing to do this period (recorded
// as outcome "skipped").
var ErrSkipped = errors.New("skipped")

// Options configure a Scheduler.
type Options struct {
	DB       *gorm.DB
	Replica  string           // name recorded in job_runs; default host-pid
	Now      func() time.Time // default time.Now
	Location *time.Location   // time zone of the cron expressions; default Asia/Shanghai
	// LockKey is the advisory lock of the PostgreSQL elector; default a hash
	// of "jianfu-scheduler". Replicas of one deployment share it.
	LockKey int64
	// CatchupDays is how many days back the catch-up looks for periods
	// without an ok run (default 3; negative turns catch-up off).
	CatchupDays int
	// RetryAfter is the pause before a failed period is retried (default 5
	// minutes); MaxAttempts bounds the tries of one period (default 5).
	RetryAfter  time.Duration
	MaxAttempts int
}

// Defaults of the catch-up.
const (
	DefaultCatchupDays = 3
	DefaultRetryAfter  = 5 * time.Minute
	DefaultMaxAttempts = 5
	DefaultJobTimeout  = 30 * time.Minute
)

// JobCatchUp is the name of the internal job that runs the catch-up every
// minute (it records no job_runs rows of its own).
const JobCatchUp = "catch_up"

// Scheduler runs jobs with gocron: on PostgreSQL only the elected replica
// runs them, and every run first claims its (job, period) row in job_runs,
// so a period runs once even across a leader change; on SQLite the single
// process runs them, still claiming each period.
type Scheduler struct {
	opts    Options
	cron    gocron.Scheduler
	jobs    []Job
	Elector *PGElector // nil on SQLite
}

// DefaultLockKey is the elector's advisory lock key.
func DefaultLockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("jianfu-scheduler"))
	return int64(h.Sum64() >> 1)
}

// New builds a scheduler with the jobs; Start starts it.
func New(opts Options, jobs []Job) (*Scheduler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = time.FixedZone("CST", 8*3600)
		}
		opts.Location = loc
	}
	if opts.Replica == "" {
		host, _ := os.Hostname()
		opts.Replica = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if opts.LockKey == 0 {
		opts.LockKey = DefaultLockKey()
	}
	if opts.CatchupDays == 0 {
		opts.CatchupDays = DefaultCatchupDays
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	s := &Scheduler{opts: opts, jobs: jobs}
	copts := []gocron.SchedulerOption{gocron.WithLocation(opts.Location)}
	if models.DialectOf(opts.DB) == models.Postgres {
		sqlDB, err := opts.DB.DB()
		if err != nil {
			return nil, err
		}
		s.Elector = NewPGElector(sqlDB, opts.LockKey)
		copts = append(copts, gocron.WithDistributedElector(s.Elector))
	}
	c, err := gocron.NewScheduler(copts...)
	if err != nil {
		return nil, err
	}
	s.cron = c
	for _, j := range jobs {
		j := j
		if _, err := c.NewJob(j.Def, gocron.NewTask(func(ctx context.Context) { s.RunOnce(ctx, j) }),
			gocron.WithName(j.Name), gocron.WithSingletonMode(gocron.LimitModeReschedule)); err != nil {
			return nil, fmt.Errorf("job %s: %w", j.Name, err)
		}
	}
	if opts.CatchupDays > 0 && slices.ContainsFunc(jobs, func(j Job) bool { return j.Daily != nil }) {
		// At start and every minute: only the leader runs it (the elector
		// guards every job), and each period it runs is claimed as usual.
		if _, err := c.NewJob(gocron.DurationJob(time.Minute), gocron.NewTask(func(ctx context.Context) { s.CatchUp(ctx) }),
			gocron.WithName(JobCatchUp), gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithStartAt(gocron.WithStartImmediately())); err != nil {
			return nil, fmt.Errorf("job %s: %w", JobCatchUp, err)
		}
	}
	return s, nil
}

// CatchUp runs, oldest first, every due period of the last CatchupDays
// days of each daily job that has no ok (or skipped) run: one missed
// because no replica was up or leading, one whose run failed (after
// RetryAfter, up to MaxAttempts), one whose run has been "running" past
// its timeout. It returns how many periods it ran.
func (s *Scheduler) CatchUp(ctx context.Context) int {
	now := s.opts.Now().In(s.opts.Location)
	n := 0
	for _, j := range s.jobs {
		if j.Daily == nil {
			continue
		}
		due := j.Daily.Due(now, s.opts.CatchupDays)
		periods := make([]string, len(due))
		for i, d := range due {
			periods[i] = d.Period
		}
		runs, err := models.JobRunsOf(ctx, s.opts.DB, j.Name, periods)
		if err != nil {
			slog.Error("catch-up: job runs", "job", j.Name, "err", err)
			continue
		}
		for _, p := range periods {
			if r, ok := runs[p]; ok && (r.Outcome == models.RunOK || r.Outcome == models.RunSkipped) {
				continue
			}
			if s.runPeriod(ctx, j, p) {
				n++
			}
		}
	}
	return n
}

func (s *Scheduler) retryPolicy(j Job) models.RetryPolicy {
	t := j.Timeout
	if t <= 0 {
		t = DefaultJobTimeout
	}
	return models.RetryPolicy{Timeout: t, RetryAfter: s.opts.RetryAfter, MaxAttempts: s.opts.MaxAttempts}
}

// Start starts firing jobs.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops the jobs, waits for running ones, and resigns leadership.
func (s *Scheduler) Stop() error {
	err := s.cron.Shutdown()
	if s.Elector != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Elector.Resign(ctx)
	}
	return err
}

// RunOnce claims the job's current period and runs it if the claim
// succeeds; it reports whether it ran.
func (s *Scheduler) RunOnce(ctx context.Context, j Job) bool {
	return s.runPeriod(ctx, j, j.Period(s.opts.Now().In(s.opts.Location)))
}

// runPeriod claims (or re-claims, see models.ClaimJobRunRetry) one period
// of the job and runs it if the claim succeeds.
func (s *Scheduler) runPeriod(ctx context.Context, j Job, period string) bool {
	now := s.opts.Now()
	db := s.opts.DB.WithContext(ctx)
	id, claimed, err := models.ClaimJobRunRetry(ctx, db, j.Name, period, s.opts.Replica, now, s.retryPolicy(j))
	if err != nil {
		slog.Error("job claim failed", "job", j.Name, "period", period, "err", err)
		return false
	}
	if !claimed {
		slog.Debug("job period already run", "job", j.Name, "period", period)
		return false
	}
	outcome := models.RunOK
	detail, err := s.safeRun(ctx, j, now, period)
	switch {
	case errors.Is(err, ErrSkipped):
		outcome = models.RunSkipped
	case err != nil:
		outcome, detail = models.RunError, err.Error()
		slog.Error("job failed", "job", j.Name, "period", period, "err", err)
	}
	if err := models.FinishJobRun(context.WithoutCancel(ctx), s.opts.DB, id, outcome, detail, s.opts.Now()); err != nil {
		slog.Error("job finish not recorded", "job", j.Name, "err", err)
	}
	slog.Info("job run", "job", j.Name, "period", period, "outcome", outcome, "replica", s.opts.Replica)
	return true
}

func (s *Scheduler) safeRun(ctx context.Context, j Job, now time.Time, period string) (detail string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	ctx = models.WithActor(ctx, models.Actor{RequestID: "job:" + j.Name + ":" + period})
	return j.Run(ctx, now, period)
}

// DayPeriod is the date of now (in its location): daily jobs' period.
func DayPeriod(now time.Time) string { return now.Format(models.DateLayout) }

// MinutePeriod is the minute of now: the period of a job that runs every minute.
func MinutePeriod(now time.Time) string { return now.Format("2006-01-02T15:04") }

// EveryPeriod is a period function for jobs every d (tests use seconds).
func EveryPeriod(d time.Duration) func(time.Time) string {
	return func(now time.Time) string { return now.Truncate(d).Format(time.RFC3339) }
}

// PeriodState is one due period of a job as /admin/jobs shows it: its run
// (outcome ok, skipped, error, running) or "missed" when no run exists.
type PeriodState struct {
	Job      string    `json:"job"`
	Period   string    `json:"period"`
	Due      time.Time `json:"due"`
	State    string    `json:"state"`
	Attempts int       `json:"attempts"`
	Detail   string    `json:"detail"`
}

// StateMissed is the state of a due period without any run.
const StateMissed = "missed"

// PeriodStates lists, for every daily job, the due periods of the last days
// days that are not ok (or skipped): missed, failed, still running. now is
// read in loc.
func PeriodStates(ctx context.Context, db *gorm.DB, jobs []Job, now time.Time, loc *time.Location, days int) ([]PeriodState, error) {
	var out []PeriodState
	for _, j := range jobs {
		if j.Daily == nil {
			continue
		}
		due := j.Daily.Due(now.In(loc), days)
		periods := make([]string, len(due))
		for i, d := range due {
			periods[i] = d.Period
		}
		runs, err := models.JobRunsOf(ctx, db, j.Name, periods)
		if err != nil {
			return nil, err
		}
		for _, d := range due {
			r, ok := runs[d.Period]
			switch {
			case !ok:
				out = append(out, PeriodState{Job: j.Name, Period: d.Period, Due: d.Due, State: StateMissed})
			case r.Outcome != models.RunOK && r.Outcome != models.RunSkipped:
				out = append(out, PeriodState{Job: j.Name, Period: d.Period, Due: d.Due, State: r.Outcome, Attempts: r.Attempts, Detail: r.Detail})
			}
		}
	}
	return out, nil
}

// PeriodStates is the scheduler's own view of PeriodStates.
func (s *Scheduler) PeriodStates(ctx context.Context) ([]PeriodState, error) {
	return PeriodStates(ctx, s.opts.DB, s.jobs, s.opts.Now(), s.opts.Location, s.opts.CatchupDays)
}

// CatchupDaysFromEnv reads JOB_CATCHUP_DAYS (how many days back missed or
// failed periods are run again; -1 turns the catch-up off); unset is 0,
// which Options reads as DefaultCatchupDays.
func CatchupDaysFromEnv() (int, error) {
	v := os.Getenv("JOB_CATCHUP_DAYS")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("JOB_CATCHUP_DAYS: %w", err)
	}
	return n, nil
}

// ShownCatchupDays is the window /admin/jobs lists missed periods over.
func ShownCatchupDays(n int) int {
	if n == 0 {
		return DefaultCatchupDays
	}
	return max(n, 0)
}
