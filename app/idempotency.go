package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/models"
)

// HeaderIdempotencyKey is the header a client sends with a create it may retry.
const HeaderIdempotencyKey = "Idempotency-Key"

// teeWriter keeps a copy of the answer for the idempotency record.
type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

// IdempotentRoutes are the creates that honour an Idempotency-Key (issue 11:
// homework, feedback, enrollment, exam, complaint). Elsewhere the header is
// ignored: an answer carrying a secret (a sign-in token, a calendar link, a
// one-time password) must never be stored for replay.
var IdempotentRoutes = map[string]bool{
	"POST /api/v1/classes/:class/homework":  true,
	"POST /api/v1/homework/:id/feedback":    true,
	"POST /api/v1/classes/:class/feedback":  true,
	"POST /api/v1/programs/:id/enrollments": true,
	"POST /api/v1/schools/:school/exams":    true,
	"POST /api/v1/complaints":               true,
}

// idempotency gives the creates an optional Idempotency-Key: the same
// key and body answers the first answer again (Idempotent-Replayed: true)
// without running the create twice; the same key with another body is 422.
// The key is written in the create's own transaction (models.Tx), so a save
// that committed while its answer was lost cannot be made twice by a retry.
func (s *Server) idempotency(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		key := r.Header.Get(HeaderIdempotencyKey)
		if key == "" || !IdempotentRoutes[r.Method+" "+c.Path()] {
			return next(c)
		}
		if !models.ValidIdempotencyKey(key) {
			e := models.Invalid("error.idempotency_key_invalid", nil)
			e.Code = "idempotency_key_invalid"
			return e
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return echo.ErrStatusRequestEntityTooLarge
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var uid int64
		if v := ViewerOf(c); v != nil {
			uid = v.User.ID
		} else {
			key = "anon:" + c.RealIP() + ":" + key // anonymous clients do not share keys
		}
		claim := &models.IdempotencyClaim{UserID: uid, Key: key, Route: c.Path(), RequestHash: models.RequestHash(r.Method, r.URL.Path, body)}
		ctx := r.Context()
		if done, err := s.replay(c, claim); done || err != nil {
			return err
		}
		c.SetRequest(r.WithContext(models.WithIdempotency(ctx, claim)))
		tw := &teeWriter{ResponseWriter: c.Response().Writer}
		c.Response().Writer = tw
		err = next(c)
		c.Response().Writer = tw.ResponseWriter
		if errors.Is(err, models.ErrIdempotencyInFlight) {
			// Another request with the key committed first: answer as it did.
			if done, rerr := s.replay(c, claim); done || rerr != nil {
				return rerr
			}
			return err
		}
		status := c.Response().Status
		if err != nil || status < 200 || status >= 300 {
			if rerr := models.ReleaseIdempotency(context.WithoutCancel(ctx), s.DB, claim); rerr != nil {
				slog.Warn("idempotency key not released", "err", rerr, "request_id", RequestID(c))
			}
			return err
		}
		// The record is committed; keep its answer for a retry. The database
		// may just have gone away: try a few times within the request.
		ct := c.Response().Header().Get(echo.HeaderContentType)
		for i := 0; i < 5; i++ {
			if err = models.CompleteIdempotency(context.WithoutCancel(ctx), s.DB, claim, status, ct, tw.buf.String()); err == nil {
				break
			}
			time.Sleep(time.Duration(100*(i+1)) * time.Millisecond)
		}
		if err != nil {
			slog.Warn("idempotency answer not recorded; a retry gets 409", "err", err, "request_id", RequestID(c))
		}
		return nil
	}
}

// replay answers from a stored record of the claim's key: true when it did
// (or refused: another body, or still in flight).
func (s *Server) replay(c echo.Context, claim *models.IdempotencyClaim) (bool, error) {
	k, err := models.LookupIdempotency(c.Request().Context(), s.DB, claim.UserID, claim.Key)
	if err != nil {
		return true, models.Unavailable(err)
	}
	if k == nil {
		return false, nil
	}
	if k.RequestHash != claim.RequestHash {
		return true, models.ErrIdempotencyMismatch
	}
	if k.Status == 0 {
		return true, models.ErrIdempotencyInFlight
	}
	c.Response().Header().Set("Idempotent-Replayed", "true")
	return true, c.Blob(k.Status, k.ContentType, []byte(k.Body))
}
