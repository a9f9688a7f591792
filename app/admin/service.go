package admin

// Orchestration of the admin area: operations that span several model calls,
// and the ownership checks next to the data they guard. Handlers bind, call
// one of these, and render.

import (
	"context"
	"strconv"
	"strings"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
)

// regionReach lists the region codes the viewer's grants allowing act on
// obj reach (nil: every region).
func (s *handlers) regionReach(ctx context.Context, v *app.Viewer, obj, act string) (_ []string, err error) {
	defer models.Wrap(&err, "admin.regionReach")
	sub := policies.UserSubject(v.User.ID)
	codes := []string{}
	for _, g := range v.Grants {
		ok, err := s.Authz.E.Enforce(sub, g.Domain, obj, act)
		if err != nil || !ok {
			continue
		}
		kind, key, _ := policies.ParseDomain(g.Domain)
		switch kind {
		case policies.AllDomains:
			return nil, nil
		case "region":
			sub, err := models.SubRegionCodes(ctx, s.DB, key)
			if err != nil {
				return nil, err
			}
			codes = append(codes, sub...)
		}
	}
	return codes, nil
}

func (s *handlers) schoolNames(ctx context.Context) (_ map[int64]string, err error) {
	defer models.Wrap(&err, "admin.schoolNames")
	var rows []models.School
	if err := s.DB.WithContext(ctx).Select("id", "name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

func (s *handlers) auditRows(ctx context.Context, logs []models.AuditLog) (_ []auditRow, err error) {
	defer models.Wrap(&err, "admin.auditRows")
	ids := map[int64]bool{}
	for _, l := range logs {
		if l.ActorID != nil {
			ids[*l.ActorID] = true
		}
	}
	actors := map[int64]string{}
	if len(ids) > 0 {
		keys := make([]int64, 0, len(ids))
		for id := range ids {
			keys = append(keys, id)
		}
		var users []models.User
		if err := s.DB.WithContext(ctx).Select("id", "username").Where("id IN ?", keys).Find(&users).Error; err != nil {
			return nil, err
		}
		for _, u := range users {
			actors[u.ID] = u.Username
		}
	}
	names, err := s.schoolNames(ctx)
	if err != nil {
		return nil, err
	}
	loc := models.School{}.Location()
	out := make([]auditRow, 0, len(logs))
	for _, l := range logs {
		r := auditRow{ID: l.ID, At: l.CreatedAt.In(loc).Format("2006-01-02 15:04:05"), Action: l.Action, Entity: l.Entity,
			EntityID: l.EntityID, Before: l.BeforeJSON, After: l.AfterJSON, RequestID: l.RequestID}
		if l.ActorID != nil {
			r.Actor = actors[*l.ActorID]
		}
		// A setting's id is "<scope>/<key>": name the scope, and let the page
		// name the key (it showed `region:210900/homework.take_home_budget`).
		if scope, key, ok := strings.Cut(l.EntityID, "/"); ok && l.Entity == "setting" {
			r.EntityID, r.SettingKey = scope, key
			if kind, code, ok := policies.ParseDomain(scope); ok {
				switch kind {
				case "region":
					if rg, err := models.GetRegion(ctx, s.DB, code); err == nil {
						r.EntityID = rg.Name
					}
				case "school":
					if id, err := strconv.ParseInt(code, 10, 64); err == nil {
						r.EntityID = names[id]
					}
				}
			}
		}
		if l.SchoolID != nil {
			r.SchoolID = *l.SchoolID
			r.School = names[*l.SchoolID]
		}
		out = append(out, r)
	}
	return out, nil
}
