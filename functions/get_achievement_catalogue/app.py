"""GET /v1/achievements: the catalogue (hidden ones too) with unlock counts (operator's view)."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import build_app, entrypoint, respond, responses, tenant_of
from gamification.api.catalogue_models import CatalogueResponse
from gamification.runtime import engine
from gamification.usecases.catalogue import catalogue

app = build_app()


@app.get("/v1/achievements", summary="Achievement catalogue with unlock counts", responses=responses(CatalogueResponse))
def get_achievement_catalogue() -> Response[CatalogueResponse]:
    return respond(catalogue(engine(), tenant_of(app)))


lambda_handler = entrypoint(app)
