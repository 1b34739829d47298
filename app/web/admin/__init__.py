"""Admin pages (staff accounts, API keys, school settings and glossary, translation coverage)
and the engagement dashboard for office staff and admins. Every write goes through the same
domain service as the API, so the pages and the API refuse the same things."""
