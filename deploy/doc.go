// Package deploy holds the checks for the deployment artifacts at the repository
// root (envoy.yaml, compose.yaml, Dockerfile, .dockerignore). Neither Docker nor
// Envoy is needed: the tests parse the files with the same schemas the real tools
// use (Envoy's v3 protos with their generated validators, the Compose spec loader)
// and cross-check them against pkg/routing. See docs/deployment.md.
package deploy
