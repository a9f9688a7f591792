package scheduler

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/policies"
)

// FETImport is a school's own FET file to turn into after-school programs.
type FETImport struct {
	SchoolID int64
	TermID   int64 // 0: the current term
	Today    string
	File     *FETFile
	// Category (policies.ProgramCategories) and Capacity of every program.
	Category string
	Capacity int
	// FirstStart and PeriodMinutes place FET hours in the day when their
	// names are not clock times ("1", "1st", "Tiết 1"); 0 keeps FETGrid.
	FirstStart, PeriodMinutes int
	// Grades is used for an activity whose students sets name no grade.
	Grades []int
}

// FETImportReport says what an import did and what it left out.
type FETImportReport struct {
	Programs    []int64          `json:"programs"`
	Slots       int              `json:"slots"`
	Unplaced    []string         `json:"unplaced"` // activity groups the solver could not place (subject, first activity id)
	Unsupported []FETUnsupported `json:"unsupported"`
}

// ImportFET creates one program per FET activity group (a split activity's
// parts are the program's weekly slots): its subject as name, its teachers
// matched to the school's teachers by display name or user name, its grades
// from its students sets' year names ("4", "Grade 4", "四年级"), its room
// from the solution. The solver places the activities under the file's
// constraints (teachers, students sets, rooms, not-available times, breaks,
// min days, fixed starts); a group it cannot place is reported, not
// created. A teacher of the file who is not a teacher of the school, a
// weekend day in use or a program the after-school rules refuse stops the
// whole import: nothing is created. Unsupported constraints are returned by
// name and count.
func ImportFET(ctx context.Context, db *gorm.DB, in FETImport) (FETImportReport, error) {
	f := in.File
	rep := FETImportReport{Unsupported: f.Unsupported}
	p := f.Problem()
	start, step := f.FETGrid()
	if _, ok := clockStart(f.Hours[0]); !ok && in.PeriodMinutes > 0 {
		start, step = in.FirstStart, in.PeriodMinutes
	}
	p = regrid(p, f, start, step)
	teacherIDs, err := matchTeachers(ctx, db, in.SchoolID, f.Teachers)
	if err != nil {
		return rep, err
	}
	sol := Solve(p)
	unplaced := map[int64]bool{}
	for _, u := range sol.Unplaced {
		unplaced[u.ProgramID] = true
	}
	byAct := map[int64][]Placement{}
	for _, pl := range sol.Placements {
		byAct[pl.ProgramID] = append(byAct[pl.ProgramID], pl)
	}
	// Activity groups in file order.
	var order []int
	groups := map[int][]FETActivity{}
	for _, a := range f.Activities {
		if !a.Active {
			continue
		}
		g := a.GroupID
		if g == 0 {
			g = -a.ID
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], a)
	}
	yearOf := map[string]string{}
	for _, y := range f.Years {
		yearOf[y.Name] = y.Name
		for _, g := range y.Groups {
			yearOf[g.Name] = y.Name
			for _, s := range g.Subgroups {
				yearOf[s.Name] = y.Name
			}
		}
	}
	capacity := in.Capacity
	if capacity <= 0 {
		capacity = 40
	}
	err = models.Tx(ctx, db, func(tx *gorm.DB) error {
		for _, g := range order {
			acts := groups[g]
			var slots []policies.Slot
			room, missing := "", false
			for _, a := range acts {
				pls := byAct[int64(a.ID)]
				if unplaced[int64(a.ID)] || len(pls) == 0 {
					missing = true
					break
				}
				pl := pls[0]
				if pl.Weekday > 5 {
					return models.Invalid("as.fet.weekend", map[string]any{"Value": f.Days[pl.Weekday-1]})
				}
				slots = append(slots, policies.Slot{Weekday: pl.Weekday, Start: clock(pl.Start), End: clock(pl.End)})
				if room == "" {
					room = pl.Room
				}
			}
			if missing {
				rep.Unplaced = append(rep.Unplaced, fmt.Sprintf("%s #%d", acts[0].Subject, acts[0].ID))
				continue
			}
			var grades []int
			for _, s := range acts[0].Students {
				if gr := gradeOfName(yearOf[s]); gr > 0 && !slices.Contains(grades, gr) {
					grades = append(grades, gr)
				}
			}
			if len(grades) == 0 {
				grades = in.Grades
			}
			var tids []int64
			for _, t := range acts[0].Teachers {
				tids = append(tids, teacherIDs[t])
			}
			name := acts[0].Subject
			if len(acts[0].Students) > 0 {
				name += "（" + strings.Join(acts[0].Students, "、") + "）"
			}
			pr, err := models.CreateProgram(ctx, tx, models.ProgramInput{SchoolID: in.SchoolID, TermID: in.TermID, Today: in.Today,
				Name: name, Category: in.Category, Grades: grades, Capacity: capacity, Slots: slots, Room: room, RoomType: "classroom",
				TeacherIDs: tids, Description: fmt.Sprintf("FET activity %d", acts[0].ID)})
			if err != nil {
				return err
			}
			rep.Programs = append(rep.Programs, pr.ID)
			rep.Slots += len(slots)
		}
		return nil
	})
	if err != nil {
		return FETImportReport{Unsupported: f.Unsupported}, err
	}
	return rep, nil
}

