# The pgcredits package with its gateway: `pgcredits migrate` and `pgcredits serve`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY python ./python
# The wheel ships db/ as the package pgcredits.sql: migrate reads it from site-packages.
COPY db ./db
RUN pip install --no-cache-dir '.[gateway]'
ENTRYPOINT ["pgcredits"]
