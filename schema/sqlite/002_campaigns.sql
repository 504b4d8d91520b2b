-- 002_campaigns: what scheduled campaign firings spent (onesheet campaign
-- run).  One row per campaign and scheduled slot: the primary key is what
-- makes a firing happen once, and the month column (the slot's calendar
-- month, UTC, "YYYY-MM") is what monthly budgets sum.  usd is the estimate
-- reserved before enqueueing (jobs x list price); what each job really cost
-- is in ledger_jobs.cost_usd.
CREATE TABLE campaign_spend (
    campaign   TEXT    NOT NULL,
    slot       TEXT    NOT NULL,
    month      TEXT    NOT NULL,
    batch_id   TEXT    NOT NULL,
    usd        REAL    NOT NULL CHECK (usd >= 0),
    jobs       INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (campaign, slot)
);
CREATE INDEX campaign_spend_month ON campaign_spend (campaign, month);
