package homework

// Orchestration of the homework area: operations that span several model calls,
// and the ownership checks next to the data they guard. Handlers bind, call
// one of these, and render.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
)

// todayData builds the teacher's "today": each class they teach or head
// with its total against the cap, what they set, and the form.
func (s *handlers) todayData(c echo.Context, date string, form hwForm) (_ *hwTodayData, err error) {
	defer models.Wrap(&err, "homework.todayData")
	ctx := c.Request().Context()
	v := app.ViewerOf(c)
	data := &hwTodayData{Date: date, Prev: app.ShiftDate(date, -1), Next: app.ShiftDate(date, 1), Kinds: policies.HomeworkKinds,
		Layers: policies.HomeworkLayers, Form: form}
	if data.Form.Date == "" {
		data.Form.Date = date
	}
	if data.Form.Kind == "" {
		data.Form.Kind, data.Form.Layer = policies.KindWritten, policies.LayerRequired
	}
	taught, err := models.SubjectsTaughtBy(ctx, s.DB, v.User.ID)
	if err != nil {
		return nil, err
	}
	subjects := map[int64][]string{}
	for _, t := range taught {
		subjects[t.ClassID] = append(subjects[t.ClassID], t.Subject)
	}
	labels := map[int64]string{}
	seen := map[int64]bool{}
	for _, g := range v.Grants {
		kind, key, _ := policies.ParseDomain(g.Domain)
		sid, _ := strconv.ParseInt(key, 10, 64)
		if kind != "school" || seen[sid] || (g.Role != policies.RoleTeacher && g.Role != policies.RoleHeadTeacher) {
			continue
		}
		seen[sid] = true
		classes, err := models.ClassesTaughtBy(ctx, s.DB, sid, v.User.ID)
		if err != nil {
			return nil, err
		}
		loads, err := s.classLoadsOn(ctx, sid, classes, date)
		if err != nil {
			return nil, err
		}
		for _, cl := range loads {
			l, capv := cl.Load, cl.Cap
			labels[cl.Class.ID] = cl.Class.Label()
			data.Classes = append(data.Classes, hwClassRow{ID: cl.Class.ID, Label: cl.Class.Label(), Name: cl.Class.Name, Total: l.TotalMinutes,
				All: l.AllMinutes, TakeHome: l.TakeHomeMinutes, Budget: cl.Budget, Cap: capv.Minutes, Rule: capv.Rule, Over: l.TotalMinutes > capv.Minutes,
				Head: cl.Class.HeadTeacherID != nil && *cl.Class.HeadTeacherID == v.User.ID, Subjects: strings.Join(subjects[cl.Class.ID], "、")})
			for _, subj := range subjects[cl.Class.ID] {
				data.Options = append(data.Options, hwOption{Value: fmt.Sprintf("%d|%s", cl.Class.ID, subj), Label: cl.Class.Label() + " " + subj})
			}
		}
	}
	mine, err := models.TeacherDayItems(ctx, s.DB, v.User.ID, date)
	if err != nil {
		return nil, err
	}
	for _, it := range toBoardItems(mine) {
		data.Mine = append(data.Mine, hwItemRow{boardItem: it, Class: labels[mineClass(mine, it.ID)], Withdrawn: mineStatus(mine, it.ID) == models.HomeworkWithdrawn})
	}
	return data, nil
}

