# The pgcredits package and its db/ folder: `pgcredits migrate` and `pgcredits serve` (the gateway).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY python ./python
RUN pip install --no-cache-dir .
COPY db ./db
# The package is installed in site-packages: tell it where db/ is.
ENV PGCREDITS_DB_DIR=/app/db
ENTRYPOINT ["pgcredits"]
