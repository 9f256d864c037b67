package config

// Hooks are commands run around a backup.
type Hooks struct{}

// Metrics says where a backup reports its outcome.
type Metrics struct{}
