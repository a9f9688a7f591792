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

// Room is a room and its type (classroom, gym, art, music, lab …), with
// the times it cannot be used.
type Room struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Unavailable []Window `json:"unavailable,omitempty"`
}

// StudentSet is a named set of students (a FET year, group or subgroup, or
// a class). Members are the smallest sets it is made of (itself when
// empty): two programs whose students sets share a member must not overlap.
type StudentSet struct {
	ID          string   `json:"id"`
	Members     []string `json:"members,omitempty"`
	Unavailable []Window `json:"unavailable,omitempty"`
}

// MinDaysRule keeps any two of its programs' slots at least Days days
// apart (FET's min days between activities at 100 %).
type MinDaysRule struct {
	Programs []int64 `json:"programs"`
	Days     int     `json:"days"`
}

// Instructor is a teacher with the times they cannot serve and the most
// minutes a week they may serve (AS-09 setting; 0 = no limit).
type Instructor struct {
	ID               string   `json:"id"`
	Unavailable      []Window `json:"unavailable"`
	MaxWeeklyMinutes int      `json:"max_weekly_minutes"`
}

// Task is a program to place: how many slots a week, how long each, the
// grades it serves, its instructor and the room type it needs. A task read
// from a FET file may also have more teachers (CoInstructors), students
// sets that must not be in two places at once, an explicit list of Rooms
// (instead of RoomType), no room at all (NoRoom), and the only Starts it
// may take (weekday and start; End is ignored).
type Task struct {
	ID            int64    `json:"id"`
	Name          string   `json:"name"`
	SlotsPerWeek  int      `json:"slots_per_week"`
	Duration      int      `json:"duration"`
	Grades        []int    `json:"grades"`
	Instructor    string   `json:"instructor"`
	RoomType      string   `json:"room_type"`
	CoInstructors []string `json:"co_instructors,omitempty"`
	Students      []string `json:"students,omitempty"`
	Rooms         []string `json:"rooms,omitempty"`
	NoRoom        bool     `json:"no_room,omitempty"`
	Starts        []Window `json:"starts,omitempty"`
}

// teachers lists the task's instructor and co-instructors.
func (t Task) teachers() []string {
	if t.Instructor == "" {
		return t.CoInstructors
	}
	if len(t.CoInstructors) == 0 {
		return []string{t.Instructor}[:1:1]
	}
	return append([]string{t.Instructor}, t.CoInstructors...)
}

