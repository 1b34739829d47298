"""Notices: the school's recurring texts (closures, reminders, report cards, progress notes)
written once as templates and translated by people into the families' languages.

Templates live in `message_templates/` (Jinja2 with `{% trans %}`), their translations in
`locales/` (gettext, built with Babel: `make catalogs`). Other domains call `service`."""
