package scheduler_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/scheduler"
)

// A period is claimed once: a second run of the same period does nothing.
func TestRunOncePerPeriod(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
		runs := 0
		j := scheduler.Job{Name: "probe", Period: scheduler.DayPeriod, Def: gocron.CronJob("0 18 * * *", false),
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				runs++
				return "did " + period, nil
			}}
		a, err := scheduler.New(scheduler.Options{DB: db, Replica: "a", Now: func() time.Time { return now }, Location: time.UTC, LockKey: rand.Int64N(1 << 40)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := scheduler.New(scheduler.Options{DB: db, Replica: "b", Now: func() time.Time { return now.Add(time.Hour) }, Location: time.UTC, LockKey: rand.Int64N(1 << 40)}, nil)
		ctx := context.Background()
		if !a.RunOnce(ctx, j) {
			t.Fatal("first run of the period did not run")
		}
		if b.RunOnce(ctx, j) || a.RunOnce(ctx, j) {
			t.Fatal("same period ran twice")
		}
		now = now.AddDate(0, 0, 1)
		if !a.RunOnce(ctx, j) {
			t.Fatal("next period did not run")
		}
		rs, err := models.RecentJobRuns(ctx, db, "probe", 10)
		if err != nil {
			t.Fatal(err)
		}
		if runs != 2 || len(rs) != 2 || rs[0].Outcome != models.RunOK || rs[0].FinishedAt == nil || rs[1].Period != "2026-11-25" {
			t.Fatalf("runs %d, rows %+v", runs, rs)
		}
	})
}

// Two schedulers with their own connections on one PostgreSQL, firing a job
// every 2 s: each period runs exactly once in total, and when the leader's
// session dies the other replica takes over.
func TestOneRunPerPeriodAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 14 s")
	}
	found := false
	for _, d := range dbtest.Dialects() {
		found = found || d == models.Postgres
	}
	if !found {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL")
	}
	db := dbtest.Open(t, models.Postgres)
	url := dbtest.URL(db)
	key := rand.Int64N(1<<40) + 1
	var executions atomic.Int64
	var mu sync.Mutex
	perPeriod := map[string]int{}
	job := func() scheduler.Job {
		return scheduler.Job{Name: "every2s", Def: gocron.CronJob("*/2 * * * * *", true), Period: scheduler.EveryPeriod(2 * time.Second),
			Run: func(ctx context.Context, now time.Time, period string) (string, error) {
				executions.Add(1)
				mu.Lock()
				perPeriod[period]++
				mu.Unlock()
				return "", nil
			}}
	}
	var scheds []*scheduler.Scheduler
	for _, name := range []string{"replica-a", "replica-b"} {
		conn, err := models.Open(url) // a pool of its own, like a second process
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if s, err := conn.DB(); err == nil {
				s.Close()
			}
		})
		s, err := scheduler.New(scheduler.Options{DB: conn, Replica: name, LockKey: key, Location: time.UTC}, []scheduler.Job{job()})
		if err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	for _, s := range scheds {
		s.Start()
	}
	time.Sleep(7 * time.Second)
	// Kill the leader's database session: its lock goes with it.
	var leader *scheduler.Scheduler
	for _, s := range scheds {
		if s.Elector.Leading() {
			leader = s
		}
	}
	if leader == nil {
		t.Fatal("no replica leads")
	}
	pid := leader.Elector.BackendPID(context.Background())
	if err := db.Exec("SELECT pg_terminate_backend(?)", pid).Error; err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	time.Sleep(7 * time.Second)
	for _, s := range scheds {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	}
	var rows []models.JobRun
	if err := db.Where("job = ?", "every2s").Order("period").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)) != executions.Load() {
		t.Fatalf("%d job_runs rows but %d executions", len(rows), executions.Load())
	}
	for p, n := range perPeriod {
		if n != 1 {
			t.Errorf("period %s ran %d times", p, n)
		}
	}
	// About 7 periods in 14 s; allow for start-up and the take-over.
	if len(rows) < 5 {
		t.Fatalf("only %d periods ran: %+v", len(rows), rows)
	}
	after := 0
	replicas := map[string]int{}
	for _, r := range rows {
		replicas[r.Replica]++
		if r.StartedAt.After(killedAt.Add(time.Second)) {
			after++
		}
	}
	if after < 2 {
		t.Fatalf("jobs stopped after the leader's session died: %d runs after, rows %+v", after, rows)
	}
	t.Logf("runs per replica: %v (%d periods, %d after the leader's session was killed)", replicas, len(rows), after)
}

// Every storage job has a schedule gocron can take (a Def from its DailyAt).
func TestStorageJobsHaveSchedules(t *testing.T) {
	for _, j := range scheduler.StorageJobs(nil) {
		if j.Def == nil || j.Daily == nil {
			t.Errorf("%s has no schedule", j.Name)
		}
	}
}
