package policies

// Violation is one rule that says no (or flags), with its message id and
// parameters for the catalog. Blocking violations stop an action (an exam
// approval); the others are reported for a person to weigh.
type Violation struct {
	Rule     string         `json:"rule"`
	MsgID    string         `json:"-"`
	Params   map[string]any `json:"-"`
	Blocking bool           `json:"blocking"`
}
