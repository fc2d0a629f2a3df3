// Package tags merges the AWS tags every component applies. The merge order,
// stated once here, is: platform tags (project, stack, managed-by) < the
// stack's `tags` config < tags a resource needs to work (discovery and load
// balancer role tags, Name). A later map wins, so a user tag can never break
// subnet discovery.
package tags

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Platform returns the tags the platform puts on everything it creates.
func Platform(project, stack string) map[string]string {
	return map[string]string{
		"llm-platform/project": project,
		"llm-platform/stack":   stack,
		"managed-by":           "pulumi",
	}
}

// Merge combines tag maps; later maps win on conflicting keys.
func Merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Map converts merged tags to the Pulumi input type.
func Map(tags map[string]string) pulumi.StringMap {
	return pulumi.ToStringMap(tags)
}
