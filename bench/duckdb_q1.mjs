// bench/duckdb_q1.mjs -- DuckDB's side of bench/query_bench.sh (issue 6).
// Loads the CSV into an in-memory DuckDB table `claims`, typed from
// examples/claims.schema.json (INT -> BIGINT, TEXT -> VARCHAR, DATE -> DATE),
// then sets threads = 1 and runs the query RUNS times and prints each time, the
// result, and the median.  Only the query is timed (not the load, not node's
// start).  The last line is the one query_bench.sh reads:
//     duckdb median: <ms> ms (runs: ...)
// Usage: node bench/duckdb_q1.mjs CSV QUERY [RUNS] [SCHEMA]
import { DuckDBInstance } from '@duckdb/node-api';
import { createClaimsSql, median } from './duckdb_common.mjs';

const [csv, query, runsArg, schemaArg] = process.argv.slice(2);
if (!csv || !query) {
	console.error('usage: node bench/duckdb_q1.mjs CSV QUERY [RUNS] [SCHEMA]');
	process.exit(2);
}
const runs = Number(runsArg ?? 11);

const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
const t0 = process.hrtime.bigint();
await con.run(createClaimsSql(csv, schemaArg));
const loadS = Number(process.hrtime.bigint() - t0) / 1e9;
// The load above used the default (all cores); Q1 gets one unless DUCKDB_THREADS=default.
if (process.env.DUCKDB_THREADS !== 'default') await con.run('SET threads = 1');
const n = (await con.runAndReadAll('SELECT COUNT(*) FROM claims')).getRows()[0][0];
console.log(`duckdb ${(await con.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0]} thread(s), in memory: loaded ${n} rows in ${loadS.toFixed(2)} s (with default threads; not part of the Q1 times)`);

const times = [];
let rows;
for (let i = 1; i <= runs; i++) {
	const s = process.hrtime.bigint();
	const reader = await con.runAndReadAll(query);
	rows = reader.getRows();
	const ms = Number(process.hrtime.bigint() - s) / 1e6;
	times.push(ms);
	console.log(`duckdb run ${i}: ${ms.toFixed(2)} ms`);
}
for (const r of [...rows].sort((a, b) => String(a[0]).localeCompare(String(b[0]))))
	console.log('duckdb> ' + r.map(String).join('|'));
con.closeSync();
console.log(`duckdb median: ${median(times).toFixed(2)} ms (runs: ${times.map((t) => t.toFixed(1)).join(', ')})`);
