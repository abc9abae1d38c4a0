"""GET /v1/users/{user_id}/dashboard: profile, streak, recent unlocks, rank on each board,
recent ledger entries, unread notifications: one call for an app's home screen (Progressive Flow's dashboard summary)."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.dashboard_models import DashboardResponse
from gamification.runtime import engine
from gamification.usecases.dashboard import Dashboard
from gamification.usecases.notifications import Notifications

app = build_app()


@app.get("/v1/users/<user_id>/dashboard", summary="Home-screen summary", responses=responses(DashboardResponse))
def get_dashboard(user_id: UserIdPath) -> Response[DashboardResponse]:
    eng = engine()
    return respond(Dashboard(eng, Notifications(eng.store, eng.now)).read(tenant_of(app), user_id))


lambda_handler = entrypoint(app)
