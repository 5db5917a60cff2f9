"""One logger, tracer and metrics set per function; service name and namespace come from the environment."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
