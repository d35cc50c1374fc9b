"""Development tooling, never needed to run the ledger in production.

- `pgcredits.dev.cluster`: a throwaway or per-project PostgreSQL 15 cluster
  (`pgcredits up`, the tests, the benchmarks);
- `pgcredits.dev.up`: `pgcredits up`, `down` and `token` (the local ledger
  of `make run`);
- `pgcredits.dev.local`: what `pgcredits up` serves the local cluster with
  (the gateway's login role, a development JWT secret, a sample token);
- `pgcredits.dev.demo`: the widget's demo page and its token-minting
  endpoints (`pgcredits serve --dev`).

`pgcredits.dev.local`, `pgcredits.dev.demo`, and `up` and `token` need the
gateway's dependencies (`pip install 'pgcredits[gateway]'`).
"""
