package main

import (
	"context"
	"log/slog"

	"jianfu/app"
	"jianfu/scheduler"
)

// startJobs starts the scheduled jobs of this replica (bureau monitoring:
// report drafts, indicator snapshots, alerts, reminders) and returns their
// stop function. On PostgreSQL every replica starts them and the elected
// one runs them; each (job, period) runs once across replicas.
func startJobs(ctx context.Context, srv *app.Server) (func(), error) {
	s, err := scheduler.New(scheduler.Options{DB: srv.DB, Now: srv.Cfg.Now}, scheduler.BureauJobs(srv.DB))
	if err != nil {
		return nil, err
	}
	s.Start()
	return func() {
		if err := s.Stop(); err != nil {
			slog.Warn("scheduler stop", "err", err)
		}
	}, nil
}
