package views

import "net/url"

// Form is the state of a refused form for its page: which form it was (a
// page may hold several), what was typed, and a message per field. Methods
// are nil-safe, so a page renders the same with no refusal.
type Form struct {
	Name    string            // which form of the page was submitted
	Values  url.Values        // what was typed
	Errors  map[string]string // field → message (in the user's language)
	Summary []string          // the message(s) at the top of the page
}

// Val is what was typed into field of form name (only when that form came back).
func (f *Form) Val(name, field string) string {
	if f == nil || f.Name != name {
		return ""
	}
	return f.Values.Get(field)
}

// Err is the message for field of form name.
func (f *Form) Err(name, field string) string {
	if f == nil || f.Name != name {
		return ""
	}
	return f.Errors[field]
}

// Is reports whether form name is the one that came back.
func (f *Form) Is(name string) bool { return f != nil && f.Name == name }
