package scheduler

import (
	"fmt"
	"slices"
	"sort"
)

// The after-school timetable solver: it places each program's weekly slots
// in the service plan's windows so that no room and no instructor is in two
// places at once, rooms have the right type, instructors are available, a
// program meets at most once a day, and each grade's options spread across
// the week. It is a deterministic greedy search (most constrained program
// first, best-scoring position for each slot) with no randomness: the same
// Problem gives the same Solution.

// Window is a weekday's service window in minutes after midnight (weekday
// 1 = Monday). It also serves as an instructor's unavailable interval.
type Window struct {
	Weekday int `json:"weekday"`
	Start   int `json:"start"`
	End     int `json:"end"`
}

// Room is a room and its type (classroom, gym, art, music, lab …).
type Room struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Instructor is a teacher with the times they cannot serve and the most
// minutes a week they may serve (AS-09 setting; 0 = no limit).
type Instructor struct {
	ID               string   `json:"id"`
	Unavailable      []Window `json:"unavailable"`
	MaxWeeklyMinutes int      `json:"max_weekly_minutes"`
}

// Task is a program to place: how many slots a week, how long each, the
// grades it serves, its instructor and the room type it needs.
type Task struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	SlotsPerWeek int    `json:"slots_per_week"`
	Duration     int    `json:"duration"`
	Grades       []int  `json:"grades"`
	Instructor   string `json:"instructor"`
	RoomType     string `json:"room_type"`
}

// Problem is a solver input. Step is the grid of start times in minutes
// (default 10).
type Problem struct {
	Windows     []Window     `json:"windows"`
	Rooms       []Room       `json:"rooms"`
	Instructors []Instructor `json:"instructors"`
	Programs    []Task       `json:"programs"`
	Step        int          `json:"step"`
}

// Placement is one slot of a program.
type Placement struct {
	ProgramID int64  `json:"program_id"`
	Weekday   int    `json:"weekday"`
	Start     int    `json:"start"`
	End       int    `json:"end"`
	Room      string `json:"room"`
}

// Reasons a program cannot be placed.
const (
	ReasonNoRoomOfType     = "no_room_of_type"
	ReasonWindowTooShort   = "window_too_short"
	ReasonNotEnoughDays    = "not_enough_days"
	ReasonInstructorHours  = "instructor_hours"
	ReasonInstructorAway   = "instructor_unavailable"
	ReasonInstructorBusy   = "instructor_busy"
	ReasonNoFreeRoom       = "no_free_room"
	ReasonUnknownReference = "unknown_instructor"
)

// Unplaced is a program the solver could not place, with the reason.
type Unplaced struct {
	ProgramID int64  `json:"program_id"`
	Reason    string `json:"reason"`
}

// Solution is the solver's answer.
type Solution struct {
	Placements []Placement `json:"placements"`
	Unplaced   []Unplaced  `json:"unplaced"`
}

type interval struct{ start, end int }

func overlaps(list []interval, s, e int) bool {
	for _, iv := range list {
		if s < iv.end && iv.start < e {
			return true
		}
	}
	return false
}

type state struct {
	p          *Problem
	roomBusy   map[string]map[int][]interval
	instrBusy  map[string]map[int][]interval
	instrAway  map[string]map[int][]interval
	instrMax   map[string]int
	instrUsed  map[string]int
	gradeLoad  map[int]map[int]int // grade → weekday → slots
	roomsOf    map[string][]string // type → room ids (sorted)
	windowOf   map[int]Window
	days       []int
	placements []Placement
}

