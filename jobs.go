package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"jianfu/app"
	"jianfu/models"
	"jianfu/scheduler"
)

// startJobs starts the scheduled jobs of this replica (bureau monitoring:
// report drafts, indicator snapshots, alerts, reminders, and a heartbeat
// every JOB_HEARTBEAT_EVERY, default 1m) and returns their stop function. On
// PostgreSQL every replica schedules them and the elected one runs them;
// each (job, period) runs once across replicas.
func startJobs(ctx context.Context, srv *app.Server) (func(), error) {
	every := time.Minute
	if v := os.Getenv("JOB_HEARTBEAT_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, err
		}
		every = d
	}
	hb, err := scheduler.HeartbeatJob(srv.DB, every)
	if err != nil {
		return nil, err
	}
	// JOB_CATCHUP_DAYS: how many days back missed or failed periods are run
	// again (default 3; -1 turns the catch-up off).
	catchup, err := scheduler.CatchupDaysFromEnv()
	if err != nil {
		return nil, err
	}
	s, err := scheduler.New(scheduler.Options{DB: srv.DB, Now: srv.Cfg.Now, CatchupDays: catchup}, append(append(append(scheduler.BureauJobs(srv.DB), scheduler.HousekeepingJobs(srv.DB)...), scheduler.StorageJobs(srv.DB)...), hb))
	if err != nil {
		return nil, err
	}
	s.Start()
	// The indicator rollups follow the writes through the outbox: drained
	// every IndicatorDrainInterval, periods rolled when the day changes.
	// Every replica runs the loop; an advisory lock lets one work at a time.
	rctx, stopRollups := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		now := srv.Cfg.Now
		if now == nil {
			now = time.Now
		}
		models.RunIndicatorRollups(rctx, srv.DB, models.IndicatorDrainInterval,
			func() string { return models.School{}.Today(now()) }, // the district default zone
			func(msg string, err error) {
				if rctx.Err() == nil {
					slog.Error(msg, "err", err)
				}
			})
	}()
	return func() {
		stopRollups()
		<-done
		if err := s.Stop(); err != nil {
			slog.Warn("scheduler stop", "err", err)
		}
	}, nil
}
