package seed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/policies"
)

// After-school demo data: a vetted provider list, a service plan per school
// (most compliant; some end early or run four days so the bureau sees
// differences), programs per grade band, enrollments by guardians, and
// attendance for the past weeks. Plans and programs go through the model
// operations; enrollments and marks are inserted in bulk (checked against
// the same rules: grade, capacity, no clash) to keep seeding fast.

func init() { RegisterArea(seedAfterschool) }

type programTemplate struct {
	name, category, room, roomType string
	slots                          []policies.Slot
	capacity                       int
}

func afterschoolTemplates(band string) []programTemplate {
	hw := "作业辅导"
	return []programTemplate{
		{band + hw, policies.CatHomeworkGuidance, band + "教室", "classroom", []policies.Slot{{Weekday: 1, Start: "15:40", End: "16:40"}, {Weekday: 3, Start: "15:40", End: "16:40"}}, 60},
		{band + "足球社团", policies.CatSports, band + "操场", "field", []policies.Slot{{Weekday: 2, Start: "16:40", End: "17:40"}, {Weekday: 4, Start: "16:40", End: "17:40"}}, 30},
		{band + "书法", policies.CatArts, band + "书法室", "art", []policies.Slot{{Weekday: 1, Start: "16:40", End: "17:40"}}, 25},
		{band + "科学小实验", policies.CatScience, band + "实验室", "lab", []policies.Slot{{Weekday: 3, Start: "16:40", End: "17:40"}}, 25},
		{band + "阅读", policies.CatReading, band + "阅览室", "library", []policies.Slot{{Weekday: 5, Start: "15:40", End: "16:40"}}, 40},
	}
}

func seedAfterschool(ctx context.Context, db *gorm.DB, d *District) error {
	if err := models.PutSetting(ctx, db, 0, policies.RegionDomain("210900"), policies.SettingOffWorkTime, "17:30"); err != nil {
		return err
	}
	provider := models.Provider{RegionCode: "210900", Name: "阜新市青少年体育俱乐部", Services: "足球、篮球、田径", FeeStandard: "每次 3 元", VettedUntil: "2027-08-31"}
	if err := models.CreateProvider(ctx, db, &provider); err != nil {
		return err
	}
	other := models.Provider{RegionCode: "210902", Name: "海州区少儿美术中心", Services: "绘画、手工", FeeStandard: "每学期 150 元", VettedUntil: "2027-08-31"}
	if err := models.CreateProvider(ctx, db, &other); err != nil {
		return err
	}
	for i, sc := range d.Schools {
		if err := seedSchoolAfterschool(ctx, db, d, i, sc, provider.ID); err != nil {
			return fmt.Errorf("after-school %s: %w", sc.Name, err)
		}
	}
	return nil
}

func seedSchoolAfterschool(ctx context.Context, db *gorm.DB, d *District, idx int, sc models.School, providerID int64) error {
	term := d.Term[sc.ID]
	today := d.Opts.Today
	// The plan: compliant by default; some schools end at 17:00 (AS-02) or
	// run four days (AS-01), so the bureau's view shows differences.
	days := make([]policies.ServiceDay, 0, 5)
	end := "17:40"
	n := 5
	switch {
	case idx%5 == 3:
		end = "17:00"
	case idx%7 == 4:
		n = 4
	}
	for wd := 1; wd <= n; wd++ {
		days = append(days, policies.ServiceDay{Weekday: wd, Start: "15:40", End: end})
	}
	segs := []policies.ServiceSegment{{Kind: policies.SegHomeworkGuidance, Start: "15:40", End: "16:40"}, {Kind: policies.SegActivities, Start: "16:40", End: end}}
	if _, _, err := models.SaveServicePlan(ctx, db, models.PlanInput{SchoolID: sc.ID, TermID: term.ID, Days: days, Segments: segs, Today: today}); err != nil {
		return err
	}
	// Programs per grade band, each with its own teacher.
	type band struct {
		label  string
		grades []int
	}
	var bands []band
	grades := sc.Grades()
	if slices.Contains(grades, 1) {
		bands = append(bands, band{"低年级", []int{1, 2, 3}}, band{"高年级", []int{4, 5, 6}})
	}
	if slices.Contains(grades, 7) {
		junior := []int{7, 8, 9}
		if idx == 9 {
			junior = []int{7, 8} // this school offers nothing to 初三 (AS-03: grades offered)
		}
		bands = append(bands, band{"初中", junior})
	}
	teachers := d.Teachers[sc.ID]
	ti := 0
	var programs []models.Program
	for _, b := range bands {
		for _, t := range afterschoolTemplates(b.label) {
			in := models.ProgramInput{SchoolID: sc.ID, TermID: term.ID, Today: today, Name: t.name, Category: t.category, Grades: b.grades,
				Capacity: t.capacity, Slots: t.slots, Room: t.room, RoomType: t.roomType, Mode: models.ModeFirstCome,
				FeeUnit: policies.FeePerTerm}
			if t.roomType == "field" {
				in.FeeFen, in.FeeUnit = 300, policies.FeePerSession
				in.ProviderID, in.External = &providerID, "俱乐部教练"
			}
			if len(teachers) > 0 {
				in.TeacherIDs = []int64{teachers[ti%len(teachers)]}
				ti++
			}
			p, err := models.CreateProgram(ctx, db, in)
			if err != nil {
				return fmt.Errorf("program %s: %w", t.name, err)
			}
			programs = append(programs, *p)
		}
	}
	if idx%6 == 5 && len(bands) > 0 {
		// A name that looks like new lessons or drills (AS-06): it opens only
		// on the principal's written confirmation. The first such school's
		// principal confirmed it (the bureau sees the reason); the other's
		// still waits, and takes no enrollment.
		b := bands[len(bands)-1]
		p, err := models.CreateProgram(ctx, db, models.ProgramInput{SchoolID: sc.ID, TermID: term.ID, Today: today, Name: b.label + "数学培优班",
			Category: policies.CatClubs, Grades: b.grades, Capacity: 30, Slots: []policies.Slot{{Weekday: 5, Start: "16:40", End: "17:40"}},
			Room: b.label + "教室", RoomType: "classroom"})
		if err != nil {
			return err
		}
		if idx == 5 {
			by, err := models.UsersWithRole(ctx, db, policies.RolePrincipal, sc.ID)
			if err != nil {
				return err
			}
			if len(by) == 0 && len(teachers) > 0 {
				by = teachers[:1]
			}
			if len(by) > 0 {
				if p, err = models.ConfirmProgram(ctx, db, sc.ID, p.ID, by[0], "内容为数学思维游戏与作业答疑，不讲授新课、不刷题，教案已由教务处核对。"); err != nil {
					return err
				}
			}
		}
		programs = append(programs, *p)
	}
	// One school runs out of places: some guardians' requests stay on the
	// waitlist (AS-03, demand not met); elsewhere a full program's applicant
	// picks another or none.
	return seedEnrollmentsAndAttendance(ctx, db, d, sc, term, programs, idx == 1)
}

