"""The BentoML service of a served table model: JSON records in, one prediction per record out. No torch.

The request type is generated when the Bento starts, from the schema in its model's metadata, so
`/docs.json` lists every training column with its type.
"""

# no `from __future__ import annotations`: BentoML reads the API's annotations, which are built below

import bentoml
from starlette.responses import JSONResponse

from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, error, guard
from aiaas_recipes.tabular import http_types

METADATA = bentoml.models.get(SETTINGS.model_tag).info.metadata["aiaas"]
MAX_RECORDS = int((getattr(SETTINGS, "limits", None) or {}).get("max_records", 1000))
Record = http_types.record_model(METADATA["schema"])
Records = http_types.records_type(Record, MAX_RECORDS)
Predictions = http_types.predictions_type(METADATA["task"])


@bentoml.service(name=f"aiaas-{METADATA['recipe']}", **SERVICE_OPTIONS)
class TabularService:
    """Table rows as JSON records in; a label with probabilities, or a value, per record."""

    def __init__(self) -> None:
        self.engine = Engine()

    @bentoml.api(route="/predict")
    async def predict(self, records: Records, ignore_extra: bool = False) -> Predictions:
        """Predictions for `{"records": [{column: value, ...}, ...]}`, one per record, in order. A field the
        model does not know is refused unless `ignore_extra` is true."""
        clean = http_types.validate(Record, records, ignore_extra, MAX_RECORDS)
        if isinstance(clean, str):
            return error(422, clean)
        answer = await self.engine.infer(clean, SETTINGS.top_k)
        return answer if isinstance(answer, JSONResponse) else Predictions(predictions=answer)


guard(TabularService)