func newState(p *Problem) *state {
	st := &state{p: p, roomBusy: map[string]map[int][]interval{}, instrBusy: map[string]map[int][]interval{},
		instrAway: map[string]map[int][]interval{}, instrMax: map[string]int{}, instrUsed: map[string]int{},
		gradeLoad: map[int]map[int]int{}, roomsOf: map[string][]string{}, windowOf: map[int]Window{}}
	for _, r := range p.Rooms {
		st.roomsOf[r.Type] = append(st.roomsOf[r.Type], r.ID)
		st.roomBusy[r.ID] = map[int][]interval{}
	}
	for t := range st.roomsOf {
		sort.Strings(st.roomsOf[t])
	}
	for _, in := range p.Instructors {
		st.instrBusy[in.ID] = map[int][]interval{}
		st.instrAway[in.ID] = map[int][]interval{}
		for _, u := range in.Unavailable {
			st.instrAway[in.ID][u.Weekday] = append(st.instrAway[in.ID][u.Weekday], interval{u.Start, u.End})
		}
		st.instrMax[in.ID] = in.MaxWeeklyMinutes
	}
	for _, w := range p.Windows {
		st.windowOf[w.Weekday] = w
		st.days = append(st.days, w.Weekday)
	}
	sort.Ints(st.days)
	return st
}

// candidate is a position for one slot.
type candidate struct {
	day, start int
	room       string
}

// candidates lists the free positions for task t, skipping days it already
// uses, and counts why positions were refused (for the reason).
func (st *state) candidates(t Task, usedDays []int, why map[string]int) []candidate {
	var out []candidate
	rooms := st.roomsOf[t.RoomType]
	for _, d := range st.days {
		if slices.Contains(usedDays, d) {
			continue
		}
		w := st.windowOf[d]
		for s := w.Start; s+t.Duration <= w.End; s += st.p.Step {
			e := s + t.Duration
			if t.Instructor != "" {
				if overlaps(st.instrAway[t.Instructor][d], s, e) {
					why[ReasonInstructorAway]++
					continue
				}
				if overlaps(st.instrBusy[t.Instructor][d], s, e) {
					why[ReasonInstructorBusy]++
					continue
				}
			}
			free := false
			for _, r := range rooms {
				if !overlaps(st.roomBusy[r][d], s, e) {
					out = append(out, candidate{d, s, r})
					free = true
				}
			}
			if !free {
				why[ReasonNoFreeRoom]++
			}
		}
	}
	return out
}

// score prefers days where the task's grades have few options yet (spread),
// then earlier starts, then rooms in order (stable, deterministic).
func (st *state) score(t Task, c candidate) int {
	load := 0
	for _, g := range t.Grades {
		load += st.gradeLoad[g][c.day]
	}
	return load*1000 + (c.start - st.windowOf[c.day].Start)
}

func (st *state) place(t Task, c candidate) {
	e := c.start + t.Duration
	st.roomBusy[c.room][c.day] = append(st.roomBusy[c.room][c.day], interval{c.start, e})
	if t.Instructor != "" {
		st.instrBusy[t.Instructor][c.day] = append(st.instrBusy[t.Instructor][c.day], interval{c.start, e})
		st.instrUsed[t.Instructor] += t.Duration
	}
	for _, g := range t.Grades {
		if st.gradeLoad[g] == nil {
			st.gradeLoad[g] = map[int]int{}
		}
		st.gradeLoad[g][c.day]++
	}
	st.placements = append(st.placements, Placement{ProgramID: t.ID, Weekday: c.day, Start: c.start, End: e, Room: c.room})
}

