"""CLI commands, one module per area; ``annotate_app.cli`` lists them."""
