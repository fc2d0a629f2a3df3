package config

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Load reads the stack configuration from the Pulumi context, once, and
// returns it defaulted and validated. Nothing is registered before it
// returns, so a bad value stops the program before any resource exists.
func Load(ctx *pulumi.Context) (*Config, error) {
	project := pconfig.New(ctx, "")
	in := Input{
		Project: ctx.Project(),
		Stack:   ctx.Stack(),
		Region:  pconfig.New(ctx, "aws").Get("region"),
		Values:  map[string]string{},
	}
	for _, k := range Keys {
		if v, err := project.Try(k); err == nil {
			in.Values[k] = v
		}
	}
	c, err := Parse(in)
	if err != nil {
		return nil, err
	}
	// The token must arrive as a secret: a plain value would land in the
	// state and in preview output in clear text.
	tokenKey := ctx.Project() + ":huggingFaceToken"
	if _, ok := ctx.GetConfig(tokenKey); ok {
		if !ctx.IsConfigSecret(tokenKey) {
			return nil, fmt.Errorf("config key %q must be set with --secret (pulumi config set --secret huggingFaceToken <token>)", tokenKey)
		}
		c.HuggingFaceToken = project.RequireSecret("huggingFaceToken")
		c.HasHuggingFaceToken = true
	}
	return c, nil
}