func seedEnrollmentsAndAttendance(ctx context.Context, db *gorm.DB, d *District, sc models.School, term *models.Term, programs []models.Program, waitlist bool) error {
	var students []models.Student
	if err := db.Where("school_id = ?", sc.ID).Order("id").Find(&students).Error; err != nil {
		return err
	}
	var links []models.Guardian
	if err := db.Where("school_id = ?", sc.ID).Find(&links).Error; err != nil {
		return err
	}
	guardianOf := map[int64]int64{}
	for _, g := range links {
		guardianOf[g.StudentID] = g.UserID
	}
	gradeOf := map[int64]int{}
	for _, c := range d.Classes[sc.ID] {
		gradeOf[c.ID] = c.Grade
	}
	slotsOf := map[int64][]policies.Slot{}
	for _, p := range programs {
		s, err := models.ProgramSlots(ctx, db, p.ID)
		if err != nil {
			return err
		}
		slotsOf[p.ID] = s
	}
	enrolled := map[int64]int{}
	waiting := map[int64]int{}
	now := time.Now().UTC()
	var rows []models.Enrollment
	members := map[int64][]int64{}
	for _, st := range students {
		if d.Rand.IntN(100) >= 75 { // about three in four take part (voluntary, AS-04)
			continue
		}
		g := gradeOf[st.ClassID]
		var eligible []models.Program
		for _, p := range programs {
			if p.Eligible(g) && p.Confirmation != models.ConfirmationPending {
				eligible = append(eligible, p)
			}
		}
		want := 1 + d.Rand.IntN(2)
		var holding []policies.Slot
		for k := 0; k < want && len(eligible) > 0; k++ {
			p := eligible[d.Rand.IntN(len(eligible))]
			if policies.AnyOverlap(holding, slotsOf[p.ID]) || slices.Contains(members[st.ID], p.ID) {
				continue
			}
			if !waitlist && enrolled[p.ID] >= p.Capacity {
				continue
			}
			gid := guardianOf[st.ID]
			e := models.Enrollment{SchoolID: sc.ID, ProgramID: p.ID, StudentID: st.ID, CreatedAt: now, UpdatedAt: now}
			if gid > 0 {
				e.RequestedBy = &gid
			}
			if enrolled[p.ID] < p.Capacity {
				e.Status = models.EnrollEnrolled
				enrolled[p.ID]++
			} else {
				waiting[p.ID]++
				e.Status, e.Position = models.EnrollWaitlisted, waiting[p.ID]
			}
			holding = append(holding, slotsOf[p.ID]...)
			members[st.ID] = append(members[st.ID], p.ID)
			rows = append(rows, e)
		}
	}
	days := d.Opts.Days
	if days <= 0 {
		days = 15 // three weeks of attendance
	}
	from := shiftDays(d.Opts.Today, -days*7/5)
	write := func(tx *gorm.DB) error {
		er := make([][]any, len(rows))
		for i, e := range rows {
			er[i] = []any{e.SchoolID, e.ProgramID, e.StudentID, e.Status, e.Position, e.RequestedBy, e.CreatedAt, e.UpdatedAt}
		}
		if err := bulkInsert(ctx, tx, "enrollments", []string{"school_id", "program_id", "student_id", "status", "position",
			"requested_by", "created_at", "updated_at"}, er); err != nil {
			return err
		}
		byProgram := map[int64][]int64{}
		for _, r := range rows {
			if r.Status == models.EnrollEnrolled {
				byProgram[r.ProgramID] = append(byProgram[r.ProgramID], r.StudentID)
			}
		}
		for _, p := range programs {
			if err := tx.Model(&models.Program{}).Where("id = ?", p.ID).Updates(map[string]any{"enrolled_count": enrolled[p.ID],
				"waitlist_count": waiting[p.ID], "queue_seq": waiting[p.ID]}).Error; err != nil {
				return err
			}
		}
		var sessions []models.ProgramSession
		if err := tx.Where("school_id = ? AND date >= ? AND date < ?", sc.ID, from, d.Opts.Today).Order("id").Find(&sessions).Error; err != nil {
			return err
		}
		var marks [][]any
		var cancelled []int64
		var counts []sessionCounts
		dates := map[string]bool{}
		for i, s := range sessions {
			dates[s.Date] = true
			if i%37 == 5 { // now and then a session is cancelled (weather, events)
				cancelled = append(cancelled, s.ID)
				continue
			}
			c := sessionCounts{id: s.ID}
			for _, sid := range byProgram[s.ProgramID] {
				status := models.AttPresent
				switch r := d.Rand.IntN(100); {
				case r < 4:
					status = models.AttAbsent
					c.absent++
				case r < 9:
					status = models.AttExcused
					c.excused++
				default:
					c.present++
				}
				marks = append(marks, []any{sc.ID, s.ID, sid, status, s.InstructorID, now})
			}
			counts = append(counts, c)
		}
		if len(cancelled) > 0 {
			if err := tx.Model(&models.ProgramSession{}).Where("id IN ?", cancelled).Updates(map[string]any{"status": models.SessionCancelled, "cancel_reason": "天气原因"}).Error; err != nil {
				return err
			}
		}
		if err := markSessions(tx, counts, now); err != nil {
			return err
		}
		if err := bulkInsert(ctx, tx, "session_attendance", []string{"school_id", "session_id", "student_id", "status", "marked_by", "marked_at"}, marks); err != nil {
			return err
		}
		if len(dates) > 0 {
			// The daily rollups of every date at once, as RefreshDailyRollup
			// counts them one date at a time.
			if err := tx.Exec(`INSERT INTO as_daily_rollups (school_id, date, sessions_held, sessions_cancelled, present, absent, excused)
				SELECT school_id, date,
					SUM(CASE WHEN status = 'scheduled' AND marked_at IS NOT NULL THEN 1 ELSE 0 END),
					SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END),
					SUM(CASE WHEN status = 'scheduled' THEN present_count ELSE 0 END),
					SUM(CASE WHEN status = 'scheduled' THEN absent_count ELSE 0 END),
					SUM(CASE WHEN status = 'scheduled' THEN excused_count ELSE 0 END)
				FROM program_sessions WHERE school_id = ? AND date IN ? GROUP BY school_id, date
				ON CONFLICT (school_id, date) DO UPDATE SET sessions_held = excluded.sessions_held,
					sessions_cancelled = excluded.sessions_cancelled, present = excluded.present, absent = excluded.absent, excused = excluded.excused`,
				sc.ID, sortedDates(dates)).Error; err != nil {
				return err
			}
		}
		return models.RefreshTermRollup(ctx, tx, sc.ID, term.ID)
	}
	if models.DialectOf(db) == models.Postgres {
		return write(db) // COPY needs its own connection, outside a transaction
	}
	return models.Tx(ctx, db, write)
}

type sessionCounts struct {
	id                       int64
	present, absent, excused int
}

// markSessions sets the counts of many held sessions in a few statements.
func markSessions(tx *gorm.DB, counts []sessionCounts, at time.Time) error {
	for i := 0; i < len(counts); i += 200 {
		batch := counts[i:min(i+200, len(counts))]
		var sb strings.Builder
		args := make([]any, 0, len(batch)*4+1)
		sb.WriteString("WITH v(id, p, a, e) AS (VALUES ")
		for j, c := range batch {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER))")
			args = append(args, c.id, c.present, c.absent, c.excused)
		}
		sb.WriteString(") UPDATE program_sessions SET present_count = v.p, absent_count = v.a, excused_count = v.e, marked_at = ? FROM v WHERE program_sessions.id = v.id")
		args = append(args, at)
		if err := tx.Exec(sb.String(), args...).Error; err != nil {
			return err
		}
	}
	return nil
}

func shiftDays(date string, n int) string {
	t, err := time.Parse(models.DateLayout, date)
	if err != nil {
		return date
	}
	return t.AddDate(0, 0, n).Format(models.DateLayout)
}

func sortedDates(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
