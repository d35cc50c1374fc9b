// The calls a Supabase frontend makes, made with the real clients against a live gateway.
// tests/test_gateway_clients.py runs it: BASE_URL and TOKENS (JSON: name -> JWT) in the environment;
// it prints one JSON object, each scenario's {data, error, count, status}, and the Python side checks them.
import { PostgrestClient } from '@supabase/postgrest-js'
import { createClient } from '@supabase/supabase-js'

const base = process.env.BASE_URL
const tokens = JSON.parse(process.env.TOKENS)

// A client as postgrest-js is used with a gateway: its base URL, a bearer token, schema credits.
const as = (name) => new PostgrestClient(base, {
  headers: name ? { Authorization: `Bearer ${tokens[name]}` } : {},
  schema: 'credits',
})

// What a result is made of, without the response object.
const plain = ({ data, error, count, status }) => ({ data, error, count, status })

class NoRealtime { constructor() { throw new Error('realtime is not used by these tests') } }

const scenarios = {
  // .rpc() with .single(): one object, so data.ok is there (issue 10: it was undefined)
  single: () => as('alice').rpc('deduct_credits', { account_id: 'alice', feature: 'roast' }).single(),
  // {get: true}: a GET with the arguments in the query string
  get: () => as('alice').rpc('get_balance', { account_id: 'alice' }, { get: true }),
  // {head: true, count: 'exact'}: a HEAD, the count from Content-Range, no data
  head_count: () => as('alice').rpc('get_balance', { account_id: 'alice' }, { head: true, count: 'exact' }),
  // .select('available') and .eq(...) on a set-returning function, by GET and by POST
  select_eq_get: () => as('alice').rpc('get_balance', { account_id: 'alice' }, { get: true })
    .select('available').eq('credit_type', 'credits'),
  select_eq_post_single: () => as('alice').rpc('get_balance', { account_id: 'alice' })
    .select('available').eq('credit_type', 'credits').single(),
  order_limit_count: () => as('alice').rpc('get_balance', { account_id: 'alice' }, { count: 'exact' })
    .select('credit_type').order('credit_type', { ascending: false }).limit(1),
  // .rollback(): run and roll back, a dry run (the Python side checks that nothing was charged)
  rollback: () => as('alice').rpc('deduct_credits', { account_id: 'alice', feature: 'roast' }).rollback().single(),
  // a Supabase-style token: role authenticated, as Supabase Auth signs them
  supabase_token: () => as('supabase_alice').rpc('check_feature', { account_id: 'alice', feature: 'roast' }).single(),
  // the error objects
  e401_none: () => as(null).rpc('get_balance', { account_id: 'alice' }),
  e401_bad: () => as('forged').rpc('get_balance', { account_id: 'alice' }),
  e403: () => as('alice').rpc('grant_credits', { account_id: 'alice', amount: 100, reason: 'me' }),
  e404_account: () => as('service').rpc('get_balance', { account_id: 'nobody' }),
  e404_function: () => as('alice').rpc('no_such_function', {}),
  e409_first: () => as('alice').rpc('deduct_credits', { account_id: 'alice', feature: 'roast', idempotency_key: 'k1' }),
  e409: () => as('alice').rpc('deduct_credits', { account_id: 'alice', feature: 'video', units: { seconds: 2 },
    idempotency_key: 'k1' }),
  e422: () => as('service').rpc('grant_credits', { account_id: 'alice', amount: -5, source: 'promo' }),
  e406_single: () => as('alice').rpc('get_balance', { account_id: 'alice' }).single(),
  // docs/gateway.md's supabase-js snippet, as written there (Node 20 has no WebSocket: realtime gets a stand-in)
  supabase_js: () => createClient(base, tokens.anon_key, {
    db: { schema: 'credits' },
    accessToken: async () => tokens.supabase_alice,
    realtime: { transport: NoRealtime },
  }).rpc('deduct_credits', { account_id: 'alice', feature: 'roast' }).single(),
}

const results = {}
for (const [name, call] of Object.entries(scenarios)) {
  results[name] = plain(await call())
}
process.stdout.write(JSON.stringify(results) + '\n')
