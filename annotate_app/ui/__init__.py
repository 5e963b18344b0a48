"""The Streamlit app: ``app.py`` routes, ``views/`` holds one script per page, ``common`` the shared state."""
