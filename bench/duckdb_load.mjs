// bench/duckdb_load.mjs -- DuckDB's side of bench/load_bench.sh (issue 4).
// Times CREATE TABLE claims AS SELECT * FROM read_csv(CSV, ...) into a fresh
// in-memory database, RUNS times, with DuckDB's default thread count (all
// cores; the figure printed says how many), columns typed from
// examples/claims.schema.json (INT -> BIGINT, TEXT -> VARCHAR, DATE -> DATE).
// Only the CREATE TABLE is timed (not node's start, not the instance's).
// Prints one line per run and, last, the line load_bench.sh reads:
//     duckdb median: <s> s (runs: ...; threads N)
// Usage: node bench/duckdb_load.mjs CSV [RUNS] [SCHEMA]
import { DuckDBInstance } from '@duckdb/node-api';
import { createClaimsSql, median } from './duckdb_common.mjs';

const [csv, runsArg, schemaArg] = process.argv.slice(2);
if (!csv) {
	console.error('usage: node bench/duckdb_load.mjs CSV [RUNS] [SCHEMA]');
	process.exit(2);
}
const runs = Number(runsArg ?? 3);
const sql = createClaimsSql(csv, schemaArg);

const times = [];
let threads;
for (let i = 1; i <= runs; i++) {
	const instance = await DuckDBInstance.create(':memory:');
	const con = await instance.connect();
	threads = (await con.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
	const s = process.hrtime.bigint();
	await con.run(sql);
	const sec = Number(process.hrtime.bigint() - s) / 1e9;
	const n = (await con.runAndReadAll('SELECT COUNT(*) FROM claims')).getRows()[0][0];
	con.closeSync();
	instance.closeSync();
	times.push(sec);
	console.log(`duckdb run ${i}: ${sec.toFixed(2)} s (${n} rows, threads ${threads}, in memory)`);
}
console.log(`duckdb median: ${median(times).toFixed(3)} s (runs: ${times.map((t) => t.toFixed(2)).join(', ')}; threads ${threads})`);
