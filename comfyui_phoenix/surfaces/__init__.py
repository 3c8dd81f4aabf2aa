"""What users touch: HTTP routes and events, graph nodes, the boot preload and the CLI."""
