"""The modules whose ``router: APIRouter`` the app includes, in this order.

To add pages or API endpoints, add your module's dotted name to this list.
"""

from __future__ import annotations

ROUTER_MODULES = [
    "kb.web.auth_views",
    "kb.vendors.views",
    "kb.users.views",
    "kb.audit.views",
    "kb.taxonomy.views",
    "kb.vendors.api_views",
    "kb.reports.views",
    "kb.items.views",
    "kb.items.api_views",
    "kb.events.views",
    "kb.events.api_views",
    "kb.search.views",
]
