package models

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"
)

// Setting is one configurable value at a scope: "*", "region:<code>" or
// "school:<id>". A school's value wins over its regions', a sub-region's over
// its parent's; each area's policies decide whether a value is allowed
// (stricter than the official number, never looser).
type Setting struct {
	ID        int64 `gorm:"primaryKey"`
	Scope     string
	Key       string
	Value     string // JSON
	UpdatedBy *int64
	UpdatedAt time.Time
}

// PutSetting stores value (as JSON) for key at scope, auditing the change.
func PutSetting(ctx context.Context, db *gorm.DB, schoolID int64, scope, key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return Tx(ctx, db, func(tx *gorm.DB) error {
		var old Setting
		err := tx.Where("scope = ? AND key = ?", scope, key).First(&old).Error
		s := Setting{Scope: scope, Key: key, Value: string(b), UpdatedAt: time.Now().UTC()}
		if a, ok := ActorFrom(ctx); ok && a.UserID > 0 {
			s.UpdatedBy = &a.UserID
		}
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			if err := tx.Create(&s).Error; err != nil {
				return err
			}
			return Audit(ctx, tx, schoolID, "create", "setting", scope+"/"+key, nil, s)
		case err != nil:
			return err
		}
		if err := tx.Model(&Setting{}).Where("id = ?", old.ID).
			Updates(map[string]any{"value": s.Value, "updated_by": s.UpdatedBy, "updated_at": s.UpdatedAt}).Error; err != nil {
			return err
		}
		return Audit(ctx, tx, schoolID, "update", "setting", scope+"/"+key, old, s)
	})
}

// LookupSetting decodes into out the most specific value of key among scopes
// (most specific first). It reports the scope found, or "" when none is set.
func LookupSetting(ctx context.Context, db *gorm.DB, scopes []string, key string, out any) (string, error) {
	var rows []Setting
	if err := db.WithContext(ctx).Where("key = ? AND scope IN ?", key, scopes).Find(&rows).Error; err != nil {
		return "", err
	}
	for _, sc := range scopes {
		for _, r := range rows {
			if r.Scope == sc {
				return sc, json.Unmarshal([]byte(r.Value), out)
			}
		}
	}
	return "", nil
}

// SettingsAt lists every value of key along scopes, most specific first
// (used to check that a new value is not looser than an enclosing one).
func SettingsAt(ctx context.Context, db *gorm.DB, scopes []string, key string) (map[string]string, error) {
	var rows []Setting
	if err := db.WithContext(ctx).Where("key = ? AND scope IN ?", key, scopes).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Scope] = r.Value
	}
	return out, nil
}