func (s *handlers) weekData(c echo.Context, cl *models.Class, start string) (_ *hwWeekData, err error) {
	defer models.Wrap(&err, "homework.weekData")
	ctx := c.Request().Context()
	acc, err := s.ClassAccessOf(c, cl)
	if err != nil {
		return nil, err
	}
	// The week is the class's coordination page: its leaders, head teacher
	// and teachers (and overseers), not every teacher of the school (issue
	// 11, finding 11).
	if !acc.Staff() && !acc.Overseer {
		return nil, models.ErrNotFound
	}
	end := app.ShiftDate(start, 6)
	days, err := s.loadRange(c, cl, start, end)
	if err != nil {
		return nil, err
	}
	items, err := models.ClassRangeItems(ctx, s.DB, cl.ID, start, end)
	if err != nil {
		return nil, err
	}
	quotas, err := models.ClassQuotas(ctx, s.DB, cl.ID)
	if err != nil {
		return nil, err
	}
	subjects, err := models.SubjectsOfClass(ctx, s.DB, cl.ID)
	if err != nil {
		return nil, err
	}
	rules, err := models.LoadHomeworkRules(ctx, s.DB, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	capv := policies.CapFor(cl.Grade, policies.SchoolDay, rules.Limits)
	data := &hwWeekData{Class: *cl, Start: start, Prev: app.ShiftDate(start, -7), Next: app.ShiftDate(start, 7), Head: acc.Head,
		Cap: capv.Minutes, Rule: capv.Rule, BoardURL: fmt.Sprintf("/homework/classes/%d/board", cl.ID)}
	idx := map[string]int{}
	for i, d := range days {
		t, _ := time.Parse(models.DateLayout, d.Date)
		data.Days = append(data.Days, hwWeekDay{Date: d.Date, Weekday: weekdayIDs[t.Weekday()], Total: d.TotalMinutes, All: d.AllMinutes,
			Cap: d.CapMinutes, Over: d.OverCap, School: d.SchoolDay, TakeHome: d.TakeHomeMinutes, Budget: d.BudgetMinutes, Reported: d.ReportedMinutes,
			ReportedOver: d.ReportedMinutes != nil && *d.ReportedMinutes > reportedLimit(d)})
		idx[d.Date] = i
	}
	quotaOf := map[string]int{}
	for _, q := range quotas {
		quotaOf[q.Subject] = q.Minutes
		data.QuotaSum += q.Minutes
	}
	rows := map[string]*hwWeekRow{}
	var order []string
	row := func(name string) *hwWeekRow {
		if r, ok := rows[name]; ok {
			return r
		}
		r := &hwWeekRow{Subject: name, Cells: make([]hwWeekCell, len(days))}
		if m, ok := quotaOf[name]; ok {
			r.Quota = &m
		}
		rows[name] = r
		order = append(order, name)
		return r
	}
	for _, sj := range subjects {
		row(sj.Name)
		q := ""
		if m, ok := quotaOf[sj.Name]; ok {
			q = strconv.Itoa(m)
		}
		data.Quotas = append(data.Quotas, hwQuotaField{Subject: sj.Name, Minutes: q})
	}
	for _, it := range items {
		r := row(it.SubjectName)
		cell := &r.Cells[idx[it.Date]]
		cell.Minutes += it.Minutes
		cell.Items++
		if it.Counted {
			cell.Counted += it.Minutes
		}
	}
	for _, name := range order {
		data.Rows = append(data.Rows, *rows[name])
	}
	loads, err := models.ClassDayLoads(ctx, s.DB, cl.ID, start, end)
	if err != nil {
		return nil, err
	}
	var actual, est int
	for _, l := range loads {
		actual += l.FeedbackActualMinutes
		est += l.FeedbackEstimatedMinutes
		data.FeedbackCount += l.FeedbackCount
		data.RefusedInWeek += l.RefusedCount
		data.BedtimeInWeek += l.BedtimeStops
	}
	if est > 0 {
		data.HasFeedbackGap = true
		data.FeedbackRatio = fmt.Sprintf("%.2f", policies.GapRatio(actual, est))
	}
	// Estimate against reality per teacher and subject, over the four weeks
	// to the week's end: the head teacher's view, never other parents'.
	if data.Estimates, err = models.EstimateReality(ctx, s.DB, cl.SchoolID, cl.ID, app.ShiftDate(start, -21), end); err != nil {
		return nil, err
	}
	return data, nil
}

// reportedLimit is what a reported evening is held to: the all-kinds
// budget when set, else the counted cap (as the bureau's indicators do).
func reportedLimit(d loadDay) int {
	if d.BudgetMinutes != nil && *d.BudgetMinutes > 0 {
		return *d.BudgetMinutes
	}
	if d.CapMinutes > 0 {
		return d.CapMinutes
	}
	return 1 << 30 // grades 1–2 without a budget: no number to compare
}

// createHomework is the save path shared by the API and the form: the
// teacher must teach the class (else 404) and the subject there (else 403).
func (s *handlers) createHomework(c echo.Context, cl *models.Class, req homeworkRequest) (_ *models.HomeworkSaved, err error) {
	defer models.Wrap(&err, "homework.createHomework")
	ctx := c.Request().Context()
	acc, err := s.ClassAccessOf(c, cl)
	if err != nil {
		return nil, err
	}
	if !acc.Teaches {
		return nil, models.ErrNotFound
	}
	subj, err := models.SubjectByName(ctx, s.DB, req.Subject)
	if errors.Is(err, models.ErrNotFound) {
		return nil, models.Invalid("homework.unknown_subject", map[string]any{"Value": req.Subject})
	}
	if err != nil {
		return nil, err // the database failing is a 503, not "no such subject"
	}
	me := app.ViewerOf(c).User.ID
	ok, err := models.TeachesSubjectIn(ctx, s.DB, me, cl.ID, subj.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &models.Error{Kind: models.KindForbidden, Code: "subject_not_taught", MsgID: "homework.subject_not_taught",
			Params: map[string]any{"Subject": subj.Name}}
	}
	rules, err := models.LoadHomeworkRules(ctx, s.DB, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	return models.CreateHomework(ctx, s.DB, rules, cl, me, models.HomeworkInput{SubjectID: subj.ID, Date: req.Date,
		DueDate: req.DueDate, Title: req.Title, Details: req.Details, Minutes: req.Minutes, Kind: req.Kind,
		Layer: req.Layer, InSchool: req.InSchool})
}

// boardOf builds the board of a class-day: items, and the totals from the rollup.
func (s *handlers) boardOf(c echo.Context, cl *models.Class, date string) (_ *classDay, err error) {
	defer models.Wrap(&err, "homework.boardOf")
	ctx := c.Request().Context()
	rules, err := models.LoadHomeworkRules(ctx, s.DB, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	capv, err := rules.CapOn(ctx, s.DB, cl, date)
	if err != nil {
		return nil, err
	}
	items, err := models.ClassDayItems(ctx, s.DB, cl.ID, date)
	if err != nil {
		return nil, err
	}
	loads, err := models.ClassDayLoads(ctx, s.DB, cl.ID, date, date)
	if err != nil {
		return nil, err
	}
	out := &classDay{Date: date, Items: toBoardItems(items), CapMinutes: capv.Minutes, Rule: capv.Rule,
		BudgetMinutes: policies.TakeHomeBudgetFor(cl.Grade, rules.Limits)}
	if len(loads) == 1 {
		out.TotalMinutes, out.AllMinutes, out.TakeHomeMinutes = loads[0].TotalMinutes, loads[0].AllMinutes, loads[0].TakeHomeMinutes
	}
	out.OverCap = out.TotalMinutes > out.CapMinutes
	out.OverBudget = out.BudgetMinutes != nil && out.TakeHomeMinutes > *out.BudgetMinutes
	return out, nil
}
