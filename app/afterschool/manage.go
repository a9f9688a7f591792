package afterschool

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

// The academic director's management pages (the principal may use them too):
// the term's programs with a form to create one (slots, room, instructors,
// capacity, grades, fee), editing a program, its application window, fee
// waivers on the roster, and the lottery: a draw to look at, then publish.
// A refusal draws the same page again with what was typed (422).

func (s *handlers) managePages() {
	g := s.r.Group("")
	school := app.SchoolParam("school")
	program := app.SchoolOf("id", schoolOfRow[models.Program])
	enrollment := app.SchoolOf("id", schoolOfRow[models.Enrollment])
	s.r.Route(g, http.MethodGet, "/schools/:school/afterschool/programs", s.pagePrograms, app.Allow("program", "write", school))
	s.r.Route(g, http.MethodPost, "/schools/:school/afterschool/programs", s.postProgram, app.Allow("program", "write", school))
	s.r.Route(g, http.MethodGet, "/schools/:school/afterschool/lottery", s.pageLottery, app.Allow("program", "write", school))
	s.r.Route(g, http.MethodPost, "/schools/:school/afterschool/lottery", s.postLottery, app.Allow("program", "write", school))
	s.r.Route(g, http.MethodPost, "/afterschool/programs/:id/edit", s.postEditProgram, app.Allow("program", "write", program))
	s.r.Route(g, http.MethodPost, "/afterschool/programs/:id/window", s.postWindow, app.Allow("program", "write", program))
	s.r.Route(g, http.MethodPost, "/afterschool/enrollments/:id/waiver", s.postWaiver, app.Allow("enrollment", "write", enrollment))
}

func manageHomeLinks() []app.HomeLink {
	programs := func(g models.Grant) string {
		_, key, _ := policies.ParseDomain(g.Domain)
		return "/schools/" + key + "/afterschool/programs"
	}
	return []app.HomeLink{
		{Role: policies.RoleAcademic, Label: "as.nav.programs", Icon: "🧑‍🏫", URL: programs},
		{Role: policies.RoleAcademic, Label: "as.nav.lottery", Icon: "🎲", URL: func(g models.Grant) string {
			return strings.TrimSuffix(programs(g), "/programs") + "/lottery"
		}},
	}
}

type programsPage struct {
	School     models.School
	Term       models.Term
	Programs   []programRow
	Categories []string
	Grades     []int
	Teachers   []models.StaffMember
	Weekdays   []int
	Today      string
	Form       *views.Form
}

