package config

// Target is one named restore destination (targets.NAME in the file).
type Target struct {
	RestoreConf `yaml:",inline"`
}
