package main

import "k8s.io/component-base/version"

// versionString reports the stamped version; the build script sets it with
// -ldflags -X so /version does not say v0.0.0-master.
func versionString() string { return version.Get().GitVersion }
