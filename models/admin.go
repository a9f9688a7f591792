package models

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"jianfu/policies"
)

// This file holds what the admin pages do: create schools and accounts,
// grant roles, disable accounts, reset passwords, read the audit log. Every
// write is audited in its own transaction.

// NewSchool is what an admin enters to create a school.
type NewSchool struct {
	RegionCode  string
	Name        string
	Stage       string // primary, junior, nine_year
	Code        string // 10-digit national school code (学校标识码)
	OffWorkTime string // HH:MM, local end of the working day
	TimeZone    string // IANA name; empty means Asia/Shanghai
}

// DefaultTimeZone is a school's time zone unless the admin says otherwise.
const DefaultTimeZone = "Asia/Shanghai"

var schoolCodeRe = regexp.MustCompile(`^[0-9]{10}$`)

// Stages lists the school stages in display order.
var Stages = []string{StagePrimary, StageJunior, StageNineYear}

// Validate checks a new school field by field; the first problem is returned
// as a 400 naming the field.
func (n *NewSchool) Validate() error {
	n.Name, n.Code, n.RegionCode = strings.TrimSpace(n.Name), strings.TrimSpace(n.Code), strings.TrimSpace(n.RegionCode)
	n.OffWorkTime, n.TimeZone = strings.TrimSpace(n.OffWorkTime), strings.TrimSpace(n.TimeZone)
	if n.TimeZone == "" {
		n.TimeZone = DefaultTimeZone
	}
	switch {
	case n.Name == "" || utf8.RuneCountInString(n.Name) > 100:
		return Invalid("school.name_invalid", nil)
	case n.RegionCode == "":
		return Invalid("school.region_required", nil)
	case !schoolCodeRe.MatchString(n.Code):
		return Invalid("school.code_invalid", map[string]any{"Code": n.Code})
	case !isStage(n.Stage):
		return Invalid("school.stage_invalid", map[string]any{"Stage": n.Stage})
	case !isHHMM(n.OffWorkTime):
		return Invalid("school.off_work_invalid", map[string]any{"Value": n.OffWorkTime})
	}
	if _, err := time.LoadLocation(n.TimeZone); err != nil || !strings.Contains(n.TimeZone, "/") {
		return Invalid("school.time_zone_invalid", map[string]any{"Value": n.TimeZone})
	}
	return nil
}

func isStage(s string) bool {
	for _, x := range Stages {
		if x == s {
			return true
		}
	}
	return false
}

func isHHMM(s string) bool {
	_, err := time.Parse("15:04", s)
	return err == nil && len(s) == 5
}

