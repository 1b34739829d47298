"""Engagement figures: who can be reached, in which language, and who answers."""
