"""The admin API (`/api/*`, bearer `ADMIN_TOKEN`) and its OpenAPI description."""
