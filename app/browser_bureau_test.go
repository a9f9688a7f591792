package app_test

import "fmt"

// Key pages of bureau monitoring, as each role sees them on a phone.
func init() {
	hz1 := func(path string) func(e *env) string {
		return func(e *env) string { return fmt.Sprintf(path, e.hz1().ID) }
	}
	browserPages = append(browserPages,
		browserPage{Name: "bureau/dashboard", User: "bureau.fuxin", Path: "/regions/210900", Want: []string{"“双减”监测看板", "区域汇总", "阜新市海州区实验学校", "逐周趋势"}},
		browserPage{Name: "bureau/dashboard-haizhou", User: "bureau.haizhou", Path: "/regions/210902", Want: []string{"海州区", "阜新市海州区第二小学"}},
		browserPage{Name: "bureau/reports", User: "bureau.fuxin", Path: "/regions/210900/reports?status=overdue", Want: []string{"学校报告", "逾期"}},
		browserPage{Name: "bureau/alerts", User: "bureau.haizhou", Path: "/regions/210902/alerts", Want: []string{"预警", "MON-04"}},
		browserPage{Name: "bureau/complaints", User: "bureau.haizhou", Path: "/regions/210902/complaints", Want: []string{"投诉举报", "转学校办理"}},
		browserPage{Name: "bureau/settings", User: "bureau.fuxin", Path: "/regions/210900/settings", Want: []string{"报告周期", "预警规则与阈值"}},
		browserPage{Name: "bureau/school", User: "principal.hz1", PathFor: hz1("/schools/%d/monitor"), Want: []string{"本学期指标", "班级作业量日历"}},
		browserPage{Name: "bureau/school-reports", User: "principal.hz1", PathFor: hz1("/schools/%d/reports"), Want: []string{"学校报告", "半月报"}},
		browserPage{Name: "bureau/school-complaints", User: "principal.hz1", PathFor: hz1("/schools/%d/complaints"), Want: []string{"投诉举报", "提交答复"}},
		browserPage{Name: "bureau/complaint-form", Path: "/complaints/new?region=210902", Want: []string{"投诉举报", "查询办理进度"}},
		browserPage{Name: "bureau/jobs", User: "admin", Path: "/admin/jobs", Want: []string{"定时任务运行记录"}},
	)
}
