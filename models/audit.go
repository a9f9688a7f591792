package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AuditLog records one write: who, what, when, and the state before and after.
type AuditLog struct {
	ID         int64 `gorm:"primaryKey"`
	SchoolID   *int64
	ActorID    *int64
	Action     string
	Entity     string
	EntityID   string
	BeforeJSON string
	AfterJSON  string
	RequestID  string
	CreatedAt  time.Time
}

// Actor is who is writing; it travels in the context.
type Actor struct {
	UserID    int64
	RequestID string
}

type actorKey struct{}

// WithActor returns a context that carries the acting user.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the acting user of ctx, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Audit writes an audit row in tx; call it inside the write's own transaction
// so a write and its record land together or not at all.
func Audit(ctx context.Context, tx *gorm.DB, schoolID int64, action, entity string, entityID any, before, after any) error {
	row := AuditLog{Action: action, Entity: entity, EntityID: fmt.Sprint(entityID), CreatedAt: time.Now().UTC()}
	if schoolID > 0 {
		row.SchoolID = &schoolID
	}
	if a, ok := ActorFrom(ctx); ok {
		if a.UserID > 0 {
			id := a.UserID
			row.ActorID = &id
		}
		row.RequestID = a.RequestID
	}
	if before != nil {
		b, err := json.Marshal(before)
		if err != nil {
			return err
		}
		row.BeforeJSON = string(b)
	}
	if after != nil {
		b, err := json.Marshal(after)
		if err != nil {
			return err
		}
		row.AfterJSON = string(b)
	}
	return tx.WithContext(ctx).Create(&row).Error
}

// AuditTrail lists the audit rows of one entity, oldest first.
func AuditTrail(ctx context.Context, db *gorm.DB, entity string, entityID any) ([]AuditLog, error) {
	var out []AuditLog
	err := db.WithContext(ctx).Where("entity = ? AND entity_id = ?", entity, fmt.Sprint(entityID)).Order("id").Find(&out).Error
	return out, err
}
