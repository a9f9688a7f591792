package seed

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/policies"
)

// Bureau demo data: complaints in every state, reports for past periods
// (accepted, submitted, returned and one overdue draft per few schools), and
// the alerts the indicators give. It runs after every area seeder, since
// reports and alerts read the other areas' indicators.
func init() { RegisterFinal(seedBureau) }

func seedBureau(ctx context.Context, db *gorm.DB, d *District) error {
	today, err := time.ParseInLocation(models.DateLayout, d.Opts.Today, shanghai())
	if err != nil {
		return err
	}
	ctx = models.WithActor(ctx, models.Actor{RequestID: "seed"})
	if err := seedComplaints(ctx, db, d, today); err != nil {
		return fmt.Errorf("complaints: %w", err)
	}
	if err := seedReports(ctx, db, d, today); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	if _, err := models.EvaluateAlerts(ctx, db, today); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	return nil
}

// seedReports creates the reports of the three semi-monthly periods before
// today's and the current draft, then moves the past ones through review.
func seedReports(ctx context.Context, db *gorm.DB, d *District, today time.Time) error {
	var principalOf = map[int64]int64{}
	for _, s := range d.Schools {
		ids, err := models.UsersWithRole(ctx, db, policies.RolePrincipal, s.ID)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			principalOf[s.ID] = ids[0]
		}
	}
	reviewer, err := models.UserByUsername(ctx, db, "bureau.fuxin")
	if err != nil {
		return err
	}
	var periods []policies.ReportPeriod
	day := today
	for i := 0; i < 4; i++ {
		p, err := policies.PeriodOf(policies.CycleSemiMonthly, day)
		if err != nil {
			return err
		}
		periods = append([]policies.ReportPeriod{p}, periods...)
		from, _ := time.Parse(models.DateLayout, p.From)
		day = from.AddDate(0, 0, -1)
	}
	for _, p := range periods {
		date := p.To
		if date > today.Format(models.DateLayout) {
			date = today.Format(models.DateLayout)
		}
		if _, err := models.EnsureReportDrafts(ctx, db, date); err != nil {
			return err
		}
	}
	narratives := []string{
		"本期各年级书面作业总量控制在规定时长内，课后服务按“5+2”开展，未发现违规考试。",
		"本期个别班级作业时长接近上限，已由班主任统筹调整；课后服务参与率稳步提高。",
		"本期开展作业设计教研两次，家长反馈作业时长总体合理。",
	}
	for pi, p := range periods[:len(periods)-1] {
		var reports []models.SchoolReport
		if err := db.WithContext(ctx).Where("cycle = ? AND period_key = ?", p.Cycle, p.Key).Order("school_id").Find(&reports).Error; err != nil {
			return err
		}
		for i, r := range reports {
			u := principalOf[r.SchoolID]
			if u == 0 {
				continue
			}
			// Older periods are settled; the latest past one has every state.
			state := "accepted"
			if pi == len(periods)-2 {
				state = []string{"overdue", "accepted", "submitted", "returned", "submitted"}[i%5]
			} else if i%7 == 3 {
				state = "returned"
			}
			if state == "overdue" {
				continue // left as a draft past its due date
			}
			text := narratives[(i+pi)%len(narratives)]
			if _, err := models.SubmitReport(ctx, db, r.ID, r.SchoolID, u, text); err != nil {
				return err
			}
			switch state {
			case "accepted":
				_, err = models.ReviewReport(ctx, db, r.ID, r.SchoolID, reviewer.ID, true, "")
			case "returned":
				_, err = models.ReviewReport(ctx, db, r.ID, r.SchoolID, reviewer.ID, false, "请补充课后服务参与率下降的原因和整改措施。")
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// seedComplaints files complaints in several states in the first schools'
// regions, with handling times spread over the past days.
func seedComplaints(ctx context.Context, db *gorm.DB, d *District, today time.Time) error {
	if len(d.Schools) == 0 {
		return nil
	}
	base := time.Date(today.Year(), today.Month(), today.Day(), 9, 0, 0, 0, shanghai())
	type plan struct {
		school            int // index in d.Schools
		category, body    string
		anonymous         bool
		daysAgo           int
		state             string // submitted, assigned, responded, closed
		respondH, closeH  int
		response, outcome string
	}
	plans := []plan{
		{0, policies.ComplaintHomeworkLoad, "四年级数学作业每天要做到晚上十点以后，孩子睡眠不足。", false, 12, "closed", 20, 70,
			"已核查，4年级部分数学作业超时，已要求班主任统筹并公示每日作业。", "经核查情况属实，学校已整改并公示每日作业总量，感谢您的监督。"},
		{0, policies.ComplaintAfterSchoolFees, "课后服务要求每个学生都参加，不参加要写说明。", true, 9, "assigned", 30, 0, "", ""},
		{1, policies.ComplaintExam, "学校每周五下午组织数学小测验并排名。", true, 3, "responded", 8, 0,
			"已停止周测，测验改为课堂练习，不排名。", ""},
		{2, policies.ComplaintOffCampusTraining, "小区里有机构周末给小学生上数学课。", false, 2, "submitted", 0, 0, "", ""},
		{3, policies.ComplaintOther, "课后服务结束时间太早，家长接不了孩子。", false, 6, "closed", 4, 50,
			"已将课后服务结束时间调整为17:40。", "学校已调整课后服务结束时间，与当地下班时间衔接。"},
		{0, policies.ComplaintHomeworkLoad, "一二年级布置了书面家庭作业。", true, 1, "submitted", 0, 0, "", ""},
	}
	for i, p := range plans {
		if p.school >= len(d.Schools) {
			continue
		}
		s := d.Schools[p.school]
		filed := base.AddDate(0, 0, -p.daysAgo).Add(time.Duration(i) * 37 * time.Minute)
		in := models.ComplaintInput{RegionCode: s.RegionCode, SchoolName: s.Name, Category: p.category, Body: p.body, Anonymous: p.anonymous,
			IPHash: fmt.Sprintf("seed-%d", i)}
		if !p.anonymous {
			in.ReporterName, in.ReporterContact = personName(d.Rand)+"家长", fmt.Sprintf("139%08d", d.Rand.IntN(100000000))
		}
		c, err := models.FileComplaint(ctx, db, in, filed)
		if err != nil {
			return err
		}
		if p.state == "submitted" {
			continue
		}
		assigned := filed.Add(time.Duration(p.respondH) * time.Hour)
		if _, err := models.AssignComplaint(ctx, db, c.ID, s.ID, "请学校核查并在3个工作日内答复。", assigned); err != nil {
			return err
		}
		if p.state == "assigned" {
			continue
		}
		if _, err := models.RespondComplaint(ctx, db, c.ID, s.ID, p.response, assigned.Add(20*time.Hour)); err != nil {
			return err
		}
		if p.state == "responded" {
			continue
		}
		if _, err := models.CloseComplaint(ctx, db, c.ID, p.outcome, filed.Add(time.Duration(p.closeH)*time.Hour)); err != nil {
			return err
		}
	}
	return nil
}
