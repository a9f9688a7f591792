package scheduler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
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
}

// Scheduler runs jobs with gocron: on PostgreSQL only the elected replica
// runs them, and every run first claims its (job, period) row in job_runs,
// so a period runs once even across a leader change; on SQLite the single
// process runs them, still claiming each period.
type Scheduler struct {
	opts    Options
	cron    gocron.Scheduler
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
	s := &Scheduler{opts: opts}
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
	return s, nil
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
	now := s.opts.Now()
	period := j.Period(now.In(s.opts.Location))
	db := s.opts.DB.WithContext(ctx)
	id, claimed, err := models.ClaimJobRun(ctx, db, j.Name, period, s.opts.Replica, now)
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
