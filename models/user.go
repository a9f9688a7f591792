package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"gorm.io/gorm"
)

// User is an account. Passwords are stored only as argon2id hashes.
type User struct {
	ID           int64     `gorm:"primaryKey" json:"id"`
	Username     string    `json:"username"`
	DisplayName  string    `json:"display_name"`
	PasswordHash string    `json:"-"`
	SchoolID     *int64    `json:"school_id,omitempty"`
	Disabled     bool      `json:"-"`
	CreatedAt    time.Time `json:"-"`
	UpdatedAt    time.Time `json:"-"`
}

// argon2id parameters (OWASP 2023 minimum: m=19 MiB, t=2, p=1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id PHC string for password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// MinPasswordLength is the shortest password accepted for a new account.
const MinPasswordLength = 8

// CreateUser creates an account with a hashed password.
func CreateUser(ctx context.Context, db *gorm.DB, username, displayName, password string, schoolID *int64) (*User, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > 64 {
		return nil, Invalid("user.username_invalid", nil)
	}
	if len(password) < MinPasswordLength {
		return nil, Invalid("user.password_too_short", map[string]any{"Min": MinPasswordLength})
	}
	h, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	if displayName == "" {
		displayName = username
	}
	u := &User{Username: username, DisplayName: displayName, PasswordHash: h, SchoolID: schoolID}
	if err := db.WithContext(ctx).Create(u).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return u, nil
}

// SetPassword replaces a user's password.
func SetPassword(ctx context.Context, db *gorm.DB, userID int64, password string) error {
	if len(password) < MinPasswordLength {
		return Invalid("user.password_too_short", map[string]any{"Min": MinPasswordLength})
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	res := db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"password_hash": h, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	// A new password ends every open session of the account.
	return db.WithContext(ctx).Where("user_id = ?", userID).Delete(&Session{}).Error
}

// UserByUsername loads an account by username.
func UserByUsername(ctx context.Context, db *gorm.DB, username string) (*User, error) {
	var u User
	if err := db.WithContext(ctx).Where("username = ?", username).First(&u).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &u, nil
}

// Session is a signed-in browser (kind cookie) or API client (kind bearer).
// Only the SHA-256 of its token is stored.
type Session struct {
	ID         int64 `gorm:"primaryKey"`
	TokenHash  string
	UserID     int64
	Kind       string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// Session kinds and lifetimes.
const (
	SessionCookie = "cookie"
	SessionBearer = "bearer"
	CookieTTL     = 12 * time.Hour
	BearerTTL     = 30 * 24 * time.Hour
)

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a random URL-safe token.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession starts a session and returns its token (shown once, stored hashed).
func CreateSession(ctx context.Context, db *gorm.DB, userID int64, kind, ip, ua string) (string, error) {
	token := NewToken()
	ttl := CookieTTL
	if kind == SessionBearer {
		ttl = BearerTTL
	}
	now := time.Now().UTC()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	s := Session{TokenHash: hashToken(token), UserID: userID, Kind: kind, IP: ip, UserAgent: ua,
		CreatedAt: now, ExpiresAt: now.Add(ttl), LastSeenAt: now}
	if err := db.WithContext(ctx).Create(&s).Error; err != nil {
		return "", err
	}
	return token, nil
}

// UserBySession resolves a token to its live session's user.
func UserBySession(ctx context.Context, db *gorm.DB, token, kind string) (*User, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	var s Session
	err := db.WithContext(ctx).Where("token_hash = ? AND kind = ? AND expires_at > ?", hashToken(token), kind, time.Now().UTC()).First(&s).Error
	if err != nil {
		return nil, NotFoundIf(err)
	}
	var u User
	if err := db.WithContext(ctx).First(&u, s.UserID).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	if u.Disabled {
		return nil, ErrNotFound
	}
	// Sliding expiry for browser sessions, written at most once a minute.
	if now := time.Now().UTC(); kind == SessionCookie && now.Sub(s.LastSeenAt) > time.Minute {
		db.WithContext(ctx).Model(&Session{}).Where("id = ?", s.ID).
			Updates(map[string]any{"last_seen_at": now, "expires_at": now.Add(CookieTTL)})
	}
	return &u, nil
}

// DeleteSession ends the session with this token.
func DeleteSession(ctx context.Context, db *gorm.DB, token string) error {
	return db.WithContext(ctx).Where("token_hash = ?", hashToken(token)).Delete(&Session{}).Error
}

// LoginFailure records a failed sign-in, for throttling.
type LoginFailure struct {
	ID        int64 `gorm:"primaryKey"`
	Username  string
	IP        string
	CreatedAt time.Time
}

// Throttle limits: failures within the window after which sign-in is refused.
const (
	ThrottleWindow     = 15 * time.Minute
	MaxFailuresPerUser = 5
	MaxFailuresPerIP   = 20
)

// ErrBadCredentials is returned for an unknown user or a wrong password alike.
var ErrBadCredentials = &Error{Kind: KindUnauthorized, Code: "bad_credentials", MsgID: "auth.bad_credentials"}

// Authenticate checks a username and password, throttled per account and per IP.
func Authenticate(ctx context.Context, db *gorm.DB, username, password, ip string) (*User, error) {
	since := time.Now().UTC().Add(-ThrottleWindow)
	var perUser, perIP int64
	if err := db.WithContext(ctx).Model(&LoginFailure{}).Where("username = ? AND created_at > ?", username, since).Count(&perUser).Error; err != nil {
		return nil, err
	}
	if err := db.WithContext(ctx).Model(&LoginFailure{}).Where("ip = ? AND created_at > ?", ip, since).Count(&perIP).Error; err != nil {
		return nil, err
	}
	if perUser >= MaxFailuresPerUser || perIP >= MaxFailuresPerIP {
		return nil, &Error{Kind: KindTooMany, Code: "too_many_attempts", MsgID: "auth.too_many_attempts",
			Params: map[string]any{"Minutes": int(ThrottleWindow.Minutes())}}
	}
	u, err := UserByUsername(ctx, db, username)
	ok := err == nil && !u.Disabled && CheckPassword(u.PasswordHash, password)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if !ok {
		if len(username) > 64 {
			username = username[:64]
		}
		db.WithContext(ctx).Create(&LoginFailure{Username: username, IP: ip, CreatedAt: time.Now().UTC()})
		return nil, ErrBadCredentials
	}
	db.WithContext(ctx).Where("username = ?", username).Delete(&LoginFailure{})
	return u, nil
}