// Problem is a solver input. Step is the grid of start times in minutes
// (default 10). Breaks are times no program may use.
type Problem struct {
	Windows     []Window      `json:"windows"`
	Rooms       []Room        `json:"rooms"`
	Instructors []Instructor  `json:"instructors"`
	Programs    []Task        `json:"programs"`
	Step        int           `json:"step"`
	StudentSets []StudentSet  `json:"student_sets,omitempty"`
	Breaks      []Window      `json:"breaks,omitempty"`
	MinDays     []MinDaysRule `json:"min_days,omitempty"`
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
	ReasonUnknownStudents  = "unknown_students"
	ReasonStudentsAway     = "students_unavailable"
	ReasonStudentsBusy     = "students_busy"
	ReasonFixedTime        = "fixed_time_taken"
	ReasonMinDays          = "min_days"
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
	roomAway   map[string]map[int][]interval
	breaks     map[int][]interval
	atoms      map[string][]string           // students set → members
	stuBusy    map[string]map[int][]interval // member → weekday → busy
	stuAway    map[string]map[int][]interval // member → weekday → unavailable
	minDays    map[int64][]MinDaysRule
	memberOf   map[int64][]string // task → its students sets' members (cached)
	candBuf    []candidate        // reused by candidates: its result is valid until the next call
	dayOf      map[int64][]int    // program → days of its placed slots
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
		gradeLoad: map[int]map[int]int{}, roomsOf: map[string][]string{}, windowOf: map[int]Window{},
		roomAway: map[string]map[int][]interval{}, breaks: map[int][]interval{}, atoms: map[string][]string{},
		stuBusy: map[string]map[int][]interval{}, stuAway: map[string]map[int][]interval{},
		minDays: map[int64][]MinDaysRule{}, dayOf: map[int64][]int{}, memberOf: map[int64][]string{}}
	for _, r := range p.Rooms {
		st.roomsOf[r.Type] = append(st.roomsOf[r.Type], r.ID)
		st.roomBusy[r.ID] = map[int][]interval{}
		st.roomAway[r.ID] = map[int][]interval{}
		for _, u := range r.Unavailable {
			st.roomAway[r.ID][u.Weekday] = append(st.roomAway[r.ID][u.Weekday], interval{u.Start, u.End})
		}
	}
	for _, b := range p.Breaks {
		st.breaks[b.Weekday] = append(st.breaks[b.Weekday], interval{b.Start, b.End})
	}
	for _, ss := range p.StudentSets {
		m := ss.Members
		if len(m) == 0 {
			m = []string{ss.ID}
		}
		st.atoms[ss.ID] = m
		for _, a := range m {
			if st.stuBusy[a] == nil {
				st.stuBusy[a], st.stuAway[a] = map[int][]interval{}, map[int][]interval{}
			}
		}
	}
	for _, ss := range p.StudentSets {
		for _, a := range st.atoms[ss.ID] {
			for _, u := range ss.Unavailable {
				st.stuAway[a][u.Weekday] = append(st.stuAway[a][u.Weekday], interval{u.Start, u.End})
			}
		}
	}
	for _, r := range p.MinDays {
		for _, id := range r.Programs {
			st.minDays[id] = append(st.minDays[id], r)
		}
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
// uses, and counts why positions were refused (for the reason). The slice
// is reused: it is valid until the next call.
func (st *state) candidates(t Task, usedDays []int, why map[string]int) []candidate {
	out := st.candBuf[:0]
	defer func() { st.candBuf = out[:0] }()
	rooms := st.roomsFor(t)
	teachers := t.teachers()
	members := st.membersOf(t)
	// Per day, the busy lists are looked up once (not per start time).
	var tAway, tBusy, mAway, mBusy, rBusy, rAway [][]interval
	for _, d := range st.days {
		if slices.Contains(usedDays, d) {
			continue
		}
		if st.tooClose(t, d) {
			why[ReasonMinDays]++
			continue
		}
		tAway, tBusy, mAway, mBusy, rBusy, rAway = tAway[:0], tBusy[:0], mAway[:0], mBusy[:0], rBusy[:0], rAway[:0]
		for _, in := range teachers {
			tAway, tBusy = append(tAway, st.instrAway[in][d]), append(tBusy, st.instrBusy[in][d])
		}
		for _, m := range members {
			mAway, mBusy = append(mAway, st.stuAway[m][d]), append(mBusy, st.stuBusy[m][d])
		}
		for _, r := range rooms {
			rBusy, rAway = append(rBusy, st.roomBusy[r][d]), append(rAway, st.roomAway[r][d])
		}
		breaks := st.breaks[d]
		w := st.windowOf[d]
	starts:
		for s := w.Start; s+t.Duration <= w.End; s += st.p.Step {
			e := s + t.Duration
			if t.Starts != nil && !slices.ContainsFunc(t.Starts, func(x Window) bool { return x.Weekday == d && x.Start == s }) {
				why[ReasonFixedTime]++
				continue
			}
			if overlaps(breaks, s, e) {
				continue
			}
			for i := range teachers {
				if overlaps(tAway[i], s, e) {
					why[ReasonInstructorAway]++
					continue starts
				}
				if overlaps(tBusy[i], s, e) {
					why[ReasonInstructorBusy]++
					continue starts
				}
			}
			for i := range members {
				if overlaps(mAway[i], s, e) {
					why[ReasonStudentsAway]++
					continue starts
				}
				if overlaps(mBusy[i], s, e) {
					why[ReasonStudentsBusy]++
					continue starts
				}
			}
			if t.NoRoom {
				out = append(out, candidate{d, s, ""})
				continue
			}
			free := false
			for i, r := range rooms {
				if !overlaps(rBusy[i], s, e) && !overlaps(rAway[i], s, e) {
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

// roomsFor lists the rooms a task may use: its own list, else the rooms of
// its type.
func (st *state) roomsFor(t Task) []string {
	if t.Rooms != nil {
		return t.Rooms
	}
	return st.roomsOf[t.RoomType]
}

// membersOf lists the smallest students sets a task occupies.
func (st *state) membersOf(t Task) []string {
	if len(t.Students) == 0 {
		return nil
	}
	if m, ok := st.memberOf[t.ID]; ok {
		return m
	}
	var out []string
	for _, s := range t.Students {
		for _, m := range st.atoms[s] {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	st.memberOf[t.ID] = out
	return out
}

// tooClose tells whether day d is nearer than a min-days rule allows to a
// day already used by another program of the rule.
func (st *state) tooClose(t Task, d int) bool {
	if len(st.minDays) == 0 {
		return false
	}
	for _, r := range st.minDays[t.ID] {
		for _, id := range r.Programs {
			if id == t.ID {
				continue
			}
			for _, od := range st.dayOf[id] {
				if abs(od-d) < r.Days {
					return true
				}
			}
		}
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
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
	if c.room != "" {
		st.roomBusy[c.room][c.day] = append(st.roomBusy[c.room][c.day], interval{c.start, e})
	}
	for _, in := range t.teachers() {
		st.instrBusy[in][c.day] = append(st.instrBusy[in][c.day], interval{c.start, e})
		st.instrUsed[in] += t.Duration
	}
	for _, m := range st.membersOf(t) {
		st.stuBusy[m][c.day] = append(st.stuBusy[m][c.day], interval{c.start, e})
	}
	st.dayOf[t.ID] = append(st.dayOf[t.ID], c.day)
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
	if pl.Room != "" {
		st.roomBusy[pl.Room][pl.Weekday] = removeInterval(st.roomBusy[pl.Room][pl.Weekday], pl.Start, pl.End)
	}
	for _, in := range t.teachers() {
		st.instrBusy[in][pl.Weekday] = removeInterval(st.instrBusy[in][pl.Weekday], pl.Start, pl.End)
		st.instrUsed[in] -= t.Duration
	}
	for _, m := range st.membersOf(t) {
		st.stuBusy[m][pl.Weekday] = removeInterval(st.stuBusy[m][pl.Weekday], pl.Start, pl.End)
	}
	if i := slices.Index(st.dayOf[t.ID], pl.Weekday); i >= 0 {
		st.dayOf[t.ID] = slices.Delete(st.dayOf[t.ID], i, i+1)
	}
	for _, g := range t.Grades {
		st.gradeLoad[g][pl.Weekday]--
	}
}

// precheck finds a reason no placement can exist, whatever the others do.
func (st *state) precheck(t Task) string {
	for _, in := range t.teachers() {
		if _, ok := st.instrBusy[in]; !ok {
			return ReasonUnknownReference
		}
		if m := st.instrMax[in]; m > 0 && st.instrUsed[in]+t.SlotsPerWeek*t.Duration > m {
			return ReasonInstructorHours
		}
	}
	for _, s := range t.Students {
		if _, ok := st.atoms[s]; !ok {
			return ReasonUnknownStudents
		}
	}
	if !t.NoRoom {
		rooms := st.roomsFor(t)
		if len(rooms) == 0 {
			return ReasonNoRoomOfType
		}
		for _, r := range rooms {
			if _, ok := st.roomBusy[r]; !ok {
				return ReasonNoRoomOfType
			}
		}
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
	sol.Unplaced = st.repair(p.Programs, sol.Unplaced)
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
	for _, r := range []string{ReasonInstructorAway, ReasonInstructorBusy, ReasonStudentsAway, ReasonStudentsBusy, ReasonFixedTime, ReasonMinDays, ReasonNoFreeRoom} {
		if why[r] > n {
			best, n = r, why[r]
		}
	}
	return best
}

// Check lists the hard-constraint violations of a solution: room,
// instructor and students-set clashes (two programs whose students sets
// share a member at overlapping times), slots outside the windows or in a
// break, instructors, students sets and rooms at unavailable times, rooms
// not allowed for the program (wrong type, not in its list, unknown), a
// program twice on one day, a program off its allowed starts, min-days
// rules broken, a program with the wrong number of slots or length, and
// (when MaxWeeklyMinutes is set) instructors over their weekly maximum.
// Programs reported unplaced are not counted as violations. Used for our
// solutions and FET's alike.
func Check(p Problem, sol Solution) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	task := map[int64]Task{}
	for _, t := range p.Programs {
		task[t.ID] = t
	}
	roomType := map[string]string{}
	roomAway := map[string][]Window{}
	for _, r := range p.Rooms {
		roomType[r.ID] = r.Type
		roomAway[r.ID] = r.Unavailable
	}
	away := map[string][]Window{}
	maxMin := map[string]int{}
	for _, in := range p.Instructors {
		away[in.ID] = in.Unavailable
		maxMin[in.ID] = in.MaxWeeklyMinutes
	}
	members := map[string][]string{}
	stuAway := map[string][]Window{}
	for _, ss := range p.StudentSets {
		members[ss.ID] = ss.Members
		if len(ss.Members) == 0 {
			members[ss.ID] = []string{ss.ID}
		}
		stuAway[ss.ID] = ss.Unavailable
	}
	membersOf := func(t Task) []string {
		var m []string
		for _, s := range t.Students {
			for _, a := range members[s] {
				if !slices.Contains(m, a) {
					m = append(m, a)
				}
			}
		}
		return m
	}
	hits := func(ws []Window, a Placement) bool {
		for _, u := range ws {
			if u.Weekday == a.Weekday && a.Start < u.End && u.Start < a.End {
				return true
			}
		}
		return false
	}
	win := map[int]Window{}
	for _, w := range p.Windows {
		win[w.Weekday] = w
	}
	count := map[int64]int{}
	days := map[[2]int64]bool{}
	dayOf := map[int64][]int{}
	used := map[string]int{}
	for i, a := range sol.Placements {
		t, ok := task[a.ProgramID]
		if !ok {
			bad("placement of unknown program %d", a.ProgramID)
			continue
		}
		count[a.ProgramID]++
		dayOf[a.ProgramID] = append(dayOf[a.ProgramID], a.Weekday)
		if a.End-a.Start != t.Duration {
			bad("program %d: slot length %d, want %d", a.ProgramID, a.End-a.Start, t.Duration)
		}
		if w, ok := win[a.Weekday]; !ok || a.Start < w.Start || a.End > w.End {
			bad("program %d: day %d %d-%d outside the window", a.ProgramID, a.Weekday, a.Start, a.End)
		}
		if hits(p.Breaks, a) {
			bad("program %d: day %d %d-%d in a break", a.ProgramID, a.Weekday, a.Start, a.End)
		}
		if t.Starts != nil && !slices.ContainsFunc(t.Starts, func(x Window) bool { return x.Weekday == a.Weekday && x.Start == a.Start }) {
			bad("program %d: day %d %d is not one of its allowed starts", a.ProgramID, a.Weekday, a.Start)
		}
		switch rt, known := roomType[a.Room]; {
		case t.NoRoom && a.Room == "":
		case a.Room != "" && !known:
			bad("program %d: unknown room %q", a.ProgramID, a.Room)
		case t.Rooms != nil && !slices.Contains(t.Rooms, a.Room):
			bad("program %d: room %q is not one of its rooms", a.ProgramID, a.Room)
		case t.Rooms == nil && !t.NoRoom && (!known || rt != t.RoomType):
			bad("program %d: room %q is not of type %q", a.ProgramID, a.Room, t.RoomType)
		}
		if a.Room != "" && hits(roomAway[a.Room], a) {
			bad("program %d: room %s unavailable day %d", a.ProgramID, a.Room, a.Weekday)
		}
		for _, in := range t.teachers() {
			if hits(away[in], a) {
				bad("program %d: instructor %s unavailable day %d", a.ProgramID, in, a.Weekday)
			}
			used[in] += t.Duration
		}
		for _, s := range t.Students {
			if hits(stuAway[s], a) {
				bad("program %d: students %s unavailable day %d", a.ProgramID, s, a.Weekday)
			}
		}
		k := [2]int64{a.ProgramID, int64(a.Weekday)}
		if days[k] {
			bad("program %d: twice on day %d", a.ProgramID, a.Weekday)
		}
		days[k] = true
		mine := membersOf(t)
		for _, b := range sol.Placements[i+1:] {
			if a.Weekday != b.Weekday || !(a.Start < b.End && b.Start < a.End) {
				continue
			}
			if a.Room != "" && a.Room == b.Room {
				bad("room %s: programs %d and %d clash on day %d", a.Room, a.ProgramID, b.ProgramID, a.Weekday)
			}
			tb := task[b.ProgramID]
			for _, in := range t.teachers() {
				if slices.Contains(tb.teachers(), in) {
					bad("instructor %s: programs %d and %d clash on day %d", in, a.ProgramID, b.ProgramID, a.Weekday)
				}
			}
			theirs := membersOf(tb)
			for _, m := range mine {
				if slices.Contains(theirs, m) {
					bad("students %s: programs %d and %d clash on day %d", m, a.ProgramID, b.ProgramID, a.Weekday)
				}
			}
		}
	}
	for _, r := range p.MinDays {
		for i, x := range r.Programs {
			for _, y := range r.Programs[i+1:] {
				for _, dx := range dayOf[x] {
					for _, dy := range dayOf[y] {
						if abs(dx-dy) < r.Days {
							bad("programs %d and %d: days %d and %d are less than %d days apart", x, y, dx, dy, r.Days)
						}
					}
				}
			}
		}
	}
	unplaced := map[int64]bool{}
	for _, u := range sol.Unplaced {
		unplaced[u.ProgramID] = true
	}
	for _, t := range p.Programs {
		if !unplaced[t.ID] && count[t.ID] != t.SlotsPerWeek {
			bad("program %d: %d slots placed, want %d", t.ID, count[t.ID], t.SlotsPerWeek)
		}
	}
	for id, m := range maxMin {
		if m > 0 && used[id] > m {
			bad("instructor %s: %d minutes a week, max %d", id, used[id], m)
		}
	}
	sort.Strings(out)
	return out
}

// repair tries to place what the greedy pass left out, one move deep: for
// an unplaced one-slot program, take out one placed one-slot program that
// shares a teacher, a students set or a room with it, place the first at
// its best position and put the second back at any other free position;
// undo when the second finds none. Passes repeat while they place more
// (at most repairPasses). Deterministic: programs and blockers are tried
// in id and placement order. Every move goes through candidates, so no
// hard constraint is ever broken.
func (st *state) repair(tasks []Task, unplaced []Unplaced) []Unplaced {
	task := map[int64]Task{}
	for _, t := range tasks {
		task[t.ID] = t
	}
	const repairPasses = 3
	for pass := 0; pass < repairPasses && len(unplaced) > 0; pass++ {
		var left []Unplaced
		for _, u := range unplaced {
			t := task[u.ProgramID]
			if t.SlotsPerWeek != 1 || u.Reason == ReasonUnknownReference || u.Reason == ReasonUnknownStudents ||
				u.Reason == ReasonNoRoomOfType || u.Reason == ReasonWindowTooShort || u.Reason == ReasonNotEnoughDays || u.Reason == ReasonInstructorHours {
				left = append(left, u)
				continue
			}
			if !st.ejectOne(t, task) {
				left = append(left, u)
			}
		}
		if len(left) == len(unplaced) {
			break
		}
		unplaced = left
	}
	return unplaced
}

// ejectOne places t by moving one placed one-slot program elsewhere.
func (st *state) ejectOne(t Task, task map[int64]Task) bool {
	teachers, members, rooms := t.teachers(), st.membersOf(t), st.roomsFor(t)
	for i := 0; i < len(st.placements); i++ {
		pl := st.placements[i]
		b := task[pl.ProgramID]
		if b.SlotsPerWeek != 1 || b.ID == t.ID {
			continue
		}
		shares := (pl.Room != "" && !t.NoRoom && slices.Contains(rooms, pl.Room)) ||
			slices.ContainsFunc(b.teachers(), func(x string) bool { return slices.Contains(teachers, x) }) ||
			slices.ContainsFunc(st.membersOf(b), func(x string) bool { return slices.Contains(members, x) })
		if !shares {
			continue
		}
		st.unplace(b, pl)
		st.placements = slices.Delete(st.placements, i, i+1)
		if c, ok := st.best(t); ok {
			st.place(t, c)
			if c2, ok := st.best(b); ok {
				st.place(b, c2)
				return true
			}
			st.unplace(t, st.placements[len(st.placements)-1])
			st.placements = st.placements[:len(st.placements)-1]
		}
		// Put b back where it was.
		st.place(b, candidate{pl.Weekday, pl.Start, pl.Room})
		last := st.placements[len(st.placements)-1]
		st.placements = slices.Insert(st.placements[:len(st.placements)-1], i, last)
	}
	return false
}

// best is the best-scoring free position of a one-slot task.
func (st *state) best(t Task) (candidate, bool) {
	cs := st.candidates(t, nil, map[string]int{})
	if len(cs) == 0 {
		return candidate{}, false
	}
	b, bs := cs[0], st.score(t, cs[0])
	for _, c := range cs[1:] {
		if s := st.score(t, c); s < bs {
			b, bs = c, s
		}
	}
	return b, true
}
