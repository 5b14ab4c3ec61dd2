package platform

import "github.com/oof-gg/platform/command/kit"

// Players: CreatePlayer/UpdatePlayer (command), GetPlayer (query) and their
// projector are wired here.

func (p *Platform) mountPlayerCommands(deps kit.Deps) {}

func (p *Platform) mountPlayerQueries() {}
