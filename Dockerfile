# The dangjian image: one image for every role (API, relay, projection workers, registry ingester,
# setup job); the role is the command. Built from pyproject.toml; see docs/DEPLOYMENT.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml ./
COPY domain ./domain
COPY projections ./projections
COPY api ./api
COPY infra ./infra
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app dangjian

USER dangjian
ENV DANGJIAN_HOST=0.0.0.0 \
    DANGJIAN_PORT=8000
EXPOSE 8000
ENTRYPOINT ["dangjian"]
CMD ["serve"]