// CreateSchool validates and creates a school in an existing region.
func CreateSchool(ctx context.Context, db *gorm.DB, n NewSchool) (*School, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	s := &School{RegionCode: n.RegionCode, Name: n.Name, Stage: n.Stage, Code: n.Code,
		OffWorkTime: n.OffWorkTime, TimeZone: n.TimeZone, CreatedAt: time.Now().UTC()}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		if _, err := GetRegion(ctx, tx, n.RegionCode); err != nil {
			if errors.Is(err, ErrNotFound) {
				return Invalid("school.region_unknown", map[string]any{"Code": n.RegionCode})
			}
			return err
		}
		var taken int64
		if err := tx.Model(&School{}).Where("code = ?", n.Code).Count(&taken).Error; err != nil {
			return err
		}
		if taken > 0 {
			return &Error{Kind: KindConflict, Code: "school_code_taken", MsgID: "school.code_taken", Params: map[string]any{"Code": n.Code}}
		}
		if err := tx.Create(s).Error; err != nil {
			return NotFoundIf(err)
		}
		return Audit(ctx, tx, s.ID, "create", "school", s.ID, nil, s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// RegionRow is a region with how many schools it holds directly.
type RegionRow struct {
	Region
	Schools int64
}

// RegionsWithSchoolCounts lists the regions with codes among codes (all when
// codes is nil), parents first.
func RegionsWithSchoolCounts(ctx context.Context, db *gorm.DB, codes []string) ([]RegionRow, error) {
	var regions []Region
	q := db.WithContext(ctx).Order("code")
	if codes != nil {
		q = q.Where("code IN ?", codes)
	}
	if err := q.Find(&regions).Error; err != nil {
		return nil, err
	}
	var counts []struct {
		RegionCode string
		N          int64
	}
	if err := db.WithContext(ctx).Model(&School{}).Select("region_code, count(*) AS n").Group("region_code").Scan(&counts).Error; err != nil {
		return nil, err
	}
	byCode := map[string]int64{}
	for _, c := range counts {
		byCode[c.RegionCode] = c.N
	}
	out := make([]RegionRow, 0, len(regions))
	for _, r := range regions {
		out = append(out, RegionRow{Region: r, Schools: byCode[r.Code]})
	}
	return out, nil
}

// NewAccount is what an admin enters to create an account.
type NewAccount struct {
	Username    string
	DisplayName string
	Password    string
	SchoolID    *int64 // home school, if any
	OneTime     bool   // a generated password: to be replaced at the first sign-in
}

// Usernames: lowercase letters, digits and . _ -, starting with a letter or digit.
var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// CreateAccount validates and creates an account, audited.
func CreateAccount(ctx context.Context, db *gorm.DB, n NewAccount) (*User, error) {
	n.Username, n.DisplayName = strings.TrimSpace(n.Username), strings.TrimSpace(n.DisplayName)
	if !usernameRe.MatchString(n.Username) {
		return nil, Invalid("account.username_invalid", map[string]any{"Username": n.Username})
	}
	if utf8.RuneCountInString(n.DisplayName) > 64 {
		return nil, Invalid("account.display_name_invalid", nil)
	}
	if len(n.Password) < MinPasswordLength || len(n.Password) > 256 {
		return nil, Invalid("user.password_too_short", map[string]any{"Min": MinPasswordLength})
	}
	var u *User
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var sid int64
		if n.SchoolID != nil {
			sid = *n.SchoolID
			if _, err := GetSchool(ctx, tx, sid); err != nil {
				if errors.Is(err, ErrNotFound) {
					return Invalid("account.school_unknown", map[string]any{"ID": sid})
				}
				return err
			}
		}
		var taken int64
		if err := tx.Model(&User{}).Where("username = ?", n.Username).Count(&taken).Error; err != nil {
			return err
		}
		if taken > 0 {
			return &Error{Kind: KindConflict, Code: "username_taken", MsgID: "account.username_taken", Params: map[string]any{"Username": n.Username}}
		}
		var err error
		if u, err = CreateUser(ctx, tx, n.Username, n.DisplayName, n.Password, n.SchoolID); err != nil {
			return err
		}
		if n.OneTime {
			if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("must_change_password", true).Error; err != nil {
				return err
			}
			u.MustChangePassword = true
		}
		return Audit(ctx, tx, sid, "create", "user", u.ID, nil, map[string]any{"username": u.Username,
			"display_name": u.DisplayName, "school_id": u.SchoolID, "one_time_password": n.OneTime})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// GetUser loads an account by id.
func GetUser(ctx context.Context, db *gorm.DB, id int64) (*User, error) {
	var u User
	if err := db.WithContext(ctx).First(&u, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &u, nil
}

func homeSchool(u *User) int64 {
	if u.SchoolID != nil {
		return *u.SchoolID
	}
	return 0
}

// ResetPassword sets a new password, ends the user's sessions, and audits
// the reset (never the password). oneTime marks a generated password that the
// user must replace at the next sign-in.
func ResetPassword(ctx context.Context, db *gorm.DB, userID int64, password string, oneTime bool) error {
	return Tx(ctx, db, func(tx *gorm.DB) error {
		u, err := GetUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := SetPassword(ctx, tx, userID, password); err != nil {
			return err
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("must_change_password", oneTime).Error; err != nil {
			return err
		}
		return Audit(ctx, tx, homeSchool(u), "password_reset", "user", userID, nil,
			map[string]any{"sessions_ended": true, "one_time_password": oneTime})
	})
}

// ChangeOwnPassword is a user replacing their password: the current one must
// match, the new one must differ. It clears the one-time mark and ends every
// session of the account (the caller signs in again).
func ChangeOwnPassword(ctx context.Context, db *gorm.DB, userID int64, current, next string) error {
	return Tx(ctx, db, func(tx *gorm.DB) error {
		u, err := GetUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if !CheckPassword(u.PasswordHash, current) {
			return Invalid("account.current_password_wrong", nil)
		}
		if next == current {
			return Invalid("account.password_unchanged", nil)
		}
		if err := SetPassword(ctx, tx, userID, next); err != nil {
			return err
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("must_change_password", false).Error; err != nil {
			return err
		}
		return Audit(ctx, tx, homeSchool(u), "password_change", "user", userID, nil, map[string]any{"sessions_ended": true})
	})
}

// SetDisabled disables (and signs out) or re-enables an account, audited.
func SetDisabled(ctx context.Context, db *gorm.DB, userID int64, disabled bool) error {
	return Tx(ctx, db, func(tx *gorm.DB) error {
		u, err := GetUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.Disabled == disabled {
			return nil
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"disabled": disabled, "updated_at": time.Now().UTC()}).Error; err != nil {
			return err
		}
		action := "enable"
		if disabled {
			action = "disable"
			// Sessions and the calendar link end for good: re-enabling the
			// account does not bring an old link back.
			if err := endCredentials(ctx, tx, userID); err != nil {
				return err
			}
		}
		return Audit(ctx, tx, homeSchool(u), action, "user", userID, map[string]bool{"disabled": u.Disabled}, map[string]bool{"disabled": disabled})
	})
}

// passwordAlphabet leaves out look-alikes (0/O, 1/l/I) so a password read
// aloud or copied from a screen survives.
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random 12-character password (about 69 bits).
func GeneratePassword() string {
	b := make([]byte, 12)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	return string(b)
}

// CheckGrant checks that role and domain fit together and that the domain's
// school or region exists: admin on *, bureau on a region, the school roles on
// a school.
func CheckGrant(ctx context.Context, db *gorm.DB, role, domain string) error {
	if !policies.IsRole(role) {
		return Invalid("user.role_unknown", map[string]any{"Role": role})
	}
	kind, key, ok := policies.ParseDomain(domain)
	if !ok {
		return Invalid("user.domain_invalid", map[string]any{"Domain": domain})
	}
	want := "school"
	switch role {
	case policies.RoleAdmin:
		want = policies.AllDomains
	case policies.RoleBureau:
		want = "region"
	}
	if kind != want {
		return Invalid("account.domain_mismatch", map[string]any{"Role": role, "Domain": domain})
	}
	switch kind {
	case "school":
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return Invalid("user.domain_invalid", map[string]any{"Domain": domain})
		}
		if _, err := GetSchool(ctx, db, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				return Invalid("account.school_unknown", map[string]any{"ID": key})
			}
			return err
		}
	case "region":
		if _, err := GetRegion(ctx, db, key); err != nil {
			if errors.Is(err, ErrNotFound) {
				return Invalid("school.region_unknown", map[string]any{"Code": key})
			}
			return err
		}
	}
	return nil
}

// UserQuery filters the account list.
type UserQuery struct {
	Search   string // part of the username or display name
	SchoolID int64  // home school; 0: any
	Limit    int
}

// ListUsers lists accounts matching q, by username.
func ListUsers(ctx context.Context, db *gorm.DB, q UserQuery) ([]User, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	tx := db.WithContext(ctx).Order("username").Limit(q.Limit)
	if s := strings.TrimSpace(q.Search); s != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s) + "%"
		tx = tx.Where(`username LIKE ? ESCAPE '\' OR display_name LIKE ? ESCAPE '\'`, like, like)
	}
	if q.SchoolID > 0 {
		tx = tx.Where("school_id = ?", q.SchoolID)
	}
	var out []User
	return out, tx.Find(&out).Error
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	Entity    string
	EntityID  string
	SchoolID  int64
	OnlyIn    []int64 // when not nil: only rows of these schools (a bureau's reach)
	Limit     int
	BeforeID  int64 // paging: rows older than this id
	ActorID   int64
	RequestID string
}

// ListAudit lists audit rows matching q, newest first.
func ListAudit(ctx context.Context, db *gorm.DB, q AuditQuery) ([]AuditLog, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	tx := db.WithContext(ctx).Order("id DESC").Limit(q.Limit)
	if q.Entity != "" {
		tx = tx.Where("entity = ?", q.Entity)
	}
	if q.EntityID != "" {
		tx = tx.Where("entity_id = ?", q.EntityID)
	}
	if q.SchoolID > 0 {
		tx = tx.Where("school_id = ?", q.SchoolID)
	}
	if q.OnlyIn != nil {
		tx = tx.Where("school_id IN ?", append(q.OnlyIn, 0))
	}
	if q.BeforeID > 0 {
		tx = tx.Where("id < ?", q.BeforeID)
	}
	if q.ActorID > 0 {
		tx = tx.Where("actor_id = ?", q.ActorID)
	}
	var out []AuditLog
	return out, tx.Find(&out).Error
}

// AuditEntities lists the entity names present in the audit log (for the filter).
func AuditEntities(ctx context.Context, db *gorm.DB) ([]string, error) {
	var out []string
	return out, db.WithContext(ctx).Model(&AuditLog{}).Distinct("entity").Order("entity").Pluck("entity", &out).Error
}
