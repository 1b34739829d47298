"""The staff web app: server-rendered pages (Jinja2 + htmx) on the same services as the API."""
