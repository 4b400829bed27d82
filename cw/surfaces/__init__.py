"""Surfaces: the CLI, the MCP server and the workbench, all rendered from cw.capabilities."""
