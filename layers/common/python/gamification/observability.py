"""One Logger, Tracer and Metrics for every function (Powertools; settings from the
``POWERTOOLS_*`` variables in template.yaml ``Globals``)."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Read routes publish no metric on purpose; the flush warning would be noise in every log.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
tracer = Tracer()
metrics = Metrics()
