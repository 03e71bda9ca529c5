"""The web admin: server-rendered pages (Jinja2) for people, with login, roles and CSRF."""
