package scores

import (
	"encoding/json"
	"fmt"
	"regexp"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
)

// Settings are a game's score settings, kept in the game's data JSON
// (Game.data, set with CreateGame/UpdateGame) under "scores":
//
//	{"scores": {"client_submit": true, "primary_type": "points",
//	            "types": {"time": "best_lowest", "laps": "sum"}}}
//
// client_submit (default false) lets players submit their own scores;
// primary_type (default "points") is what "overall" ranks by within the
// game; types maps a score_type to its operator: best_highest (default),
// best_lowest, latest or sum.
type Settings struct {
	ClientSubmit bool
	PrimaryType  string
	Types        map[string]eventspb.ScoreOperator
}

// DefaultType is the score_type of a submission or query that names none,
// and the default primary type.
const DefaultType = "points"

var typePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// ValidType reports whether t can name a score type (it is part of Redis
// keys and board ids, so no ':').
func ValidType(t string) bool { return typePattern.MatchString(t) }

var operators = map[string]eventspb.ScoreOperator{
	"best_highest": eventspb.ScoreOperator_SCORE_OPERATOR_BEST_HIGHEST,
	"best_lowest":  eventspb.ScoreOperator_SCORE_OPERATOR_BEST_LOWEST,
	"latest":       eventspb.ScoreOperator_SCORE_OPERATOR_LATEST,
	"sum":          eventspb.ScoreOperator_SCORE_OPERATOR_SUM,
}

// Operator is the operator of scoreType (best_highest unless configured).
func (s Settings) Operator(scoreType string) eventspb.ScoreOperator {
	if op, ok := s.Types[scoreType]; ok {
		return op
	}
	return eventspb.ScoreOperator_SCORE_OPERATOR_BEST_HIGHEST
}

// ParseSettings reads the settings from a game's data. Data that is not a
// JSON object, or has no "scores", means the defaults; a "scores" that is
// malformed is an error naming what is wrong.
func ParseSettings(data string) (Settings, error) {
	s := Settings{PrimaryType: DefaultType}
	var doc map[string]json.RawMessage
	if data == "" || json.Unmarshal([]byte(data), &doc) != nil || doc["scores"] == nil {
		return s, nil
	}
	var raw struct {
		ClientSubmit *bool             `json:"client_submit"`
		PrimaryType  *string           `json:"primary_type"`
		Types        map[string]string `json:"types"`
	}
	if err := json.Unmarshal(doc["scores"], &raw); err != nil {
		return s, fmt.Errorf("data.scores must be an object {client_submit: bool, primary_type: string, types: {type: operator}}")
	}
	if raw.ClientSubmit != nil {
		s.ClientSubmit = *raw.ClientSubmit
	}
	if raw.PrimaryType != nil {
		if !ValidType(*raw.PrimaryType) {
			return s, fmt.Errorf("data.scores.primary_type must be 1 to 32 of A-Z a-z 0-9 _ . -")
		}
		s.PrimaryType = *raw.PrimaryType
	}
	for t, name := range raw.Types {
		op, ok := operators[name]
		if !ok || !ValidType(t) {
			return s, fmt.Errorf("data.scores.types[%q] must map a score type to best_highest, best_lowest, latest or sum", t)
		}
		if s.Types == nil {
			s.Types = map[string]eventspb.ScoreOperator{}
		}
		s.Types[t] = op
	}
	return s, nil
}