func (s *handlers) renderPrograms(c echo.Context, status int, form *views.Form, msg string) error {
	ctx := c.Request().Context()
	sc, term, today, err := s.SchoolTerm(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	ps, err := models.ProgramsOfTerm(ctx, s.DB, sc.ID, term.ID)
	if err != nil {
		return err
	}
	rows, _ := s.programRows(c, ps)
	staff, err := models.StaffOfSchool(ctx, s.DB, sc.ID)
	if err != nil {
		return err
	}
	data := programsPage{School: *sc, Term: *term, Programs: rows, Categories: policies.ProgramCategories, Grades: sc.Grades(),
		Teachers: staff, Weekdays: []int{1, 2, 3, 4, 5}, Today: today, Form: form}
	return s.RenderWithError(c, status, "afterschool/programs", "as.manage.title", msg, data)
}

func (s *handlers) pagePrograms(c echo.Context) error {
	return s.renderPrograms(c, http.StatusOK, nil, "")
}

// yuanToFen reads a fee typed in yuan ("12.5").
func yuanToFen(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 100000 {
		return 0, false
	}
	return int(math.Round(f * 100)), true
}

func formInts(c echo.Context, name string) []int {
	var out []int
	for _, v := range c.Request().Form[name] {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (s *handlers) postProgram(c echo.Context) error {
	fail := func(err error) error {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderPrograms(c, fe.Status, fe.Form(c, "program"), fe.Message)
		})
	}
	if err := c.Request().ParseForm(); err != nil {
		return fail(models.Invalid("error.bad_request", nil))
	}
	schoolID := app.TargetOf(c).SchoolID
	today, _, err := s.TodayAt(c, schoolID)
	if err != nil {
		return err
	}
	fee, ok := yuanToFen(c.FormValue("fee"))
	if !ok {
		return fail(models.InvalidField("fee", "as.program.bad_fee", nil))
	}
	capacity, _ := strconv.Atoi(strings.TrimSpace(c.FormValue("capacity")))
	var slots []policies.Slot
	f := c.Request().Form
	for i := range f["slot_weekday"] {
		if i >= len(f["slot_start"]) || i >= len(f["slot_end"]) || f["slot_weekday"][i] == "" {
			continue
		}
		wd, _ := strconv.Atoi(f["slot_weekday"][i])
		slots = append(slots, policies.Slot{Weekday: wd, Start: f["slot_start"][i], End: f["slot_end"][i]})
	}
	var teachers []int64
	for _, v := range f["instructor_ids"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			teachers = append(teachers, id)
		}
	}
	p, err := models.CreateProgram(c.Request().Context(), s.DB, models.ProgramInput{SchoolID: schoolID, Today: today,
		Name: c.FormValue("name"), Category: c.FormValue("category"), Description: c.FormValue("description"), Grades: formInts(c, "grades"),
		Capacity: capacity, Slots: slots, Room: c.FormValue("room"), TeacherIDs: teachers, Mode: c.FormValue("mode"),
		FeeFen: fee, FeeUnit: c.FormValue("fee_unit"), ApplyUntil: c.FormValue("apply_until")})
	if err != nil {
		return fail(programField(err))
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/programs/%d", p.ID), "as.manage.created")
}

// programField names the form field of a program refusal that does not
// carry one (the API's messages are the same).
func programField(err error) error {
	e, ok := models.AsError(err)
	if !ok || e.Field != "" {
		return err
	}
	field := map[string]string{"as.program.bad_name": "name", "as.program.bad_category": "category", "as.program.bad_capacity": "capacity",
		"as.program.no_grades": "grades", "as.program.bad_grade": "grades", "as.program.no_slots": "slot_weekday", "as.program.slots_overlap": "slot_weekday",
		"as.program.bad_fee": "fee", "as.program.apply_until_required": "apply_until", "error.bad_date": "apply_until",
		"as.program.bad_instructor": "instructor_ids", "as.program.teacher_hours": "instructor_ids"}[e.MsgID]
	if field == "" && strings.HasPrefix(e.MsgID, "as.plan.") {
		field = "slot_weekday"
	}
	out := *e
	out.Field = field
	return &out
}

// programOf is the program of a /afterschool/programs/:id route.
func (s *handlers) programOf(c echo.Context) (*models.Program, error) {
	id, err := app.ParamID(c, "id")
	if err != nil {
		return nil, err
	}
	return models.GetProgram(c.Request().Context(), s.DB, id)
}

func (s *handlers) postEditProgram(c echo.Context) error {
	p, err := s.programOf(c)
	if err != nil {
		return err
	}
	if err := c.Request().ParseForm(); err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	fee, ok := yuanToFen(c.FormValue("fee"))
	capacity, _ := strconv.Atoi(strings.TrimSpace(c.FormValue("capacity")))
	if !ok {
		err = models.InvalidField("fee", "as.program.bad_fee", nil)
	} else {
		_, err = models.UpdateProgram(c.Request().Context(), s.DB, p.SchoolID, p.ID, models.ProgramUpdate{Name: c.FormValue("name"),
			Description: c.FormValue("description"), Room: c.FormValue("room"), Capacity: capacity, Grades: formInts(c, "grades"),
			FeeFen: fee, FeeUnit: c.FormValue("fee_unit")})
	}
	if err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderProgram(c, fe.Status, fe.Form(c, "edit"), fe.Message)
		})
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/programs/%d", p.ID), "as.manage.saved")
}

func (s *handlers) postWindow(c echo.Context) error {
	p, err := s.programOf(c)
	if err != nil {
		return err
	}
	today, _, err := s.TodayAt(c, p.SchoolID)
	if err != nil {
		return err
	}
	until := strings.TrimSpace(c.FormValue("apply_until"))
	if c.FormValue("close") != "" {
		until = ""
	}
	if _, err := models.SetApplicationWindow(c.Request().Context(), s.DB, p.SchoolID, p.ID, until, today); err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderProgram(c, fe.Status, fe.Form(c, "window"), fe.Message)
		})
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/programs/%d", p.ID), "as.manage.window_saved")
}

