package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
	"gorm.io/gorm"

	"jianfu/models"
)

// JobHousekeeping names the nightly clean-up in job_runs.
const JobHousekeeping = "housekeeping"

// HousekeepingJobs: at 03:10 every night, idempotency answers older than
// models.IdempotencyTTL and throttle buckets idle for a day are deleted.
func HousekeepingJobs(db *gorm.DB) []Job {
	return []Job{{Name: JobHousekeeping, Def: gocron.CronJob("10 3 * * *", false), Period: DayPeriod,
		Run: func(ctx context.Context, now time.Time, period string) (string, error) {
			keys, err := models.PurgeIdempotencyKeys(ctx, db, now)
			if err != nil {
				return "", err
			}
			buckets, err := models.PurgeThrottles(ctx, db, now, 24*time.Hour)
			return fmt.Sprintf("idempotency keys %d, throttle buckets %d", keys, buckets), err
		}}}
}
