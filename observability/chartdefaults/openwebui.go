package chartdefaults

// OpenWebUI is the open-webui chart's application pod (its ollama,
// pipelines, tika, terminals and websocket Redis are off in the platform's
// values and render nothing): the main container and the copy-app-data
// init container, both from containerSecurityContext.
var OpenWebUI = []Pod{{
	Component: "open-webui",
	Source:    "github.com/open-webui/helm-charts charts/open-webui values.yaml and templates/workload-manager.yaml, tag open-webui-16.0.0",
	// podSecurityContext: {} (no securityContext rendered by default).
	SecurityContext:       nil,
	SecurityContextValues: "podSecurityContext",
	Containers: []Container{
		// containerSecurityContext: {}, applied to the init container too.
		{Name: "copy-app-data", SecurityContextValues: "containerSecurityContext"},
		{Name: "open-webui", SecurityContextValues: "containerSecurityContext"},
	},
}}
