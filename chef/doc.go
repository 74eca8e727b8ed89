// Package chef provisions a pool's golden image with chef-solo.
//
// Resolve resolves fleet.hcl's `recipes` against its cookbook folders the way chef-solo's
// cookbook_path does, following metadata dependencies and literal include_recipe lines, and
// returns typed errors (*RecipeError, *DependencyError) with "did you mean" suggestions, and
// warnings as data for what it cannot follow statically. Fingerprint hashes exactly what
// chef-solo will see, so that reconcile knows when a cookbook change really changes the image,
// and Changes says why in words for `agent plan`. SoloRB, NodeJSON and WriteBundle render what
// chef-solo reads; Provision runs it over a Session, the small guest interface this package
// declares and the guest package's SSH client satisfies.
//
// The package knows nothing of VirtualBox or of the fleet.hcl schema: it takes plain values.
// Its simulator counterpart, the chef-solo stand-in that tests put into simulator boxes, is
// chef/cmd/chef-solo-sim with its test helpers in chef/chefsim.
package chef

//go:generate go run ./internal/gencookbooks -out testdata/ci_environment