func (s *handlers) postWaiver(c echo.Context) error {
	id, err := app.ParamID(c, "id")
	if err != nil {
		return err
	}
	en, err := models.GetEnrollment(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	if _, err := models.SetFeeWaiver(c.Request().Context(), s.DB, en.SchoolID, id, c.FormValue("waived") == "true"); err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			c.SetParamNames("id")
			c.SetParamValues(strconv.FormatInt(en.ProgramID, 10))
			return s.renderProgram(c, fe.Status, nil, fe.Message)
		})
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/programs/%d#roster", en.ProgramID), "as.manage.waiver_saved")
}

// --- lottery ----------------------------------------------------------------

type lotteryProgram struct {
	ID                 int64
	Name               string
	Capacity, Applied  int
	ApplyUntil         string
	Drawn              bool
	Winners, Waitlist  []string
	WaitlistCount, Won int
}

type lotteryPage struct {
	School   models.School
	Term     models.Term
	Programs []lotteryProgram
	Seed     string // the seed of the draw shown, to publish the same
	Drawn    bool   // a draw is shown
	Open     int    // programs still taking applications
}

func (s *handlers) renderLottery(c echo.Context, status int, seed string, msg string) error {
	ctx := c.Request().Context()
	sc, term, today, err := s.SchoolTerm(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	ps, err := models.ProgramsOfTerm(ctx, s.DB, sc.ID, term.ID)
	if err != nil {
		return err
	}
	data := lotteryPage{School: *sc, Term: *term, Seed: seed}
	var res policies.LotteryResult
	if seed != "" {
		n, _ := strconv.ParseUint(seed, 10, 64)
		if res, err = models.DrawLottery(ctx, s.DB, sc.ID, term.ID, n); err != nil {
			return err
		}
		data.Drawn = true
	}
	names := map[int64]string{}
	if data.Drawn {
		var sts []models.Student
		if err := s.DB.WithContext(ctx).Where("school_id = ?", sc.ID).Select("id, name").Find(&sts).Error; err != nil {
			return err
		}
		for _, st := range sts {
			names[st.ID] = st.Name
		}
	}
	for _, p := range ps {
		if p.Mode != models.ModeLottery {
			continue
		}
		lp := lotteryProgram{ID: p.ID, Name: p.Name, Capacity: p.Capacity, Applied: p.AppliedCount, ApplyUntil: p.ApplyUntil, Drawn: p.LotterySeed != ""}
		if lp.Drawn {
			lp.Won, lp.WaitlistCount = p.EnrolledCount, p.WaitlistCount
		}
		if !lp.Drawn && p.ApplyUntil >= today {
			data.Open++
		}
		if data.Drawn {
			for sid, pids := range res.Won {
				for _, pid := range pids {
					if pid == p.ID {
						lp.Winners = append(lp.Winners, names[sid])
					}
				}
			}
			for _, sid := range res.Waitlist[p.ID] {
				lp.Waitlist = append(lp.Waitlist, names[sid])
			}
		}
		data.Programs = append(data.Programs, lp)
	}
	return s.RenderWithError(c, status, "afterschool/lottery", "as.lottery.title", msg, data)
}

func (s *handlers) pageLottery(c echo.Context) error {
	return s.renderLottery(c, http.StatusOK, c.QueryParam("seed"), "")
}

// postLottery draws (a look, nothing written) or, with publish, runs the
// draw with the seed that was shown: the published result is the one seen.
func (s *handlers) postLottery(c echo.Context) error {
	seed := strings.TrimSpace(c.FormValue("seed"))
	if seed == "" {
		seed = strconv.FormatUint(models.NewSeed(), 10)
	}
	n, err := strconv.ParseUint(seed, 10, 64)
	if err != nil {
		return s.FormFailure(c, models.InvalidField("seed", "as.lottery.bad_seed", nil), func(fe app.FormError) error {
			return s.renderLottery(c, fe.Status, "", fe.Message)
		})
	}
	if c.FormValue("publish") == "" {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/schools/%d/afterschool/lottery?seed=%d", app.TargetOf(c).SchoolID, n))
	}
	schoolID := app.TargetOf(c).SchoolID
	_, term, _, err := s.SchoolTerm(c, schoolID)
	if err != nil {
		return err
	}
	if _, err := models.RunLottery(c.Request().Context(), s.DB, schoolID, term.ID, n); err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderLottery(c, fe.Status, seed, fe.Message)
		})
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/schools/%d/afterschool/lottery", schoolID), "as.lottery.published")
}
