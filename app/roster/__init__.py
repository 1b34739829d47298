"""Roster import: OneRoster 1.1/1.2 CSV from the district's SIS, and plain guardian CSV."""
