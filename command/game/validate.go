package game

import (
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/validate"
)

const (
	maxNameLen        = 100
	maxShortDescLen   = 280
	maxDescriptionLen = 4000
	maxURLLen         = 2048

	defaultMaxSessions = "100"
	defaultMaxPlayers  = "8"
)

// newGame validates a CreateGame request and returns the game it describes
// (without its id), defaults filled in.
func newGame(req *gamepb.GameCreateRequest) (*gamepb.Game, error) {
	var f validate.Checks
	f.Text("name", req.GetName(), 1, maxNameLen)
	f.Text("description", req.GetDescription(), 0, maxDescriptionLen)
	f.Text("short_description", req.GetShortDescription(), 0, maxShortDescLen)
	f.Text("image_url", req.GetImageUrl(), 0, maxURLLen)
	g := &gamepb.Game{
		Name: req.GetName(), Description: req.GetDescription(), ShortDescription: req.GetShortDescription(),
		ImageUrl: req.GetImageUrl(), MaxSessions: defaultMaxSessions, MaxPlayersPerSession: defaultMaxPlayers, Data: req.Data,
	}
	if req.MaxSessions != nil {
		f.Positive("max_sessions", req.GetMaxSessions())
		g.MaxSessions = req.GetMaxSessions()
	}
	if req.MaxPlayersPerSession != nil {
		f.Positive("max_players_per_session", req.GetMaxPlayersPerSession())
		g.MaxPlayersPerSession = req.GetMaxPlayersPerSession()
	}
	f.JSON("data", req.Data)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

// checkUpdate validates an UpdateGame request: only the fields it sets.
func checkUpdate(req *gamepb.GameUpdateRequest) error {
	var f validate.Checks
	f.ID("id", req.GetId())
	if req.GetName() != "" {
		f.Text("name", req.GetName(), 1, maxNameLen)
	}
	f.Text("description", req.GetDescription(), 0, maxDescriptionLen)
	if req.ShortDescription != nil {
		f.Text("short_description", req.GetShortDescription(), 0, maxShortDescLen)
	}
	if req.ImageUrl != nil {
		f.Text("image_url", req.GetImageUrl(), 0, maxURLLen)
	}
	if req.MaxSessions != nil {
		f.Positive("max_sessions", req.GetMaxSessions())
	}
	if req.MaxPlayersPerSession != nil {
		f.Positive("max_players_per_session", req.GetMaxPlayersPerSession())
	}
	f.JSON("data", req.Data)
	return f.Err()
}
