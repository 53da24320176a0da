"""The alert-store tables that operations add, applied by the store's migrations (`nightjar.scoring.store.MIGRATIONS`).

- `score_stats`: one row per scored batch and model: counts, scoring time, score histogram (monitoring).
  Migration 4 adds `features`: per-feature histograms of the detector's monitoring features
  (`nightjar.ops.features`), NULL for detectors without any and for rows written before it.
- `shadow_batches` / `shadow_pairs`: shadow tests: timings per batch, and one row per shadowed event
  with both models' verdicts and the analysts' label (never alerts).

Kept free of heavy imports: the store imports this module.
"""

SCORE_STATS_SQL = """
    CREATE TABLE score_stats (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER REFERENCES job_runs(id),
        detector TEXT NOT NULL,
        model TEXT NOT NULL,              -- name@version
        source TEXT,                      -- input file (or source kind) of the batch
        scored_at TEXT NOT NULL,          -- when the batch was scored, ISO 8601 UTC
        events INTEGER NOT NULL,          -- records given to the model
        scored INTEGER NOT NULL,          -- records with a score
        rejected INTEGER NOT NULL,        -- records the model or reader could not score
        alerts INTEGER NOT NULL,
        seconds REAL NOT NULL,            -- scoring time of the batch
        histogram TEXT NOT NULL           -- JSON {"grid": "logit200", "counts": {"bin": count, ...}}
    );
    CREATE INDEX score_stats_model_time ON score_stats(model, scored_at);
    CREATE INDEX score_stats_time ON score_stats(scored_at)
"""

# JSON {"grid": "symlog2400", "features": {name: {"bin": count}}}; no SQL comment here: SQLite appends
# the column text to the table's CREATE statement, where a trailing comment would swallow the ")"
FEATURE_STATS_SQL = "ALTER TABLE score_stats ADD COLUMN features TEXT"

SHADOW_SQL = """
    CREATE TABLE shadow_batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER REFERENCES job_runs(id),
        detector TEXT NOT NULL,
        production TEXT NOT NULL,          -- name@version
        candidate TEXT NOT NULL,           -- name@version
        source TEXT,
        events INTEGER NOT NULL,           -- events production scored in the batch
        sampled INTEGER NOT NULL,          -- of which shadowed
        missing_key INTEGER NOT NULL,      -- events without the sampling key
        production_seconds REAL NOT NULL,  -- production scoring time of the whole batch
        candidate_seconds REAL NOT NULL,   -- candidate scoring time of the sampled events
        created_at TEXT NOT NULL
    );
    CREATE TABLE shadow_pairs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id INTEGER NOT NULL REFERENCES shadow_batches(id),
        detector TEXT NOT NULL,
        production TEXT NOT NULL,
        candidate TEXT NOT NULL,
        alert_id TEXT NOT NULL,            -- the event.id an alert on this record has (nightjar.scoring.ecs)
        sample_key TEXT,
        entity TEXT,
        host_name TEXT,                    -- host.name, else source.ip
        timestamp TEXT,
        production_score REAL,
        production_alert INTEGER NOT NULL,
        candidate_score REAL,
        candidate_alert INTEGER NOT NULL,
        label TEXT CHECK (label IN ('tp', 'fp', 'benign')),
        note TEXT,
        labelled_at TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (candidate, alert_id)
    );
    CREATE INDEX shadow_pairs_candidate ON shadow_pairs(candidate, created_at);
    CREATE INDEX shadow_batches_candidate ON shadow_batches(candidate, created_at)
"""
