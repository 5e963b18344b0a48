"""The Streamlit app: ``app.py`` routes, ``views/`` holds one module per page (not ``pages/``: Streamlit would treat that folder as its own page list), ``common`` the shared state."""
