"""Server-rendered pages: Jinja2 templates, htmx, static assets served locally."""
