"""The job manager behind every entry point: sidebar, nodes, boot preload and CLI."""
