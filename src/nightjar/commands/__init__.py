"""CLI commands: each module adds its commands to `nightjar.cli.app`; importing this package registers them all."""
