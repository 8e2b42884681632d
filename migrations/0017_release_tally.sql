-- Bundle aggregates from per-release counts: a release's related tasks
-- (approved or not), enhancements (open or closed) and recorded policy results,
-- recomputed from the rows themselves by triggers whenever one of those rows
-- (or a task's approval) changes, inside the writing transaction. A bundle's
-- aggregates are then one grouped read over its members instead of a lookup
-- per task, enhancement and result.
CREATE TABLE tollgate_release_tally (
    "release" TEXT PRIMARY KEY,
    tasks_approved BIGINT NOT NULL DEFAULT 0,
    tasks_not_approved BIGINT NOT NULL DEFAULT 0,
    enhancements_open BIGINT NOT NULL DEFAULT 0,
    enhancements_closed BIGINT NOT NULL DEFAULT 0,
    policies_executed BIGINT NOT NULL DEFAULT 0
);
INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT sys_id AS r FROM sn_dpr_model_release) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;

--! sqlite
CREATE TRIGGER tollgate_release_tally_release_related_task_insert AFTER INSERT ON sn_dpr_model_release_related_task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_release_related_task_update AFTER UPDATE OF "release", task ON sn_dpr_model_release_related_task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_release_related_task_delete AFTER DELETE ON sn_dpr_model_release_related_task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_product_enhancement_insert AFTER INSERT ON sn_dpr_model_product_enhancement BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_product_enhancement_update AFTER UPDATE OF "release", state ON sn_dpr_model_product_enhancement BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_product_enhancement_delete AFTER DELETE ON sn_dpr_model_product_enhancement BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_policy_execution_insert AFTER INSERT ON sn_dpr_model_policy_execution BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_policy_execution_update AFTER UPDATE OF "release", status ON sn_dpr_model_policy_execution BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_policy_execution_delete AFTER DELETE ON sn_dpr_model_policy_execution BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_task_insert AFTER INSERT ON task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_task_update AFTER UPDATE OF approval ON task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;
CREATE TRIGGER tollgate_release_tally_task_delete AFTER DELETE ON task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
END;

--! postgres
CREATE FUNCTION tollgate_release_tally_release_related_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT OLD."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT NEW."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_release_related_task_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_release_related_task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release_related_task();
CREATE TRIGGER tollgate_release_tally_release_related_task_update AFTER UPDATE OF "release", task ON sn_dpr_model_release_related_task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release_related_task();
CREATE FUNCTION tollgate_release_tally_product_enhancement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT OLD."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT NEW."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_product_enhancement_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_product_enhancement FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_product_enhancement();
CREATE TRIGGER tollgate_release_tally_product_enhancement_update AFTER UPDATE OF "release", state ON sn_dpr_model_product_enhancement FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_product_enhancement();
CREATE FUNCTION tollgate_release_tally_policy_execution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT OLD."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT NEW."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_policy_execution_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_policy_execution FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_policy_execution();
CREATE TRIGGER tollgate_release_tally_policy_execution_update AFTER UPDATE OF "release", status ON sn_dpr_model_policy_execution FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_policy_execution();
CREATE FUNCTION tollgate_release_tally_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = OLD.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = NEW.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved, enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed, policies_executed = excluded.policies_executed;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_task_insert_delete AFTER INSERT OR DELETE ON task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_task();
CREATE TRIGGER tollgate_release_tally_task_update AFTER UPDATE OF approval ON task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_task();
