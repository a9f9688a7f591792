package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Throttle is one race-free counter: a row per bucket, bumped by a single
// upsert, so parallel requests each see their own count (never all the same
// stale one). Times are Unix milliseconds.
type Throttle struct {
	Bucket         string `gorm:"primaryKey"`
	Hits           int64
	WindowStartMs  int64
	BlockedUntilMs int64
}

func init() { All = append(All, &Throttle{}, &IdempotencyKey{}) }

// bump counts one hit in bucket within a fixed window starting at the first
// hit (a window older than window starts again at 1) and returns the row as it
// is after the hit. On PostgreSQL the upsert holds the row lock until the
// transaction ends, on SQLite the write lock is held from BEGIN: callers inside
// one transaction are serialized per bucket.
func bump(ctx context.Context, tx *gorm.DB, bucket string, window time.Duration, now time.Time) (Throttle, error) {
	nowMs := now.UnixMilli()
	stale := nowMs - window.Milliseconds()
	var t Throttle
	err := tx.WithContext(ctx).Raw(`INSERT INTO throttles (bucket, hits, window_start_ms, blocked_until_ms) VALUES (?, 1, ?, 0)
ON CONFLICT (bucket) DO UPDATE SET
  hits = CASE WHEN throttles.window_start_ms <= ? THEN 1 ELSE throttles.hits + 1 END,
  blocked_until_ms = CASE WHEN throttles.window_start_ms <= ? THEN 0 ELSE throttles.blocked_until_ms END,
  window_start_ms = CASE WHEN throttles.window_start_ms <= ? THEN excluded.window_start_ms ELSE throttles.window_start_ms END
RETURNING bucket, hits, window_start_ms, blocked_until_ms`, bucket, nowMs, stale, stale, stale).Scan(&t).Error
	return t, err
}

func setBlocked(ctx context.Context, tx *gorm.DB, bucket string, until time.Time) error {
	return tx.WithContext(ctx).Model(&Throttle{}).Where("bucket = ?", bucket).Update("blocked_until_ms", until.UnixMilli()).Error
}

// refund takes back one hit (a sign-in that succeeded is not a failure).
func refund(ctx context.Context, db *gorm.DB, bucket string) error {
	return db.WithContext(ctx).Model(&Throttle{}).Where("bucket = ? AND hits > 0", bucket).
		Update("hits", gorm.Expr("hits - 1")).Error
}

func clearBucket(ctx context.Context, db *gorm.DB, bucket string) error {
	return db.WithContext(ctx).Where("bucket = ?", bucket).Delete(&Throttle{}).Error
}

func tooMany(code, msgID string, wait time.Duration, params map[string]any) *Error {
	if wait < time.Second {
		wait = time.Second
	}
	if params == nil {
		params = map[string]any{}
	}
	params["Minutes"] = int((wait + time.Minute - 1) / time.Minute)
	params["Seconds"] = int((wait + time.Second - 1) / time.Second)
	return &Error{Kind: KindTooMany, Code: code, MsgID: msgID, Params: params, RetryAfter: wait,
		Details: map[string]any{"retry_after_seconds": params["Seconds"]}}
}

// Ready checks that the database answers a write (on SQLite a full disk or a
// read-only file fails here, where a ping would pass): the /readyz probe.
func Ready(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Exec(`INSERT INTO throttles (bucket, hits, window_start_ms, blocked_until_ms) VALUES ('readyz', 1, ?, 0)
ON CONFLICT (bucket) DO UPDATE SET window_start_ms = excluded.window_start_ms`, time.Now().UnixMilli()).Error
}

// PurgeThrottles deletes throttle buckets whose window ended before now −
// keep and that block nothing any more (they would start again at 1).
func PurgeThrottles(ctx context.Context, db *gorm.DB, now time.Time, keep time.Duration) (int64, error) {
	cut := now.Add(-keep).UnixMilli()
	res := db.WithContext(ctx).Where("window_start_ms < ? AND blocked_until_ms < ? AND bucket <> 'readyz'", cut, now.UnixMilli()).Delete(&Throttle{})
	return res.RowsAffected, res.Error
}
