"""The app's pages, declared once: the router in ``app.py`` builds its navigation from them, and
tests open every one of them. Importing this module runs nothing."""

from __future__ import annotations

from annotate_app.ui.common import PageSpec

PAGES = (
    PageSpec("views/label.py", "Label", ":material/compare_arrows:", "Labeling"),
    PageSpec("views/my_stats.py", "My stats", ":material/person:", "Labeling"),
    PageSpec("views/settings.py", "Project settings", ":material/tune:", "Admin", admin=True),
    PageSpec("views/data.py", "Data", ":material/upload_file:", "Admin", admin=True),
    PageSpec("views/annotators.py", "Annotators", ":material/group:", "Admin", admin=True),
    PageSpec("views/jobs.py", "Jobs", ":material/pending_actions:", "Admin", admin=True),
    PageSpec("views/review.py", "Review", ":material/rate_review:", "Admin", admin=True),
    PageSpec(
        "annotate_app.ui.views.dashboard:render",
        "Dashboard",
        ":material/monitoring:",
        "Insight",
        admin=True,
    ),
    PageSpec(
        "annotate_app.ui.views.leaderboard:render",
        "Leaderboard",
        ":material/leaderboard:",
        "Insight",
        admin=True,
    ),
    PageSpec(
        "annotate_app.ui.views.judge:render", "AI judge", ":material/gavel:", "Insight", admin=True
    ),
    PageSpec(
        "annotate_app.ui.views.routing:render",
        "Routing",
        ":material/alt_route:",
        "Admin",
        admin=True,
    ),
)
SIGN_IN = PageSpec("views/sign_in.py", "Sign in", ":material/login:", "")
