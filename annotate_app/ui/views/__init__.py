"""One script per page of the app; ``app.py`` lists them."""
