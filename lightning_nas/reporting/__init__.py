"""Reading finished runs and writing report.md with its plots and the search's compute cost."""
