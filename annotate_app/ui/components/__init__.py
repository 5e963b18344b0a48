"""Our own Streamlit components (st.components.v2): small, readable HTML/CSS/JS with no build step."""
