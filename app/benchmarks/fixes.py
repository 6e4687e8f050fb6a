# ruff: noqa: E501 (a Markdown table: one row a line)
"""What each change of issue 12's second round bought, as measured when it was made (on the
shared 2-core machine, so each figure is beside its peer from the same run). The report
quotes it after the figures of its own run."""

FIXES = """
Measured on 2026-12-01 while three other sessions shared the machine (1-minute load 2 to 7);
each pair below comes from one run, interleaved or back to back.

| change | before | after | how measured |
|---|---|---|---|
| near-duplicate groups of each company kept with the snapshot's answers (matches collapse them on every request) | 20 req/s, p99 2.6 s (16 connections, 10k postings) | 536 req/s, p99 49 ms | `bench all --quick`, load 5.6 and 5.4; py-spy had 838 of 862 request samples in the collapse |
| MinHashLSH's (bands, rows) found once, not by numerical integration per company | 287 of 511 collapse samples | gone | py-spy, same server |
| opted-out flag kept with the answers; change signal read on one connection per thread | a primary-key query per request; 74 of 342 request samples waiting on the signal's lock | no query when nothing changed; no lock | py-spy |
| index cosine: posting lists summed by a numba kernel | p50 0.74 to 0.84 ms (NumPy fancy-index add per term) | p50 0.145 to 0.149 ms, identical values | 200 queries at 100k, interleaved |
| one query top-10 at 100k, whole path | p50 1.83 ms, p99 9.17 ms | p50 0.98 ms, p99 1.42 ms | `bench all --quick` (scipy `q @ J.T` in the same runs: 2.08 and 2.16 ms) |
| tokeniser: full-width characters replaced once per distinct character | 30.6 ms per MB | 18.6 ms | 1 MB of postings, best of 5 |
| tokeniser: protected-phrase patterns only on texts holding a trigger word (1.9 % of postings) | 51 to 71 ms per MB | about 7 ms | same texts, identical tokens on 20,000 postings |
| tokeniser: verdicts by a plain dict's `__getitem__` and `filter` | 19.1 ms per MB | 8.9 ms | same token lists |
| tokeniser, all of it, against raw `rjieba.cut` in the same run | 0.70 of raw (8.8 of 12.5 MB/s) | 0.73 of raw (15.7 of 21.5 MB/s) | `bench all --quick` |
| index ids and live flags in arrays grown by doubling, not concatenated per write | 0.041 ms per index upsert at 100k | 0.014 ms | 200 single-row upserts, interleaved (the rest of an add, about 1.5 ms at 100k, is vectorising and coherence weighting) |
| fit: tokenising in a pool of 2 processes (tried, not kept) | 13.2 s in one process | 17.3 and 19.3 s | 100k postings, load 4.7: on a busy machine the second core is not there |
| quick run: batch part with 2,000 graduates, not 5,000 | 209 s in all (batch 90 s) | 133 s in all (batch 33 s) | `bench all --quick` |
| a match answer already given, while nothing was committed since, served on the event loop as kept JSON; principal resolved without a session when auth is off | py-spy, 16 connections, 10k postings, SQLite: 647 of 866 request samples handing work to the thread pool, 247 in the session dependency's thread steps, 40 ranking | no thread hop and no session on a kept answer; SQLite pairs at load 6 to 8 too noisy to call: main 27 % and 14 % of /healthz, this 17 % and 17 % (28 % and 32 % in two earlier single runs) | `bench api --scale 10000 --graduates 500`, main and this branch back to back, twice |
| PostgreSQL change signal: a statement trigger NOTIFYs on each append to the change log; each worker drains its LISTEN connection in the request's thread | every request queried the change log (main: 209 req/s, 6 % of /healthz, p99 195 ms) | 1,689 req/s (59 %, p99 56 ms), 731 req/s (24 %, p99 100 ms), and one run at 39 req/s (1 %, p99 2.9 s, not explained) | same command with `--database-url` on a private schema, load 5.6 to 8.4 while the test suite ran |
| batch: each query's best eligible cosine by one `reduceat` over the product's rows, not `np.maximum.at` per pair | graduates side (31,482 jobs × 2,000 graduates) 7.33 s; 31,482 × 50,000: 77.2 s | 4.88 s; 69.1 s; identical rows and scores | interleaved before/after, median of the last 2 of 4 (of 2 at 50k), load 4 to 8; py-spy had 254 of 2,886 samples of that side in the two `ufunc.at` lines |
| near-duplicate collapse from MinHash signatures kept in the snapshot by company (each open posting signed once when indexed; a match's near-duplicates by comparing stored signatures, the same pairs as before) | per company first met, per worker and snapshot: its open postings read, tokenised and MinHashed; py-spy, 100k, first pass: 2,288 of 2,342 request samples in the collapse | the collapse 8 of 74 request samples, ranking 51; 161 req/s, p99 162 ms (repeated queries, 16 connections, load 5.4: still ranked anew, see the next row) | py-spy on one worker of `jobmatch serve` over the bench's 100k database |
| match responses kept apart from the answers, bounded in bytes (the answers' 2,048 entries, three a graduate, held ~680 graduates, so 2,000 asked again were ranked every time) | with the row above: main 8 req/s, p50 940 ms, p99 11.7 s (/healthz 4,294); distinct queries 16 req/s | 1,894 req/s, p50 8.3 ms, p99 13.5 ms, 47 % of /healthz (4,068); distinct queries 292 req/s, p99 172 ms | `bench api` (100k, 16 connections, 2 workers), main then this branch back to back: 1-minute load 8.5 after main's run, 4.1 after this one; an earlier run of this branch at load 5.7 gave 1,222 req/s, p99 69 ms, 31 % |
| cost of the above: each worker signs every open posting when it builds a snapshot | server up in 44.7 s | 72.4 s; one build at 100k: fit 11.6 s, signatures 11.8 s (tokenising about half), after words were numbered and pairs hashed once per distinct pair (13.2 s before, identical rows); signing 100k token lists: datasketch's `MinHash.bulk` 10.6 s of CPU, ours 5.4 s | same `bench api` runs; the build figures from one process on the bench's database, back to back, load 2 to 3 |
"""
