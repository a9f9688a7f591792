package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// IdempotencyKey is the first answer to a create sent with an
// Idempotency-Key header, kept so that a retry (the client saw a timeout, the
// save had committed) gets that answer again instead of a second record.
type IdempotencyKey struct {
	ID          int64 `gorm:"primaryKey"`
	UserID      int64
	IdemKey     string
	Route       string
	RequestHash string
	Status      int // 0 while the create is in flight (or its answer could not be recorded)
	ContentType string
	Body        string
	CreatedAt   time.Time
}

// IdempotencyTTL is how long an answer is kept for replay.
const IdempotencyTTL = 24 * time.Hour

// Errors of an Idempotency-Key.
var (
	// ErrIdempotencyMismatch: the key was used for another request (422).
	ErrIdempotencyMismatch = &Error{Kind: KindRule, Code: "idempotency_key_reused", MsgID: "error.idempotency_key_reused"}
	// ErrIdempotencyInFlight: the first request with the key has not answered
	// yet, or its answer was lost with the connection (409; the record, if any,
	// exists once only).
	ErrIdempotencyInFlight = &Error{Kind: KindConflict, Code: "idempotency_in_flight", MsgID: "error.idempotency_in_flight"}
)

// ValidIdempotencyKey: 1–200 printable ASCII characters.
func ValidIdempotencyKey(k string) bool {
	if k == "" || len(k) > 200 || !utf8.ValidString(k) {
		return false
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// RequestHash fingerprints a request (route and body) for its key.
func RequestHash(method, route string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + route + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// IdempotencyClaim is a request's key on its way to the database. Put into
// the request context (WithIdempotency), it is written by the first top-level
// Tx of the request inside that same transaction: the record and its key
// commit together or not at all, so a retry can never create a second record.
type IdempotencyClaim struct {
	UserID      int64
	Key         string
	Route       string
	RequestHash string

	mu        sync.Mutex
	binding   bool
	committed bool
}

// Committed reports whether the key was written with a committed transaction.
func (c *IdempotencyClaim) Committed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

type idemCtxKey struct{}

// WithIdempotency carries claim to the request's transactions.
func WithIdempotency(ctx context.Context, claim *IdempotencyClaim) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, claim)
}

func claimOf(ctx context.Context) *IdempotencyClaim {
	c, _ := ctx.Value(idemCtxKey{}).(*IdempotencyClaim)
	return c
}

// bind reserves the claim for one transaction; false when it is taken
// already (committed, or another transaction of the request is writing it).
func (c *IdempotencyClaim) bind() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.binding || c.committed {
		return false
	}
	c.binding = true
	return true
}

func (c *IdempotencyClaim) done(committed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.binding = false
	c.committed = c.committed || committed
}

func (c *IdempotencyClaim) insert(ctx context.Context, tx *gorm.DB) error {
	row := IdempotencyKey{UserID: c.UserID, IdemKey: c.Key, Route: c.Route, RequestHash: c.RequestHash, CreatedAt: time.Now().UTC()}
	if err := tx.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return ErrIdempotencyInFlight
		}
		return err
	}
	return nil
}

// inTransaction reports whether db is already a transaction (a nested Tx
// is a savepoint: the key belongs with the outermost one).
func inTransaction(db *gorm.DB) bool {
	_, ok := db.Statement.ConnPool.(gorm.TxCommitter)
	return ok
}

// LookupIdempotency returns the stored answer of (user, key), or nil.
func LookupIdempotency(ctx context.Context, db *gorm.DB, userID int64, key string) (*IdempotencyKey, error) {
	var k IdempotencyKey
	err := db.WithContext(ctx).Where("user_id = ? AND idem_key = ? AND created_at > ?", userID, key, time.Now().UTC().Add(-IdempotencyTTL)).
		Limit(1).Find(&k).Error
	if err != nil {
		return nil, err
	}
	if k.ID == 0 {
		return nil, nil
	}
	return &k, nil
}

// CompleteIdempotency records the answer of a successful create under its
// key. When no transaction of the request wrote the key (a create without
// Tx), it is written now.
func CompleteIdempotency(ctx context.Context, db *gorm.DB, c *IdempotencyClaim, status int, contentType, body string) error {
	if !c.Committed() {
		row := IdempotencyKey{UserID: c.UserID, IdemKey: c.Key, Route: c.Route, RequestHash: c.RequestHash, Status: status,
			ContentType: contentType, Body: body, CreatedAt: time.Now().UTC()}
		return db.WithContext(ctx).Create(&row).Error
	}
	return db.WithContext(ctx).Model(&IdempotencyKey{}).Where("user_id = ? AND idem_key = ?", c.UserID, c.Key).
		Updates(map[string]any{"status": status, "content_type": contentType, "body": body}).Error
}

// ReleaseIdempotency forgets a key whose request committed it and then
// failed (a later step refused): a retry runs the request again.
func ReleaseIdempotency(ctx context.Context, db *gorm.DB, c *IdempotencyClaim) error {
	if !c.Committed() {
		return nil
	}
	return db.WithContext(ctx).Where("user_id = ? AND idem_key = ? AND status = 0", c.UserID, c.Key).Delete(&IdempotencyKey{}).Error
}

// PurgeIdempotencyKeys deletes answers older than IdempotencyTTL.
func PurgeIdempotencyKeys(ctx context.Context, db *gorm.DB, now time.Time) (int64, error) {
	res := db.WithContext(ctx).Where("created_at < ?", now.UTC().Add(-IdempotencyTTL)).Delete(&IdempotencyKey{})
	return res.RowsAffected, res.Error
}
