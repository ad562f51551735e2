"""Route tables, one module per resource; each exposes ``routes: Routes``."""
