"""Results: tables, files and plots written for every run."""
