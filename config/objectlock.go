package config

// ObjectLock is repository.s3.object_lock.
type ObjectLock struct{}
