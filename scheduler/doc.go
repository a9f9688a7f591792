// Package scheduler runs the scheduled jobs (gocron v2; once per period
// across replicas) and holds the after-school timetable solver.
package scheduler
