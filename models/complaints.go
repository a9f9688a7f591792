package models

import (
	"context"
	"crypto/rand"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

// Complaint is a report from a guardian or anyone with the public link
// (MON-04): the bureau triages it, assigns it to a school, the school
// answers, the bureau closes it with feedback the reporter reads with the
// tracking code.
type Complaint struct {
	ID              int64      `gorm:"primaryKey" json:"id"`
	TrackingCode    string     `json:"tracking_code"`
	RegionCode      string     `json:"region_code"`
	SchoolID        *int64     `json:"school_id"`
	SchoolName      string     `json:"school_name"` // as the reporter named it
	Category        string     `json:"category"`
	Body            string     `json:"body"`
	Anonymous       bool       `json:"anonymous"`
	ReporterName    string     `json:"reporter_name"`
	ReporterContact string     `json:"reporter_contact"`
	ReporterUserID  *int64     `json:"-"`
	ReporterIPHash  string     `json:"-"`
	Status          string     `json:"status"`
	DueDate         string     `json:"due_date"`
	TriageNote      string     `json:"triage_note"`
	FirstResponseAt *time.Time `json:"first_response_at"`
	AssignedAt      *time.Time `json:"assigned_at"`
	SchoolResponse  string     `json:"school_response"`
	RespondedAt     *time.Time `json:"responded_at"`
	Feedback        string     `json:"feedback"`
	ClosedAt        *time.Time `json:"closed_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// ComplaintInput is what a reporter files.
type ComplaintInput struct {
	RegionCode      string
	SchoolName      string
	Category        string
	Body            string
	Anonymous       bool
	ReporterName    string
	ReporterContact string
	ReporterUserID  int64
	IPHash          string // hash of the client address
	NetHash         string // hash of its network (IPv4 /24, IPv6 /48)
}

const trackingAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // no 0/O, 1/I

func newTrackingCode() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = trackingAlphabet[int(x)%len(trackingAlphabet)]
	}
	return "JF" + string(out)
}

// FileComplaint records a complaint and returns it with its tracking code.
// Filing is limited per client address (the form is public); an anonymous
// complaint keeps no name, contact or account.
func FileComplaint(ctx context.Context, db *gorm.DB, in ComplaintInput, now time.Time) (*Complaint, error) {
	in.Body = strings.TrimSpace(in.Body)
	if !policies.ValidComplaintCategory(in.Category) {
		return nil, Invalid("complaint.category_invalid", map[string]any{"Category": in.Category})
	}
	if n := utf8.RuneCountInString(in.Body); n < 5 || n > 4000 {
		return nil, Invalid("complaint.body_length", nil)
	}
	if utf8.RuneCountInString(in.SchoolName) > 100 || utf8.RuneCountInString(in.ReporterName) > 50 || utf8.RuneCountInString(in.ReporterContact) > 100 {
		return nil, Invalid("complaint.field_too_long", nil)
	}
	if _, err := GetRegion(ctx, db, in.RegionCode); err != nil {
		return nil, Invalid("complaint.region_invalid", nil)
	}
	c := Complaint{TrackingCode: newTrackingCode(), RegionCode: in.RegionCode, SchoolName: strings.TrimSpace(in.SchoolName), Category: in.Category,
		Body: in.Body, Anonymous: in.Anonymous, ReporterIPHash: in.IPHash, Status: policies.ComplaintSubmitted,
		DueDate: now.In(shanghai).AddDate(0, 0, policies.ComplaintAnswerDays).Format(DateLayout), CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	if !in.Anonymous {
		c.ReporterName, c.ReporterContact = strings.TrimSpace(in.ReporterName), strings.TrimSpace(in.ReporterContact)
		if in.ReporterUserID > 0 {
			c.ReporterUserID = &in.ReporterUserID
		}
	}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		// The limits count in the filing's own transaction, by one upsert per
		// bucket: parallel filings are serialized per bucket and a refused or
		// failed filing does not count.
		if err := complaintLimits(ctx, tx, in, now); err != nil {
			return err
		}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		return Audit(ctx, tx, 0, "file", "complaint", c.ID, nil, map[string]any{"region": c.RegionCode, "category": c.Category, "anonymous": c.Anonymous})
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func complaintLimits(ctx context.Context, tx *gorm.DB, in ComplaintInput, now time.Time) error {
	type limit struct {
		bucket string
		max    int64
	}
	var limits []limit
	if in.IPHash != "" {
		limits = append(limits, limit{"complaint-ip:" + in.IPHash, policies.ComplaintRateMax})
	}
	if in.NetHash != "" {
		limits = append(limits, limit{"complaint-net:" + in.NetHash, policies.ComplaintNetRateMax})
	}
	if in.ReporterUserID > 0 {
		limits = append(limits, limit{"complaint-user:" + strconv.FormatInt(in.ReporterUserID, 10), policies.ComplaintRateMax})
	}
	for _, l := range limits {
		row, err := bump(ctx, tx, l.bucket, policies.ComplaintRateWindow, now)
		if err != nil {
			return err
		}
		if row.Hits > l.max {
			return tooMany("too_many_complaints", "complaint.too_many",
				time.UnixMilli(row.WindowStartMs).Add(policies.ComplaintRateWindow).Sub(now), map[string]any{"Max": l.max})
		}
	}
	return nil
}

// ComplaintByCode finds a complaint by its tracking code.
func ComplaintByCode(ctx context.Context, db *gorm.DB, code string) (*Complaint, error) {
	var c Complaint
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return nil, ErrNotFound
	}
	if err := db.WithContext(ctx).Where("tracking_code = ?", code).First(&c).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &c, nil
}

// GetComplaint loads a complaint.
func GetComplaint(ctx context.Context, db *gorm.DB, id int64) (*Complaint, error) {
	var c Complaint
	if err := db.WithContext(ctx).First(&c, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &c, nil
}

// ComplaintsInRegions lists the complaints filed in regions (or assigned to
// their schools), optionally of one status ("open": not closed), newest first.
func ComplaintsInRegions(ctx context.Context, db *gorm.DB, codes []string, status string) ([]Complaint, error) {
	var out []Complaint
	q := db.WithContext(ctx).Where("region_code IN ?", codes)
	q = complaintStatus(q, status)
	err := q.Order("created_at DESC, id DESC").Limit(500).Find(&out).Error
	return out, err
}

// ComplaintsOfSchool lists the complaints assigned to a school.
func ComplaintsOfSchool(ctx context.Context, db *gorm.DB, schoolID int64, status string) ([]Complaint, error) {
	var out []Complaint
	q := complaintStatus(db.WithContext(ctx).Where("school_id = ?", schoolID), status)
	err := q.Order("created_at DESC, id DESC").Limit(500).Find(&out).Error
	return out, err
}

func complaintStatus(q *gorm.DB, status string) *gorm.DB {
	switch status {
	case "":
		return q
	case "open":
		return q.Where("status <> ?", policies.ComplaintClosed)
	}
	return q.Where("status = ?", status)
}

func changeComplaint(ctx context.Context, db *gorm.DB, id int64, now time.Time, action string, check func(c *Complaint) error, change func(c *Complaint, now time.Time) map[string]any) (*Complaint, error) {
	var out *Complaint
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var c Complaint
		q := tx
		if DialectOf(tx) == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.First(&c, id).Error; err != nil {
			return NotFoundIf(err)
		}
		if check != nil {
			if err := check(&c); err != nil {
				return err
			}
		}
		to, ok := policies.ComplaintTransition(c.Status, action)
		if !ok {
			return RuleError("complaint_state", "MON-04", "complaint.bad_state", map[string]any{"Status": c.Status}, map[string]any{"status": c.Status})
		}
		before := c
		now := now.UTC()
		cols := change(&c, now)
		c.Status, c.UpdatedAt = to, now
		cols["status"], cols["updated_at"] = to, now
		if c.FirstResponseAt == nil {
			c.FirstResponseAt = &now
			cols["first_response_at"] = now
		}
		if err := tx.Model(&Complaint{}).Where("id = ?", id).Updates(cols).Error; err != nil {
			return err
		}
		out = &c
		var school int64
		if c.SchoolID != nil {
			school = *c.SchoolID
		}
		return Audit(ctx, tx, school, action, "complaint", id, before, c)
	})
	return out, err
}

// AssignComplaint sends a complaint to a school of its region (the bureau's
// triage). The first triage is the complaint's first response.
func AssignComplaint(ctx context.Context, db *gorm.DB, id, schoolID int64, note string, now time.Time) (*Complaint, error) {
	return changeComplaint(ctx, db, id, now, "assign", func(c *Complaint) error {
		s, err := GetSchool(ctx, db, schoolID)
		if err != nil {
			return Invalid("complaint.school_invalid", nil)
		}
		codes, err := SubRegionCodes(ctx, db, c.RegionCode)
		if err != nil {
			return err
		}
		for _, code := range codes {
			if code == s.RegionCode {
				return nil
			}
		}
		return Invalid("complaint.school_invalid", nil)
	}, func(c *Complaint, now time.Time) map[string]any {
		c.SchoolID, c.TriageNote, c.AssignedAt = &schoolID, note, &now
		return map[string]any{"school_id": schoolID, "triage_note": note, "assigned_at": now}
	})
}

// RespondComplaint records the school's answer to a complaint assigned to it.
func RespondComplaint(ctx context.Context, db *gorm.DB, id, schoolID int64, response string, now time.Time) (*Complaint, error) {
	if strings.TrimSpace(response) == "" {
		return nil, Invalid("complaint.response_required", nil)
	}
	return changeComplaint(ctx, db, id, now, "respond", func(c *Complaint) error {
		if c.SchoolID == nil || *c.SchoolID != schoolID {
			return ErrNotFound
		}
		return nil
	}, func(c *Complaint, now time.Time) map[string]any {
		c.SchoolResponse, c.RespondedAt = response, &now
		return map[string]any{"school_response": response, "responded_at": now}
	})
}

// CloseComplaint closes a complaint with the feedback the reporter reads.
func CloseComplaint(ctx context.Context, db *gorm.DB, id int64, feedback string, now time.Time) (*Complaint, error) {
	if strings.TrimSpace(feedback) == "" {
		return nil, Invalid("complaint.feedback_required", nil)
	}
	return changeComplaint(ctx, db, id, now, "close", nil, func(c *Complaint, now time.Time) map[string]any {
		c.Feedback, c.ClosedAt = feedback, &now
		return map[string]any{"feedback": feedback, "closed_at": now}
	})
}

// Complaint indicator keys (group "complaints").
const (
	IndComplaintsOpen          = "cp.open"
	IndComplaintsOverdue       = "cp.overdue"
	IndComplaintsFirstResponse = "cp.first_response_hours_median"
	IndComplaintsClose         = "cp.close_hours_median"
	IndComplaintsFiled         = "cp.filed"
)

func init() {
	RegisterIndicators(IndicatorSource{
		Group: "complaints",
		Defs: []IndicatorDef{
			{Key: IndComplaintsFiled, Group: "complaints", MsgID: "ind.cp.filed", Unit: "count", Agg: AggSum, Rule: "MON-04"},
			{Key: IndComplaintsOpen, Group: "complaints", MsgID: "ind.cp.open", Unit: "count", Agg: AggSum, Rule: "MON-04"},
			{Key: IndComplaintsOverdue, Group: "complaints", MsgID: "ind.cp.overdue", Unit: "count", Agg: AggSum, Rule: "MON-04"},
			// A region's value is the schools' medians averaged, weighted by complaints filed.
			{Key: IndComplaintsFirstResponse, Group: "complaints", MsgID: "ind.cp.first_response", Unit: "hours", Agg: AggMean, WeightKey: IndComplaintsFiled, Rule: "MON-04"},
			{Key: IndComplaintsClose, Group: "complaints", MsgID: "ind.cp.close", Unit: "hours", Agg: AggMean, WeightKey: IndComplaintsFiled, Rule: "MON-04"},
		},
		Tables:  []string{"complaints"},
		Compute: complaintIndicators,
	})
}

// complaintIndicators gives each school's complaints: filed in [from, to]
// (and the median hours to first response and to close of those), and the
// ones still open at the end of to, and of those the ones past their due date.
func complaintIndicators(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	start, err1 := time.ParseInLocation(DateLayout, from, shanghai)
	end, err2 := time.ParseInLocation(DateLayout, to, shanghai)
	if err1 != nil || err2 != nil {
		return nil, Invalid("error.bad_date", map[string]any{"Value": from + ".." + to})
	}
	start, end = start.UTC(), end.AddDate(0, 0, 1).UTC()
	var rows []Complaint
	err := db.WithContext(ctx).Select("school_id, status, due_date, created_at, first_response_at, closed_at").
		Where("school_id IN ? AND created_at < ? AND (closed_at IS NULL OR closed_at >= ?)", schoolIDs, end, start).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	type acc struct {
		filed, open, overdue float64
		first, close         []float64
	}
	per := map[int64]*acc{}
	for _, c := range rows {
		a := per[*c.SchoolID]
		if a == nil {
			a = &acc{}
			per[*c.SchoolID] = a
		}
		if c.ClosedAt == nil || !c.ClosedAt.Before(end) {
			a.open++
			if c.DueDate < to {
				a.overdue++
			}
		}
		if c.CreatedAt.Before(start) {
			continue
		}
		a.filed++
		if c.FirstResponseAt != nil {
			a.first = append(a.first, c.FirstResponseAt.Sub(c.CreatedAt).Hours())
		}
		if c.ClosedAt != nil {
			a.close = append(a.close, c.ClosedAt.Sub(c.CreatedAt).Hours())
		}
	}
	out := map[int64]map[string]float64{}
	for _, id := range schoolIDs {
		m := map[string]float64{IndComplaintsFiled: 0, IndComplaintsOpen: 0, IndComplaintsOverdue: 0}
		if a := per[id]; a != nil {
			m[IndComplaintsFiled], m[IndComplaintsOpen], m[IndComplaintsOverdue] = a.filed, a.open, a.overdue
			if len(a.first) > 0 {
				m[IndComplaintsFirstResponse] = round4(median(a.first))
			}
			if len(a.close) > 0 {
				m[IndComplaintsClose] = round4(median(a.close))
			}
		}
		out[id] = m
	}
	return out, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ComplaintTimes is the region-wide measure of handling times (MON-04).
type ComplaintTimes struct {
	Filed              int     `json:"filed"`
	Open               int     `json:"open"`
	Overdue            int     `json:"overdue"`
	FirstResponseHours float64 `json:"first_response_hours_median"`
	CloseHours         float64 `json:"close_hours_median"`
}

// MeasureComplaints summarizes complaints (all of a region's) as of today.
func MeasureComplaints(cs []Complaint, today string) ComplaintTimes {
	var t ComplaintTimes
	var first, closeH []float64
	for _, c := range cs {
		t.Filed++
		if c.Status != policies.ComplaintClosed {
			t.Open++
			if c.DueDate < today {
				t.Overdue++
			}
		}
		if c.FirstResponseAt != nil {
			first = append(first, c.FirstResponseAt.Sub(c.CreatedAt).Hours())
		}
		if c.ClosedAt != nil {
			closeH = append(closeH, c.ClosedAt.Sub(c.CreatedAt).Hours())
		}
	}
	if len(first) > 0 {
		t.FirstResponseHours = round4(median(first))
	}
	if len(closeH) > 0 {
		t.CloseHours = round4(median(closeH))
	}
	return t
}
