package platform

import (
	"github.com/oof-gg/platform/command/kit"
	commandscore "github.com/oof-gg/platform/command/score"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector/scores"
	queryscore "github.com/oof-gg/platform/query/score"
)

// Scores (docs/scores.md): SubmitScore (command), GetLeaderboard,
// GetPlayerRank and GetPlayerScores (query) and their projector.

// TopicScore carries every score submission (docs/events.md).
const TopicScore = "oof.score.v1"

func (p *Platform) mountScoreCommands(deps kit.Deps) {
	commandscore.NewGRPC(&commandscore.Handler{Deps: deps, Topic: p.cfg.Topic(TopicScore)}).Mount(p.services)
}

func (p *Platform) mountScoreQueries() {
	queryscore.NewGRPC(queryscore.NewReader(p.infra.pool, p.infra.rdb, p.cfg.RedisKeyPrefix)).Mount(p.services)
}

// scoresProjector builds the score history, the boards and their Redis copy.
func (p *Platform) scoresProjector() projection.Projector {
	return scores.New(p.cfg.Topic(TopicScore), p.infra.pool, p.infra.rdb, p.cfg.RedisKeyPrefix, p.log.With("component", "projector/scores"))
}