func removeInterval(list []interval, s, e int) []interval {
	for i, iv := range list {
		if iv.start == s && iv.end == e {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

func (st *state) unplace(t Task, pl Placement) {
	st.roomBusy[pl.Room][pl.Weekday] = removeInterval(st.roomBusy[pl.Room][pl.Weekday], pl.Start, pl.End)
	if t.Instructor != "" {
		st.instrBusy[t.Instructor][pl.Weekday] = removeInterval(st.instrBusy[t.Instructor][pl.Weekday], pl.Start, pl.End)
		st.instrUsed[t.Instructor] -= t.Duration
	}
	for _, g := range t.Grades {
		st.gradeLoad[g][pl.Weekday]--
	}
}

// precheck finds a reason no placement can exist, whatever the others do.
func (st *state) precheck(t Task) string {
	if t.Instructor != "" {
		if _, ok := st.instrBusy[t.Instructor]; !ok {
			return ReasonUnknownReference
		}
		if m := st.instrMax[t.Instructor]; m > 0 && st.instrUsed[t.Instructor]+t.SlotsPerWeek*t.Duration > m {
			return ReasonInstructorHours
		}
	}
	if len(st.roomsOf[t.RoomType]) == 0 {
		return ReasonNoRoomOfType
	}
	fits := 0
	for _, d := range st.days {
		if w := st.windowOf[d]; w.End-w.Start >= t.Duration {
			fits++
		}
	}
	if fits == 0 {
		return ReasonWindowTooShort
	}
	if fits < t.SlotsPerWeek {
		return ReasonNotEnoughDays
	}
	return ""
}

// Solve places the programs. Programs are taken most constrained first
// (fewest free positions at the start, then more slots, longer, by id); each
// slot goes to the best-scoring free position on a day the program does not
// use yet. A program that cannot get all its slots gets none and is reported.
func Solve(p Problem) Solution {
	if p.Step <= 0 {
		p.Step = 10
	}
	st := newState(&p)
	tasks := append([]Task(nil), p.Programs...)
	freedom := map[int64]int{}
	for _, t := range tasks {
		freedom[t.ID] = len(st.candidates(t, nil, map[string]int{}))
	}
	sort.SliceStable(tasks, func(i, j int) bool {
		a, b := tasks[i], tasks[j]
		fa, fb := freedom[a.ID]/max(a.SlotsPerWeek, 1), freedom[b.ID]/max(b.SlotsPerWeek, 1)
		if fa != fb {
			return fa < fb
		}
		if a.SlotsPerWeek*a.Duration != b.SlotsPerWeek*b.Duration {
			return a.SlotsPerWeek*a.Duration > b.SlotsPerWeek*b.Duration
		}
		return a.ID < b.ID
	})
	var sol Solution
	for _, t := range tasks {
		if r := st.precheck(t); r != "" {
			sol.Unplaced = append(sol.Unplaced, Unplaced{ProgramID: t.ID, Reason: r})
			continue
		}
		var days []int
		var mine []Placement
		reason := ""
		for k := 0; k < t.SlotsPerWeek; k++ {
			why := map[string]int{}
			cs := st.candidates(t, days, why)
			if len(cs) == 0 {
				reason = mainReason(why)
				break
			}
			best := cs[0]
			bs := st.score(t, best)
			for _, c := range cs[1:] {
				if s := st.score(t, c); s < bs {
					best, bs = c, s
				}
			}
			st.place(t, best)
			mine = append(mine, st.placements[len(st.placements)-1])
			days = append(days, best.day)
		}
		if reason != "" {
			for _, pl := range mine {
				st.unplace(t, pl)
			}
			st.placements = st.placements[:len(st.placements)-len(mine)]
			sol.Unplaced = append(sol.Unplaced, Unplaced{ProgramID: t.ID, Reason: reason})
		}
	}
	sol.Placements = st.placements
	sort.Slice(sol.Placements, func(i, j int) bool {
		a, b := sol.Placements[i], sol.Placements[j]
		if a.ProgramID != b.ProgramID {
			return a.ProgramID < b.ProgramID
		}
		return a.Weekday < b.Weekday
	})
	sort.Slice(sol.Unplaced, func(i, j int) bool { return sol.Unplaced[i].ProgramID < sol.Unplaced[j].ProgramID })
	return sol
}

// mainReason names the commonest refusal among a slot's positions.
func mainReason(why map[string]int) string {
	best, n := ReasonNoFreeRoom, -1
	for _, r := range []string{ReasonInstructorAway, ReasonInstructorBusy, ReasonNoFreeRoom} {
		if why[r] > n {
			best, n = r, why[r]
		}
	}
	return best
}

// Check lists the hard-constraint violations of a solution: room and
// instructor clashes, slots outside the windows, instructors at unavailable
// times, rooms of the wrong type or unknown, a program twice on one day, a
// program with the wrong number of slots or length, and (when MaxWeeklyMinutes
// is set) instructors over their weekly maximum. Programs reported unplaced
// are not counted as violations. Used for our solutions and FET's alike.
func Check(p Problem, sol Solution) []string {
	var out []string
	task := map[int64]Task{}
	for _, t := range p.Programs {
		task[t.ID] = t
	}
	roomType := map[string]string{}
	for _, r := range p.Rooms {
		roomType[r.ID] = r.Type
	}
	away := map[string][]Window{}
	maxMin := map[string]int{}
	for _, in := range p.Instructors {
		away[in.ID] = in.Unavailable
		maxMin[in.ID] = in.MaxWeeklyMinutes
	}
	win := map[int]Window{}
	for _, w := range p.Windows {
		win[w.Weekday] = w
	}
	count := map[int64]int{}
	days := map[[2]int64]bool{}
	used := map[string]int{}
	for i, a := range sol.Placements {
		t, ok := task[a.ProgramID]
		if !ok {
			out = append(out, fmt.Sprintf("placement of unknown program %d", a.ProgramID))
			continue
		}
		count[a.ProgramID]++
		if a.End-a.Start != t.Duration {
			out = append(out, fmt.Sprintf("program %d: slot length %d, want %d", a.ProgramID, a.End-a.Start, t.Duration))
		}
		if w, ok := win[a.Weekday]; !ok || a.Start < w.Start || a.End > w.End {
			out = append(out, fmt.Sprintf("program %d: day %d %d-%d outside the window", a.ProgramID, a.Weekday, a.Start, a.End))
		}
		if rt, ok := roomType[a.Room]; !ok || rt != t.RoomType {
			out = append(out, fmt.Sprintf("program %d: room %q is not of type %q", a.ProgramID, a.Room, t.RoomType))
		}
		for _, u := range away[t.Instructor] {
			if u.Weekday == a.Weekday && a.Start < u.End && u.Start < a.End {
				out = append(out, fmt.Sprintf("program %d: instructor %s unavailable day %d", a.ProgramID, t.Instructor, a.Weekday))
			}
		}
		k := [2]int64{a.ProgramID, int64(a.Weekday)}
		if days[k] {
			out = append(out, fmt.Sprintf("program %d: twice on day %d", a.ProgramID, a.Weekday))
		}
		days[k] = true
		used[t.Instructor] += t.Duration
		for _, b := range sol.Placements[i+1:] {
			if a.Weekday != b.Weekday || !(a.Start < b.End && b.Start < a.End) {
				continue
			}
			if a.Room == b.Room {
				out = append(out, fmt.Sprintf("room %s: programs %d and %d clash on day %d", a.Room, a.ProgramID, b.ProgramID, a.Weekday))
			}
			if tb := task[b.ProgramID]; t.Instructor != "" && t.Instructor == tb.Instructor {
				out = append(out, fmt.Sprintf("instructor %s: programs %d and %d clash on day %d", t.Instructor, a.ProgramID, b.ProgramID, a.Weekday))
			}
		}
	}
	unplaced := map[int64]bool{}
	for _, u := range sol.Unplaced {
		unplaced[u.ProgramID] = true
	}
	for _, t := range p.Programs {
		if !unplaced[t.ID] && count[t.ID] != t.SlotsPerWeek {
			out = append(out, fmt.Sprintf("program %d: %d slots placed, want %d", t.ID, count[t.ID], t.SlotsPerWeek))
		}
	}
	for id, m := range maxMin {
		if m > 0 && used[id] > m {
			out = append(out, fmt.Sprintf("instructor %s: %d minutes a week, max %d", id, used[id], m))
		}
	}
	sort.Strings(out)
	return out
}
