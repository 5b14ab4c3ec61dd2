package game

const (
	maxNameLen        = 100
	maxShortDescLen   = 280
	maxDescriptionLen = 4000
	maxURLLen         = 2048

	defaultMaxSessions = "100"
	defaultMaxPlayers  = "8"
)
