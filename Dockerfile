# One image for every Folio process; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md topics.yaml ./
COPY core core
COPY schemas schemas
COPY streams streams
COPY sink sink
COPY api api
COPY folio folio
RUN pip install --no-cache-dir .
EXPOSE 8000 6066
CMD ["folio", "--help"]