// regrid moves a FET problem onto another clock (first start, period).
func regrid(p Problem, f *FETFile, start, step int) Problem {
	s0, st0 := f.FETGrid()
	if s0 == start && st0 == step {
		return p
	}
	at := func(m int) int { return start + (m-s0)/st0*step }
	move := func(ws []Window) []Window {
		out := make([]Window, len(ws))
		for i, w := range ws {
			out[i] = Window{Weekday: w.Weekday, Start: at(w.Start), End: at(w.End)}
		}
		return out
	}
	p.Step = step
	p.Windows, p.Breaks = move(p.Windows), move(p.Breaks)
	for i := range p.Rooms {
		p.Rooms[i].Unavailable = move(p.Rooms[i].Unavailable)
	}
	for i := range p.Instructors {
		p.Instructors[i].Unavailable = move(p.Instructors[i].Unavailable)
	}
	for i := range p.StudentSets {
		p.StudentSets[i].Unavailable = move(p.StudentSets[i].Unavailable)
	}
	for i := range p.Programs {
		p.Programs[i].Duration = p.Programs[i].Duration / st0 * step
		if p.Programs[i].Starts != nil {
			p.Programs[i].Starts = move(p.Programs[i].Starts)
		}
	}
	return p
}

// matchTeachers finds the school's teacher for every FET teacher name (by
// display name, then user name); names it cannot match refuse the import.
func matchTeachers(ctx context.Context, db *gorm.DB, schoolID int64, names []string) (map[string]int64, error) {
	var users []models.User
	if err := db.WithContext(ctx).Where("school_id = ? AND disabled = ?", schoolID, false).Order("id").Find(&users).Error; err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var missing []string
	for _, n := range names {
		for _, u := range users {
			if strings.TrimSpace(u.DisplayName) == n || u.Username == n {
				ok, err := models.IsTeacherOf(ctx, db, schoolID, u.ID)
				if err != nil {
					return nil, err
				}
				if ok {
					out[n] = u.ID
					break
				}
			}
		}
		if _, ok := out[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, models.Invalid("as.fet.unknown_teachers", map[string]any{"Names": strings.Join(missing, "、"), "Count": len(missing)})
	}
	return out, nil
}

// gradeOfName reads a grade from a year's name: its first number ("4",
// "Grade 4", "4年级") or a Chinese numeral before 年级 ("四年级").
func gradeOfName(name string) int {
	n, digits := 0, false
	for _, r := range name {
		if unicode.IsDigit(r) && r < 128 {
			n, digits = n*10+int(r-'0'), true
		} else if digits {
			break
		}
	}
	if digits {
		return n
	}
	for i, c := range []string{"一", "二", "三", "四", "五", "六", "七", "八", "九"} {
		if strings.Contains(name, c+"年级") {
			return i + 1
		}
	}
	return 0
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
