"""Stand-in tooling: the end-to-end demo and example policies. Imports the worker and the emulator; neither
imports this package (the `demo` command loads it lazily)."""
