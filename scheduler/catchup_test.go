package scheduler_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/scheduler"
)

// Finding 8: a period that failed or was missed was never retried, and a run
// that died stayed "running" forever. The catch-up runs the missed days,
// retries a failure, takes over a dead run after its timeout, and
// PeriodStates shows what is still not ok.
func TestCatchUpMissedFailedAndDeadPeriods(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) // Wednesday, after the 00:30 run
		fail := map[string]bool{"2026-11-24": true}
		var ran []string
		job := scheduler.Job{Name: "drafts", Daily: &scheduler.DailyAt{Hour: 0, Minute: 30}, Period: scheduler.DayPeriod, Timeout: time.Hour,
			Run: func(ctx context.Context, _ time.Time, period string) (string, error) {
				ran = append(ran, period)
				if fail[period] {
					return "", errors.New("database unreachable")
				}
				return "ok " + period, nil
			}}
		job.Def = job.Daily.Def()
		s, err := scheduler.New(scheduler.Options{DB: db, Replica: "a", Now: func() time.Time { return now }, Location: time.UTC,
			LockKey: rand.Int64N(1 << 40), CatchupDays: 3, RetryAfter: 10 * time.Minute}, []scheduler.Job{job})
		if err != nil {
			t.Fatal(err)
		}
		// 2026-11-22 ran and died: still "running" from 00:30 that day.
		if _, _, err := models.ClaimJobRun(ctx, db, "drafts", "2026-11-22", "dead", time.Date(2026, 11, 22, 0, 30, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		// Nothing ran on 23, 24 or 25 (an outage at 00:30).
		states, err := s.PeriodStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"2026-11-22": models.RunRunning, "2026-11-23": scheduler.StateMissed, "2026-11-24": scheduler.StateMissed, "2026-11-25": scheduler.StateMissed}
		if len(states) != len(want) {
			t.Fatalf("states %+v", states)
		}
		for _, st := range states {
			if want[st.Period] != st.State {
				t.Fatalf("%s is %s, want %s", st.Period, st.State, want[st.Period])
			}
		}
		if n := s.CatchUp(ctx); n != 4 {
			t.Fatalf("caught up %d periods (%v), want 4", n, ran)
		}
		runs, _ := models.JobRunsOf(ctx, db, "drafts", []string{"2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25"})
		if r := runs["2026-11-22"]; r.Outcome != models.RunOK || r.Attempts != 2 || r.Replica != "a" {
			t.Fatalf("dead run not taken over: %+v", r)
		}
		if r := runs["2026-11-24"]; r.Outcome != models.RunError || r.Attempts != 1 {
			t.Fatalf("failed run: %+v", r)
		}
		// A minute later the failure is not retried yet (RetryAfter 10 min)…
		now = now.Add(time.Minute)
		if n := s.CatchUp(ctx); n != 0 {
			t.Fatalf("retried after a minute: %v", ran)
		}
		// …after the pause it is, and the outage is over.
		now = now.Add(10 * time.Minute)
		delete(fail, "2026-11-24")
		if n := s.CatchUp(ctx); n != 1 {
			t.Fatalf("retry ran %d", n)
		}
		runs, _ = models.JobRunsOf(ctx, db, "drafts", []string{"2026-11-24"})
		if r := runs["2026-11-24"]; r.Outcome != models.RunOK || r.Attempts != 2 {
			t.Fatalf("retried run: %+v", r)
		}
		if states, _ := s.PeriodStates(ctx); len(states) != 0 {
			t.Fatalf("still not ok: %+v", states)
		}
		// Each ok period ran once more at most: nothing runs again.
		if n := s.CatchUp(ctx); n != 0 {
			t.Fatal("ok periods ran again")
		}
		if len(ran) != 5 {
			t.Fatalf("runs %v", ran)
		}
	})
}

// A running row younger than its timeout is left alone: the catch-up never
// runs a period another replica is still running.
func TestCatchUpLeavesLiveRunAlone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 0, 40, 0, 0, time.UTC)
		job := scheduler.Job{Name: "drafts", Daily: &scheduler.DailyAt{Hour: 0, Minute: 30}, Period: scheduler.DayPeriod, Timeout: time.Hour,
			Run: func(ctx context.Context, _ time.Time, period string) (string, error) { return "", nil }}
		job.Def = job.Daily.Def()
		s, err := scheduler.New(scheduler.Options{DB: db, Replica: "a", Now: func() time.Time { return now }, Location: time.UTC,
			LockKey: rand.Int64N(1 << 40), CatchupDays: -1}, []scheduler.Job{job})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := models.ClaimJobRun(ctx, db, "drafts", "2026-11-25", "b", now.Add(-10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if s.RunOnce(ctx, job) {
			t.Fatal("ran a period another replica is running")
		}
	})
}
